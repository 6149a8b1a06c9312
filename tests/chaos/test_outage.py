"""Scenario: an outage during expansion, longer than the retries, then the API is back.

The first run meets the outage after some albums: every album and artist it could not
fetch stays due (nothing in errors.ndjson), the run stops resumably (exit 75) saying how
many; the resume, with the API back, fetches exactly those: every album, track and artist
once, and no error line (#23.1).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.core.errors import StillFailingError
from async_spotify_etl.run.ending import EXIT_RESUMABLE, ending_of
from async_spotify_etl.run.pull import run_pull
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import expected_records, pick, pull_settings, read_lines, tally
from .outage import OutageProxy

ALBUMS = pick(120, 600)
MARKETS = ("US", "GB")


@pytest.mark.parametrize(
    ("access", "mode", "artists"),
    [("extended", "hang", "auto"), ("development", "drop", "single")],
)
async def test_an_outage_longer_than_the_retries_loses_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, access: str, mode: str, artists: str
) -> None:
    sb = await sandbox_factory(seed=23, markets=MARKETS, albums_per_market=ALBUMS, access=access)
    out = tmp_path / "out"
    async with OutageProxy(sb) as proxy:
        # timeouts short and one retry, so the outage outlasts the retries at once
        client = {
            "api_url": proxy.api_url,
            "token_url": proxy.token_url,
            "timeout": 0.3,
            "max_retries": 1,
            "backoff_base": 0.01,
            "backoff_cap": 0.02,
            "concurrency": 4,
        }
        settings = pull_settings(sb, out, artists=artists, client=client)
        proxy.fail_after(pick(12, 40), mode)  # type: ignore[arg-type]
        with pytest.raises(StillFailingError) as stopped:
            await run_pull(settings, sb.credentials)
        assert ending_of(stopped.value).exit_code == EXIT_RESUMABLE
        assert proxy.refused > 0
        assert read_lines(out, "errors") == []  # nothing failed for good
        first = orjson.loads((out / "manifest.json").read_bytes())
        assert first["status"] == "stopped"
        assert first["albums_left"] == stopped.value.albums > 0
        left_artists = stopped.value.artists
        proxy.restore()
        result = await run_pull(dataclasses.replace(settings, resume=True), sb.credentials)
    assert result.exit_code == 0
    assert result.manifest.this_run["albums"] == stopped.value.albums  # exactly those due
    truth = sb.truth()
    listed = (
        truth["markets"] if access == "extended" else dict.fromkeys(MARKETS, truth["search_new"])
    )
    expected = expected_records({**truth, "markets": listed}, MARKETS)
    counts = tally(out, expected)
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    artist_lines = [orjson.loads(line)["id"] for line in read_lines(out, "artists")]
    assert len(artist_lines) == len(set(artist_lines))  # every artist once
    credited = {
        a["id"]
        for line in read_lines(out, "albums") + read_lines(out, "tracks")
        for a in orjson.loads(line).get("artists") or ()
    }
    assert set(artist_lines) == credited
    assert left_artists == 0 or result.manifest.this_run["artists"] >= left_artists
    figures = Figures(f"outage ({access}, {mode})", runs=2, traced=False)
    figures.expected, figures.exit_codes = counts.expected, [EXIT_RESUMABLE, result.exit_code]
    figures.notes = f"{stopped.value.albums} albums, {left_artists} artists left due by the outage"
    record(figures)
