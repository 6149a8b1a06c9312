"""Scenario 2: access tokens that live 2 s, over a pull many lifetimes long with 32
workers: nothing lost, about one token request per lifetime, never two at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl.runner import run_pull
from async_spotify_etl.sandbox import app as sandbox_app
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import expected_records, pick, pull_settings, scan_for_secrets, tally

LIFETIME = 2.0
#: Requests per second the client is held to, so the pull lasts many token lifetimes.
RATE = 50.0
ALBUMS = pick(120, 550)


class TokenRequestsInFlight:
    """Wraps the sandbox's dispatcher to see how many token requests overlap."""

    def __init__(self, dispatch: Callable[..., Any]) -> None:
        self._dispatch = dispatch
        self.now = 0
        self.most = 0

    async def __call__(self, state: Any, request: Any, route: str, *args: Any) -> Any:
        if route != "token":
            return await self._dispatch(state, request, route, *args)
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            return await self._dispatch(state, request, route, *args)
        finally:
            self.now -= 1


async def test_short_lived_tokens_lose_nothing_and_refresh_one_at_a_time(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="async_spotify_etl")
    overlap = TokenRequestsInFlight(sandbox_app._dispatch)
    monkeypatch.setattr(sandbox_app, "_dispatch", overlap)
    sb = await sandbox_factory(
        seed=4,
        markets=("US", "GB"),
        albums_per_market=ALBUMS,
        token_lifetime=LIFETIME,
        latency=0.05,
        latency_jitter=0.04,
        client_secret="chaos-churn-secret",
    )
    # Get Album per album: one request each, paced at RATE, 32 in flight.
    settings = pull_settings(
        sb, tmp_path, expand="album", client={"rate": RATE, "burst": 32, "concurrency": 32}
    )
    started = time.monotonic()
    result = await run_pull(settings, sb.credentials)
    elapsed = time.monotonic() - started
    stats = sb.stats()
    counts = tally(tmp_path, expected_records(sb.truth(), sb.config.markets))
    issued = stats["tokens_issued"]
    record(
        Figures(
            "token churn (2 s tokens, 32 workers)",
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            during_retry_after=stats["during_retry_after"],
            traced=False,
            exit_codes=[result.exit_code],
            notes=f"{elapsed:.0f} s pull, {issued} token requests,"
            f" {stats['requests'].get('album', {}).get('401', 0)} 401s,"
            f" max {overlap.most} token request in flight",
        )
    )
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    assert result.exit_code == 0
    lifetimes = elapsed / LIFETIME
    assert lifetimes >= 2  # the pull really outlived several tokens
    # The provider renews at half-life for tokens this short (its margin is capped at
    # half the lifetime): between one and two token requests per lifetime, plus the first.
    assert lifetimes - 1 <= issued <= 2 * lifetimes + 2
    assert overlap.most == 1
    assert "401" not in stats["requests"].get("album", {})  # no request left with a stale token
    assert result.manifest.token_refreshes == issued
    assert scan_for_secrets(sb, [caplog.text], [tmp_path]) == 0
