"""#23.8: every request that reaches the server passes the pacer, the budget and the counts,
aiohttp's own silent resend of a GET on a dropped connection included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl import BudgetSpentError, ClientSettings, PullSettings, run_pull
from async_spotify_etl.output.layout import manifest_path
from async_spotify_etl.sandbox import Sandbox


def _api_requests(sb: Sandbox) -> int:
    """Every API request the sandbox saw (token requests aside), dropped ones included."""
    requests: dict[str, dict[str, int]] = sb.stats()["requests"]
    return sum(sum(by_status.values()) for route, by_status in requests.items() if route != "token")


def _settings(sb: Sandbox, out: Path, budget: int | None) -> PullSettings:
    client = ClientSettings(
        api_url=sb.api_url,
        token_url=sb.token_url,
        rate=1000,
        budget=budget,
        max_retries=10,
        backoff_base=0.001,
        backoff_cap=0.01,
    )
    return PullSettings(out=out, client=client, expand="several", artists="off")


@pytest.mark.parametrize("budget", [None, 100])
async def test_dropped_connections_are_counted_and_budgeted(
    sandbox_factory: Any, tmp_path: Path, budget: int | None
) -> None:
    sb = await sandbox_factory(
        seed=3, albums_per_market=1000, markets=("US", "GB"), latency=0, drop_rate=0.3
    )
    out = tmp_path / "out"
    if budget is None:
        await run_pull(_settings(sb, out, budget), sb.credentials)
    else:
        with pytest.raises(BudgetSpentError):
            await run_pull(_settings(sb, out, budget), sb.credentials)
    dropped = sum(r.get("dropped", 0) for r in sb.stats()["requests"].values())
    assert dropped > 0  # the scenario met dropped connections
    manifest = orjson.loads(manifest_path(out).read_bytes())
    assert manifest["requests_total"] == _api_requests(sb)
    if budget is not None:
        assert _api_requests(sb) <= budget
