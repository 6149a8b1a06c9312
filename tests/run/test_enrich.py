"""A sandbox pull with ``enrich``: every enrichment line equal to the APIs' truth, the
fewest requests, a failure isolated and resumed, a torn commit cut off on resume."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl import (
    ClientSettings,
    EnrichSettings,
    PullSettings,
    StillFailingError,
    read_committed,
    run_dataset,
    run_pull,
)
from async_spotify_etl.client.deezer import DeezerClient, upc_forms
from async_spotify_etl.client.musicbrainz import MusicBrainzClient
from async_spotify_etl.output.dataset import Dataset
from async_spotify_etl.sandbox import Sandbox, SandboxConfig
from async_spotify_etl.sandbox.deezer import expected_album, expected_artist, expected_tracks
from async_spotify_etl.sandbox.musicbrainz import expected_release, expected_release_group
from tests.enrich_fakes import FakeEnrichAPIs
from tests.fakes import FakeClock

ENRICH_STREAMS = ("deezer_albums", "deezer_tracks", "deezer_artists", "musicbrainz_releases")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(
        albums_per_market=40,
        latency=0,
        markets=("US",),
        access="development",
        deezer_share=0.6,
        musicbrainz_share=0.5,
    )
    async with Sandbox(config) as sb:
        yield sb


def pull_settings(
    sb: Sandbox,
    out: Path,
    fake: FakeEnrichAPIs | None,
    *,
    fake_deezer: bool = False,
    **changes: Any,
) -> PullSettings:
    """Both APIs from the sandbox's emulators, or from the test server ``fake`` (Deezer
    with ``fake_deezer``), which can fail a chosen album."""
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=1000, remember=False)
    enrichment = EnrichSettings(
        deezer_url=fake.deezer_url if fake is not None and fake_deezer else sb.deezer_url,
        musicbrainz_url=fake.musicbrainz_url if fake is not None else sb.musicbrainz_url,
        deezer_rate=10_000.0,
        musicbrainz_interval=0.0001,
        enrich_retries=1,
    )
    base: dict[str, Any] = {
        "out": out,
        "client": client,
        "enrichment": enrichment,
        "enrich": ("deezer", "musicbrainz"),
    }
    return PullSettings(**{**base, **changes})


def served(sb: Sandbox, route: str) -> int:
    """Requests the sandbox answered on ``route``, whatever their status."""
    return sum(sb.stats()["requests"].get(route, {}).values())


@pytest.fixture
async def catalogue(sandbox: Sandbox, tmp_path: Path) -> list[tuple[dict[str, Any], list[Any]]]:
    """The sandbox's albums with their tracks, as a plain pull writes them."""
    out = tmp_path / "plain"
    await run_pull(pull_settings(sandbox, out, None, enrich=()), sandbox.credentials)
    tracks = list(read_committed(out, "tracks"))
    return [
        (album, [t for t in tracks if t["album_id"] == album["id"]])
        for album in read_committed(out, "albums")
    ]


def lines(out: Path) -> dict[str, list[dict[str, Any]]]:
    return {stream: list(read_committed(out, stream)) for stream in (*ENRICH_STREAMS, "errors")}


def without_times(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (
            {**r, "_etl": {k: v for k, v in r["_etl"].items() if k != "extracted_at"}}
            for r in records
        ),
        key=lambda r: str(r.get("track_id") or r.get("album_id") or r.get("artist_id")),
    )


async def test_every_enrichment_line_equals_the_apis_truth_with_the_fewest_requests(
    sandbox: Sandbox, catalogue: list[tuple[dict[str, Any], list[Any]]], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = await run_pull(pull_settings(sandbox, out, None), sandbox.credentials)
    assert result.status == "complete"
    got = lines(out)
    assert got["errors"] == []
    by_album = {line["album_id"]: line for line in got["deezer_albums"]}
    assert set(by_album) == {a["id"] for a, _ in catalogue}  # one line per album
    assert len(got["deezer_albums"]) == len(catalogue)
    config = sandbox.config
    base = sandbox.deezer_url
    hits = 0
    for album, tracks in catalogue:
        line = by_album[album["id"]]
        truth = expected_album(config, album["id"], base)
        assert line["upc"] == album["external_ids"]["upc"]
        if truth is None:
            assert (line["deezer"], line["_etl"]["lookup"]) == (None, None)  # a recorded miss
            assert not [t for t in got["deezer_tracks"] if t["album_id"] == album["id"]]
            continue
        hits += 1
        assert line["deezer"] == {k: v for k, v in truth.items() if k != "tracks"}
        assert line["_etl"]["lookup"] == truth["upc"]
        items = {t["isrc"]: t for t in expected_tracks(config, album["id"], base) or []}
        mine = [t for t in got["deezer_tracks"] if t["album_id"] == album["id"]]
        assert [t["track_id"] for t in mine] == [t["id"] for t in tracks]
        for track in mine:
            assert track["deezer"] == items.get(track["isrc"])
    assert 0 < hits < len(catalogue)
    artists = {line["artist_id"]: line for line in got["deezer_artists"]}
    credited = {c["id"] for a, t in catalogue for item in (a, *t) for c in item["artists"]}
    assert set(artists) == credited  # one line per artist
    assert len(got["deezer_artists"]) == len(artists)
    matched = [line for line in artists.values() if line["deezer"] is not None]
    assert matched
    for line in matched:
        assert line["deezer"] == expected_artist(config, line["artist_id"], base)
    for album, _ in catalogue:  # the album's own artists are on its Deezer album
        if expected_album(config, album["id"], base) is not None:
            assert all(artists[c["id"]]["deezer"] is not None for c in album["artists"])
    releases = {line["album_id"]: line for line in got["musicbrainz_releases"]}
    assert len(releases) == len(catalogue)
    mb_hits = 0
    for album, _ in catalogue:
        line = releases[album["id"]]
        assert line["release"] == expected_release(config, album["id"])
        assert line["release_group"] == expected_release_group(config, album["id"])
        mb_hits += line["release"] is not None
    assert 0 < mb_hits < len(catalogue)
    # the fewest requests (docs/enrich.md): one UPC lookup per album Deezer has, every
    # form for one it has not; one track page per album of up to 100 tracks; one request
    # per Deezer artist; one MusicBrainz search per album and one lookup per hit
    misses = [a for a, _ in catalogue if expected_album(config, a["id"], base) is None]
    lookups = hits + sum(len(upc_forms(a["external_ids"]["upc"])) for a in misses)
    assert served(sandbox, "deezer-album-upc") == lookups
    pages = sum(-(-len(t) // 100) for a, t in catalogue if expected_album(config, a["id"], base))
    assert served(sandbox, "deezer-album-tracks") == pages
    assert served(sandbox, "deezer-artist") == len({line["deezer"]["id"] for line in matched})
    assert served(sandbox, "musicbrainz-release-search") == len(catalogue)
    assert served(sandbox, "musicbrainz-release-group") == mb_hits
    enrich = result.manifest.runs[-1].stats["enrich"]
    assert enrich["matched"] == {"deezer": hits, "musicbrainz": mb_hits}
    assert (
        enrich["minimum_requests"]
        == enrich["requests"]["deezer"]["requests"]
        | (enrich["requests"]["musicbrainz"]["requests"])
    )


async def test_a_failing_album_is_isolated_and_a_resume_finishes_exactly_what_is_missing(
    sandbox: Sandbox, catalogue: list[tuple[dict[str, Any], list[Any]]], tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    async with FakeEnrichAPIs(catalogue, padded_upcs=True) as fake:
        await run_pull(
            pull_settings(sandbox, reference, fake, fake_deezer=True), sandbox.credentials
        )
    out = tmp_path / "out"
    async with FakeEnrichAPIs(catalogue, padded_upcs=True) as fake:
        failing = catalogue[5][0]["external_ids"]["upc"]
        fake.failing_upcs.update(upc_forms(failing))  # this album fails after its retries
        fake.script["musicbrainz"].extend(["500"] * 2)
        with pytest.raises(StillFailingError, match="2 albums"):
            await run_pull(pull_settings(sandbox, out, fake, fake_deezer=True), sandbox.credentials)
        first = lines(out)
        assert {e["stage"] for e in first["errors"]} == {"deezer", "musicbrainz"}
        assert all(e["transient"] for e in first["errors"])
        assert len(first["deezer_albums"]) == len(catalogue) - 1  # the others are written
        # a kill in the middle of a commit leaves a torn tail: the resume cuts it off
        with (out / "deezer_albums.ndjson").open("ab") as torn:
            torn.write(b'{"album_id": "torn')
        fake.failing_upcs.clear()
        before = fake.count("deezer", "album/upc:")
        resumed = await run_pull(
            dataclasses.replace(pull_settings(sandbox, out, fake, fake_deezer=True), resume=True),
            sandbox.credentials,
        )
        assert resumed.status == "complete"
        # only the failed album is looked up again (with its forms), nothing else
        assert fake.count("deezer", "album/upc:") - before == 1
    want, got = lines(reference), lines(out)
    for stream in ENRICH_STREAMS:
        assert without_times(got[stream]) == without_times(want[stream]), stream


@pytest.mark.parametrize("api", ["deezer", "musicbrainz"])
async def test_each_apis_throttling_on_the_sandbox_is_waited_out_and_the_lines_stay_true(
    tmp_path: Path, api: str
) -> None:
    """Deezer's code 4 past 50 requests in 5 s, MusicBrainz's 503s (over one a second, and
    shed at random) are waited out on a fake clock: every line as without them. One API
    at a time: the sandbox has one clock, and one API's waits would age the other's window."""
    clock = FakeClock()
    config = SandboxConfig(
        albums_per_market=30,
        latency=0,
        markets=("US",),
        deezer_throttle=True,
        musicbrainz_throttle=True,
        musicbrainz_shed_rate=0.3,
    )
    async with Sandbox(config, clock=clock.time) as sb:
        settings = pull_settings(sb, tmp_path / "out", None, enrich=(api,))
        enrichment = dataclasses.replace(settings.enrichment, enrich_retries=8)
        settings = dataclasses.replace(settings, enrichment=enrichment)
        client = (DeezerClient if api == "deezer" else MusicBrainzClient)(
            enrichment, sleep=clock.sleep, clock=clock.time
        )
        result = await run_pull(settings, sb.credentials, enrich_clients={api: client})
        served = sb.stats()["apis"][api]
    assert result.status == "complete"
    assert served["throttled"] + served["shed"] > 0
    enrich = result.manifest.runs[-1].stats["enrich"]
    assert enrich["requests"][api]["throttled"] == served["throttled"] + served["shed"]
    assert sum(enrich["requests"][api]["requests"].values()) == served["requests"]
    # every throttled request was asked again, and nothing more: the minimum plus retries
    assert (
        served["requests"]
        == sum(enrich["minimum_requests"].values()) + (enrich["requests"][api]["retries"])
    )
    got = lines(tmp_path / "out")
    assert got["errors"] == []
    for line in got["deezer_albums"]:
        truth = expected_album(config, line["album_id"], sb.deezer_url)
        assert line["deezer"] == (
            None if truth is None else {k: v for k, v in truth.items() if k != "tracks"}
        )
    for line in got["musicbrainz_releases"]:
        assert line["release"] == expected_release(config, line["album_id"])
    assert len(got[f"{api}_albums" if api == "deezer" else "musicbrainz_releases"]) == 30


async def test_in_a_dataset_each_album_is_enriched_once_and_its_artists_every_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    root = tmp_path / "dataset"
    settings = pull_settings(sandbox, root, None, enrich=("deezer",))
    await run_dataset(settings, sandbox.credentials)
    before = served(sandbox, "deezer-album-upc")
    second = await run_dataset(settings, sandbox.credentials)
    assert served(sandbox, "deezer-album-upc") == before  # no album looked up again
    first_run, second_run = (root / run["path"] for run in Dataset(root).runs())
    assert list(read_committed(second_run, "deezer_albums")) == []
    snapshot = {a["artist_id"]: a["deezer"] for a in read_committed(first_run, "deezer_artists")}
    again = {a["artist_id"]: a["deezer"] for a in read_committed(second_run, "deezer_artists")}
    assert again == snapshot  # the listing shows the same albums: their artists again
    requests = second.manifest.runs[-1].stats["enrich"]["requests"]["deezer"]["requests"]
    assert requests == {"deezer-artist": len({d["id"] for d in snapshot.values() if d})}
