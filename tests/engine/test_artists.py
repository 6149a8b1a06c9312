"""The artists stage against the sandbox: every credited artist once, in full batches of 50,
development mode's one line or its one-request-per-artist fallback, failures isolated."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl import ResumableStop, SettingsError
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.engine.artists import credited_artists
from async_spotify_etl.output.journal import read_journal
from async_spotify_etl.output.layout import STREAMS, journal_path
from async_spotify_etl.run.pull import run_pull
from async_spotify_etl.sandbox import Sandbox
from tests.pulls import assert_matches_truth, manifest, read_pull

SandboxFactory = Callable[..., Awaitable[Sandbox]]
FAST = {"rate": 2000.0, "burst": 200, "concurrency": 8}


def settings_for(
    sb: Sandbox, out: Path, client: dict[str, Any] | None = None, **changes: Any
) -> PullSettings:
    settings = ClientSettings(
        api_url=sb.api_url, token_url=sb.token_url, **{**FAST, **(client or {})}
    )
    return dataclasses.replace(PullSettings(out=out, client=settings), **changes)


def skipped_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("artists skipped")]


async def test_every_credited_artist_once_in_batches_of_exactly_50(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    markets = ("US", "GB", "DE")
    sb = await sandbox_factory(markets=markets, albums_per_market=200, seed=5)
    truth = sb.truth()
    result = await run_pull(settings_for(sb, tmp_path, markets=markets), sb.credentials)
    assert result.exit_code == 0
    assert_matches_truth(tmp_path, truth, markets, "extended")
    pulled = read_pull(tmp_path)
    on_albums = {a for album in pulled["albums"] for a in credited_artists(album, ())}
    artists = {a["id"] for a in pulled["artists"]}
    assert artists - on_albums, "the catalogue credits artists on tracks only (features)"
    assert len(artists) > 100  # several batches
    sizes = {int(k): n for k, n in sb.stats()["ids_per_call"]["several-artists"].items()}
    full, short = sizes.pop(50, 0), sizes
    assert full == len(artists) // 50
    assert short == ({len(artists) % 50: 1} if len(artists) % 50 else {})
    made = manifest(tmp_path)
    assert made["minimum_requests"]["several-artists"] == math.ceil(len(artists) / 50)
    assert made["requests"]["several-artists"] == made["minimum_requests"]["several-artists"]
    assert made["counts"]["artists"] == len(artists)


async def test_development_mode_auto_says_so_once_and_spends_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=30, access="development")
    result = await run_pull(settings_for(sb, tmp_path), sb.credentials)
    assert result.exit_code == 0
    said = skipped_lines(caplog)
    assert len(said) == 1
    assert "development mode" in said[0]
    assert "--artists single" in said[0]
    served = sb.stats()["requests"]
    assert "several-artists" not in served  # new-releases' 403 already told
    assert "artist" not in served
    assert read_pull(tmp_path)["artists"] == []
    assert manifest(tmp_path)["plan"]["artists"] == "off"


async def test_development_mode_single_fetches_each_artist_once_without_popularity(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    markets = ("US", "GB")
    sb = await sandbox_factory(markets=markets, albums_per_market=30, access="development")
    settings = settings_for(sb, tmp_path, markets=markets, artists="single")
    result = await run_pull(settings, sb.credentials)
    assert result.exit_code == 0
    assert_matches_truth(tmp_path, sb.truth(), markets, "development")
    artists = read_pull(tmp_path)["artists"]
    assert {a["_etl"]["endpoint"] for a in artists} == {"artist"}
    served = sb.stats()["requests"]
    assert served["artist"] == {"200": len(artists)}
    assert "several-artists" not in served
    assert manifest(tmp_path)["minimum_requests"]["artist"] == len(artists)
    assert skipped_lines(caplog) == []


async def test_several_forced_in_development_mode_is_a_settings_error(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=10, access="development")
    settings = settings_for(sb, tmp_path, source="search", expand="album", artists="several")
    with pytest.raises(SettingsError) as caught:
        await run_pull(settings, sb.credentials)
    assert caught.value.render({"artists": "--artists"}).startswith(
        "several-artists is not available to this app"
    )
    assert "--artists to auto, single or off" in caught.value.render({"artists": "--artists"})


async def test_off_requests_no_artist(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=20)
    await run_pull(settings_for(sb, tmp_path, artists="off"), sb.credentials)
    assert "several-artists" not in sb.stats()["requests"]
    assert read_pull(tmp_path)["artists"] == []
    assert manifest(tmp_path)["counts"]["albums"] > 0


async def test_a_failed_artist_is_an_error_line_and_never_fails_an_album(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Hostile mode's gone artists (null in several-artists, 404 on Get Artist)."""
    markets = ("US", "GB")
    for artists in ("several", "single"):
        sb = await sandbox_factory(markets=markets, albums_per_market=60, seed=2, hostile=True)
        out = tmp_path / artists
        result = await run_pull(
            settings_for(sb, out, markets=markets, artists=artists), sb.credentials
        )
        assert result.exit_code == 1
        pulled = read_pull(out)
        gone = set(sb.truth()["hostile"]["gone_artists"])
        failed = [e for e in pulled["errors"] if e["stage"] == "artists"]
        assert failed, "the first listed album credits a gone artist"
        assert {e["artist_id"] for e in failed} <= gone
        error = "ArtistUnavailableError" if artists == "several" else "NotFoundError"
        assert {(e["error"], e["status"]) for e in failed} == {
            (error, None if artists == "several" else 404)
        }
        fetched = [a["id"] for a in pulled["artists"]]
        assert not gone & set(fetched)
        every = fetched + [e["artist_id"] for e in failed]
        assert len(every) == len(set(every))
        # the albums crediting gone artists are written all the same
        written = {a["id"] for a in pulled["albums"]}
        assert sb.truth()["markets"]["US"][0] in written
        assert not any("artist_id" in e for e in pulled["errors"] if e["stage"] != "artists")
        made = manifest(out)
        assert made["counts"]["artists_failed"] == len(failed)
        assert made["counts"]["artists"] == len(fetched)


async def test_a_resume_fetches_the_artists_the_stopped_run_had_credited_only(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A quota stops the first run with artists credited but not fetched; the resume
    fetches exactly those and the rest, each once."""
    markets = ("US", "GB")
    seed = 8
    first = await sandbox_factory(markets=markets, albums_per_market=80, seed=seed, quota=14)
    stopped = settings_for(first, tmp_path, {"max_wait": 1}, markets=markets, expand="album")
    with pytest.raises(ResumableStop):
        await run_pull(stopped, first.credentials)
    state = read_journal(journal_path(tmp_path), STREAMS)
    assert state.done, "the first run committed albums"
    due = state.credited - state.artists_done
    assert due, "and credited artists it had not fetched"
    again = await sandbox_factory(markets=markets, albums_per_market=80, seed=seed)
    resumed = dataclasses.replace(settings_for(again, tmp_path, markets=markets), resume=True)
    resumed = dataclasses.replace(resumed, expand="album")
    result = await run_pull(resumed, again.credentials)
    assert result.exit_code == 0
    assert_matches_truth(tmp_path, again.truth(), markets, "extended")  # artists too
    assert manifest(tmp_path)["runs"][0]["artists"] < manifest(tmp_path)["counts"]["artists"]


@pytest.mark.parametrize("remembered", [False, True])
async def test_several_in_development_mode_stops_before_the_first_album_and_auto_then_runs(
    sandbox_factory: SandboxFactory, tmp_path: Path, remembered: bool
) -> None:
    """#24.5: the stage is decided from the development mode the run met (new-releases'
    403) or remembers, before any album is written; the same folder then pulls with auto."""
    markets = ("US", "GB")
    sb = await sandbox_factory(markets=markets, albums_per_market=30, access="development")
    if remembered:  # an earlier run of this app met development mode
        await run_pull(settings_for(sb, tmp_path / "earlier", markets=markets), sb.credentials)
    before = dict(sb.stats()["requests"])
    out = tmp_path / "pull"
    settings = settings_for(sb, out, markets=markets, artists="several")
    with pytest.raises(SettingsError, match="several-artists is not available"):
        await run_pull(settings, sb.credentials)
    assert read_pull(out)["albums"] == []
    served = sb.stats()["requests"]
    assert served.get("album") == before.get("album")  # not one album requested
    assert "several-artists" not in served
    result = await run_pull(dataclasses.replace(settings, artists="auto"), sb.credentials)
    assert result.exit_code == 0
    assert_matches_truth(out, sb.truth(), markets, "development")
