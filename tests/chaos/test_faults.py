"""Scenario 1: 500/502/503s, truncated or malformed JSON and dropped connections at 5% and
20% of answers; the output still equals the sandbox's ground truth, record for record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from async_spotify_etl.run.pull import run_pull
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import expected_records, pick, pull_settings, scan_for_secrets, tally, track_order

ALBUMS = pick(400, 1500)
MARKETS = pick(("US", "GB", "DE", "FR"), ("US", "GB", "DE", "FR", "JP", "BR"))


#: Each run a different catalogue and fault pattern; the development-mode runs expand
#: through Get Album, one request per album, so they meet far more faults.
RUNS = pick((11, 12), (11, 12, 13, 14, 15, 16))


@pytest.mark.parametrize("share", [0.05, 0.20])
async def test_faults_lose_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture, share: float
) -> None:
    caplog.set_level(logging.DEBUG, logger="async_spotify_etl")
    total = Figures(f"faults {share:.0%}", runs=len(RUNS), traced=False)
    faults = retries = 0
    for seed in RUNS:
        sb = await sandbox_factory(
            seed=seed,
            markets=MARKETS,
            albums_per_market=ALBUMS,
            access="extended" if seed % 2 else "development",
            error_rate=share / 2,
            corrupt_rate=share / 4,
            drop_rate=share / 4,
            client_secret="chaos-faults-secret",
        )
        out = tmp_path / str(seed)
        # Backoff shortened so the suite stays short; the retry budget is what a user
        # raises for a flaky network (--max-retries).
        settings = pull_settings(
            sb, out, client={"max_retries": 10, "backoff_base": 0.02, "backoff_cap": 0.5}
        )
        result = await run_pull(settings, sb.credentials)
        truth = sb.truth()
        listed = truth["markets"] if seed % 2 else dict.fromkeys(MARKETS, truth["search_new"])
        expected = expected_records({**truth, "markets": listed}, MARKETS)
        counts = tally(out, expected)
        stats = sb.stats()
        faults += sum(
            n
            for route in stats["requests"].values()
            for status, n in route.items()
            if status in ("500", "502", "503", "dropped")
        )
        retries += result.manifest.retries
        total.expected += counts.expected
        total.lost += counts.lost
        total.duplicates += counts.duplicates
        total.during_retry_after += stats["during_retry_after"]
        total.exit_codes.append(result.exit_code)
        assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
        assert track_order(out) == {a: t for a, t in expected.items() if t}
        assert result.exit_code == 0
        assert scan_for_secrets(sb, [caplog.text], [out]) == 0
    total.notes = f"{faults} 5xx/dropped answers, {retries} retries"
    record(total)
    assert faults > 0  # the scenario really met faults
    assert retries > faults
