"""Scenario 1: 500/502/503s, truncated or malformed JSON and dropped connections at 5% and
20% of answers; the output still equals the sandbox's ground truth, record for record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from async_spotify_etl.runner import run_pull
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import expected_records, pick, pull_settings, scan_for_secrets, tally, track_order

ALBUMS = pick(400, 1500)
MARKETS = pick(("US", "GB", "DE", "FR"), ("US", "GB", "DE", "FR", "JP", "BR"))


@pytest.mark.parametrize("share", [0.05, 0.20])
async def test_faults_lose_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture, share: float
) -> None:
    caplog.set_level(logging.DEBUG, logger="async_spotify_etl")
    sb = await sandbox_factory(
        seed=11,
        markets=MARKETS,
        albums_per_market=ALBUMS,
        error_rate=share / 2,
        corrupt_rate=share / 4,
        drop_rate=share / 4,
        client_secret="chaos-faults-secret",
    )
    # Backoff shortened so the short version stays short; the retry budget is what a
    # user raises for a flaky network (--max-retries).
    settings = pull_settings(
        sb, tmp_path, client={"max_retries": 10, "backoff_base": 0.02, "backoff_cap": 0.5}
    )
    result = await run_pull(settings, sb.credentials)
    truth = sb.truth()
    expected = expected_records(truth, sb.config.markets)
    counts = tally(tmp_path, expected)
    stats = sb.stats()
    faults = sum(
        n
        for route in stats["requests"].values()
        for status, n in route.items()
        if status in ("500", "502", "503", "dropped")
    )
    record(
        Figures(
            f"faults {share:.0%}",
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            during_retry_after=stats["during_retry_after"],
            traced=False,
            exit_codes=[result.exit_code],
            notes=f"{faults} 5xx/dropped answers, {result.manifest.retries} retries",
        )
    )
    assert faults > 0  # the scenario really met faults
    assert result.manifest.retries > faults / 2
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    assert track_order(tmp_path) == {a: t for a, t in expected.items() if t}
    assert result.exit_code == 0
    assert scan_for_secrets(sb, [caplog.text], [tmp_path]) == 0
