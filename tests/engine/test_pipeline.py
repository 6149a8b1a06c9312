"""The pull against the real sandbox: ground truth, minimum requests, failures, stops."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl.core.errors import (
    AuthenticationError,
    ConfigurationError,
    ResumableStop,
    SpotifyETLError,
)
from async_spotify_etl.core.settings import ClientSettings, Credentials, PullSettings
from async_spotify_etl.engine.pipeline import Pull
from async_spotify_etl.run.pull import run_pull
from async_spotify_etl.sandbox import Sandbox
from tests.pulls import assert_matches_truth, comparable, manifest, read_pull

#: The shared ``sandbox_factory`` fixture: ``await factory(**SandboxConfig fields)``.
SandboxFactory = Callable[..., Awaitable[Sandbox]]
FAST = {"rate": 2000.0, "burst": 200, "concurrency": 8}


def settings_for(
    sb: Sandbox, out: Path, client: dict[str, Any] | None = None, **changes: Any
) -> PullSettings:
    fields = {**FAST, **(client or {})}
    settings = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, **fields)
    return dataclasses.replace(PullSettings(out=out, client=settings), **changes)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def long_albums(truth: dict[str, Any]) -> int:
    return sum(len(tracks) > 50 for tracks in truth["albums"].values())


@pytest.mark.parametrize(
    ("access", "markets", "source", "expand"),
    [
        ("extended", ("US", "GB", "DE"), "auto", "auto"),
        ("extended", ("US",), "new-releases", "album"),
        ("extended", ("GB", "US"), "auto", "tracks"),
        ("development", ("US", "GB"), "search", "album"),
        ("development", ("US", "GB", "DE"), "auto", "auto"),
    ],
)
async def test_output_equals_ground_truth_and_requests_equal_the_minimum(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    access: str,
    markets: tuple[str, ...],
    source: str,
    expand: str,
) -> None:
    sb = await sandbox_factory(markets=markets, albums_per_market=60, access=access, seed=4)
    truth = sb.truth()
    assert long_albums(truth) >= 3  # the catalogue exercises further track pages
    settings = settings_for(sb, tmp_path, markets=markets, source=source, expand=expand)
    result = await run_pull(settings, sb.credentials)
    assert result.status == "complete"
    assert result.exit_code == 0
    assert_matches_truth(tmp_path, truth, markets, access)
    made = manifest(tmp_path)
    probes = made["plan"]["probes"]
    expected = dict(made["minimum_requests"])
    for endpoint, n in probes.items():  # the 403s that told auto which plan to use
        expected[endpoint] = expected.get(endpoint, 0) + n
    assert made["requests"] == expected
    switched = access == "development" and source == "auto"
    if switched:  # the listing's 403 already told: artists are skipped without a probe
        assert probes == {"new-releases": 1, "several-albums": 1}
    elif access == "development":  # nothing told the plan: several-artists' own 403 does
        assert probes == {"several-artists": 1}
    else:
        assert probes == {}
    skipped = [w for w in warnings_of(caplog) if w.startswith("artists skipped")]
    assert len(skipped) == (access == "development")
    assert made["plan"]["artists"] == ("off" if access == "development" else "several")
    # auto says once per endpoint why it switched and what it does instead
    warnings = warnings_of(caplog)
    said = [w for w in warnings if "answered 403: this app is in development mode" in w]
    assert len(said) == (2 if switched else 0)
    if switched:
        assert "search tag:new" in said[0] + said[1]
        assert "last two weeks" in said[0] + said[1]
        assert "Get Album and Get Album Tracks" in said[0] + said[1]
    served = sb.stats()["requests"]
    assert sum(sum(v.values()) for k, v in served.items() if k != "token") == sum(expected.values())
    pulled = read_pull(tmp_path)
    assert made["counts"] == {
        "albums": len(pulled["albums"]),
        "tracks": len(pulled["tracks"]),
        "failed": 0,
        "artists": len(pulled["artists"]),
        "artists_failed": 0,
    }


async def test_albums_are_written_while_listings_are_still_paging(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=2000, latency=0.01)
    pages = 2000 // 50
    settings = settings_for(sb, Path("unused"))
    served_at_first: int | None = None
    async with Pull(settings, sb.credentials) as pull:
        async for _album, _tracks in pull.albums():
            served_at_first = sb.stats()["requests"]["new-releases"]["200"]
            break
    assert served_at_first is not None, "the pull yielded no album"
    assert served_at_first < pages  # the first album came out while the listing still paged
    # leaving early cancels every stage and closes the client without a stray task


async def test_library_iteration_yields_albums_with_their_tracks(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = await sandbox_factory(markets=("US", "GB"), albums_per_market=40, seed=5)
    truth = sb.truth()
    got: dict[str, list[str]] = {}
    async with Pull(settings_for(sb, Path("unused"), markets=("US", "GB")), sb.credentials) as p:
        async for album, tracks in p.albums():
            got[album["id"]] = [t["id"] for t in tracks]
            assert all(t["album_id"] == album["id"] for t in tracks)
    assert got == truth["albums"]
    assert p.failures == []


async def test_run_pull_leaves_the_cyclic_collector_to_the_program_that_embeds_it(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=30, latency=0.002)
    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    finished = lambda _: during.append(gc.get_threshold())  # noqa: E731
    await run_pull(settings_for(sb, tmp_path), sb.credentials, on_finish=finished)
    assert during == [before]
    assert gc.get_threshold() == before


async def test_max_albums_takes_the_same_albums_however_listings_interleave(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=("US", "GB"), albums_per_market=60, latency=0.002)
    truth = sb.truth()
    first = dict.fromkeys(truth["markets"]["US"] + truth["markets"]["GB"])
    settings = settings_for(sb, tmp_path, markets=("US", "GB"), max_albums=70)
    await run_pull(settings, sb.credentials)
    assert {a["id"] for a in read_pull(tmp_path)["albums"]} == set(list(first)[:70])


async def test_ids_file_junk_lines_are_reported_and_unknown_ids_fail_alone(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=30)
    listed = sb.truth()["markets"]["US"][:5]
    unknown = "0" * 22
    ids = tmp_path / "ids.txt"
    ids.write_text(
        f"{listed[0]}\nnot an id\nspotify:album:{listed[1]}\n"
        f"https://open.spotify.com/album/{listed[2]}?si=x\n{unknown}\n{listed[0]}\n"
    )
    out = tmp_path / "out"
    result = await run_pull(settings_for(sb, out, ids_file=ids), sb.credentials)
    assert result.exit_code == 1
    assert "line 2 is not an album id" in caplog.text
    pull = read_pull(out)
    assert [a["id"] for a in pull["albums"]] == listed[:3]
    assert all(a["_etl"] == {**a["_etl"], "markets": [], "source": "ids"} for a in pull["albums"])
    assert [(e["album_id"], e["stage"]) for e in pull["errors"]] == [(unknown, "several-albums")]
    # A 200 holding null is no HTTP error: the record says what happened, with no status.
    assert (pull["errors"][0]["error"], pull["errors"][0]["status"]) == (
        "AlbumUnavailableError",
        None,
    )
    assert "answered 200 with null" in pull["errors"][0]["message"]
    made = manifest(out)
    assert made["junk_id_lines"] == 1
    assert made["counts"]["failed"] == 1


async def test_get_album_404_goes_to_errors_in_album_mode(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=10, access="development")
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{sb.truth()['markets']['US'][0]}\n{'1' * 22}\n")
    result = await run_pull(settings_for(sb, tmp_path / "o", ids_file=ids), sb.credentials)
    errors = read_pull(tmp_path / "o")["errors"]
    assert result.failed == 1
    assert errors[0]["status"] == 404
    assert errors[0]["error"] == "NotFoundError"
    assert errors[0]["stage"] == "album"


async def test_quota_stops_resumably_and_resume_finishes_exactly(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    config = {"markets": ("US", "GB"), "albums_per_market": 60, "seed": 9}
    stingy = await sandbox_factory(**config, quota=9)
    with pytest.raises(ResumableStop):
        await run_pull(settings_for(stingy, tmp_path, markets=("US", "GB")), stingy.credentials)
    assert manifest(tmp_path)["status"] == "stopped"
    done_before = manifest(tmp_path)["counts"]["albums"]
    assert 0 < done_before < len(stingy.truth()["albums"])
    generous = await sandbox_factory(**config)
    settings = settings_for(generous, tmp_path, markets=("US", "GB"), resume=True)
    result = await run_pull(settings, generous.credentials)
    assert result.status == "complete"
    assert manifest(tmp_path)["this_run"]["albums"] == len(generous.truth()["albums"]) - done_before
    assert_matches_truth(tmp_path, generous.truth(), ("US", "GB"), "extended")


async def test_bad_credentials_fail_with_the_manifest_saying_so(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=("US",))
    with pytest.raises(AuthenticationError):
        await run_pull(settings_for(sb, tmp_path), Credentials("wrong", "nope"))
    made = manifest(tmp_path)
    assert made["status"] == "failed"
    assert "AuthenticationError" in made["error"]
    assert "nope" not in (tmp_path / "manifest.json").read_text()


async def test_forced_several_albums_in_development_mode_is_a_configuration_error(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=("US",), access="development")
    settings = settings_for(sb, tmp_path, source="search", expand="several")
    with pytest.raises(ConfigurationError, match="several-albums is not available"):
        await run_pull(settings, sb.credentials)


async def test_cancelling_commits_complete_albums_and_marks_interrupted(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    config = {"markets": ("US", "GB"), "albums_per_market": 80, "seed": 2}
    slow = await sandbox_factory(**config, latency=0.02)
    settings = settings_for(slow, tmp_path, markets=("US", "GB"), expand="album")
    task = asyncio.ensure_future(run_pull(settings, slow.credentials))
    for _ in range(1000):  # until the first commit
        if (tmp_path / "albums.ndjson").exists() and read_pull(tmp_path)["albums"]:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert manifest(tmp_path)["status"] == "interrupted"
    fast = await sandbox_factory(**config)
    again = settings_for(fast, tmp_path, markets=("US", "GB"), expand="album", resume=True)
    await run_pull(again, fast.credentials)
    assert_matches_truth(tmp_path, fast.truth(), ("US", "GB"), "extended")
    reference = tmp_path.parent / "reference"
    await run_pull(settings_for(fast, reference, markets=("US", "GB"), expand="album"),
                   fast.credentials)  # fmt: skip
    assert comparable(tmp_path) == comparable(reference)


async def test_faults_never_lose_or_repeat_an_album(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    faults = {"error_rate": 0.2, "drop_rate": 0.05, "corrupt_rate": 0.05}
    sb = await sandbox_factory(markets=("US", "GB"), albums_per_market=60, seed=7, **faults)
    truth = sb.truth()
    patience = {"max_retries": 2, "backoff_base": 0.001, "backoff_cap": 0.005}
    for attempt in range(6):  # a listing that fails for good stops the run: resume it
        settings = settings_for(sb, tmp_path, patience, markets=("US", "GB"), resume=attempt > 0)
        try:
            result = await run_pull(settings, sb.credentials)
        except SpotifyETLError:
            continue
        break
    assert result.status == "complete"
    pull = read_pull(tmp_path)
    written = [a["id"] for a in pull["albums"]]
    failed = [e["album_id"] for e in pull["errors"] if "album_id" in e]  # artists' lines too
    assert sorted(written + failed) == sorted(truth["albums"])  # each exactly once
    by_album: dict[str, list[str]] = {a: [] for a in written}
    for track in pull["tracks"]:
        by_album[track["album_id"]].append(track["id"])
    assert by_album == {a: truth["albums"][a] for a in written}
    assert result.exit_code == (1 if pull["errors"] else 0)
