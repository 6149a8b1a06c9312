"""#23.8: every request that reaches the server passes the pacer, the budget and the counts,
aiohttp's own silent resend of a GET on a dropped connection included."""

from __future__ import annotations

import asyncio
import dataclasses
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
    # a request written as the budget stopped the pull reaches the sandbox (on this loop)
    # a moment later: let it in before comparing
    for _ in range(50):
        if _api_requests(sb) >= manifest["requests_total"]:
            break
        await asyncio.sleep(0.02)
    assert manifest["requests_total"] == _api_requests(sb)
    if budget is not None:
        assert _api_requests(sb) <= budget


async def test_repeated_small_budgets_resume_a_pull_to_the_whole_set(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """#23.7 for a pull on its own: a 6-page listing and a budget of 4; each resume goes
    on from the listing page the last stop left, and the resumes complete the set, each
    album once. (Development mode: search pages of 10, one Get Album per album.)"""
    sb = await sandbox_factory(
        markets=("US",), albums_per_market=130, seed=22, access="development", latency=0
    )
    listed = sb.truth()["search_new"]
    assert 50 < len(listed) <= 60  # six pages
    out = tmp_path / "out"
    settings = _settings(sb, out, 4)
    settings = dataclasses.replace(settings, markets=("US",), expand="auto")
    stops = 0
    while True:
        try:
            await run_pull(dataclasses.replace(settings, resume=stops > 0), sb.credentials)
            break
        except BudgetSpentError:
            stops += 1
            assert stops < 40, "the budgeted pull makes no progress"
    manifest = orjson.loads(manifest_path(out).read_bytes())
    assert manifest["status"] == "complete"
    assert all(sum(r["requests"].values()) <= 4 for r in manifest["runs"])
    ids = [orjson.loads(line)["id"] for line in (out / "albums.ndjson").read_bytes().splitlines()]
    assert sorted(ids) == sorted(listed)  # each once
    # the listing is read on from where each stop left it (a page still on its way when
    # the budget stopped the run is asked again), and never again once read to its end
    searched = [r["requests"].get("search", 0) for r in manifest["runs"]]
    assert sum(searched) < 3 * 6
    assert 0 in searched
    assert not any(searched[searched.index(0) :])
