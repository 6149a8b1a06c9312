"""The Deezer and MusicBrainz clients: each throttling signal, misses, retries, User-Agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from async_spotify_etl import EnrichSettings, RateLimitedError, __version__
from async_spotify_etl.client.deezer import DeezerClient, upc_forms
from async_spotify_etl.client.musicbrainz import MusicBrainzClient, best_release
from tests.enrich_fakes import FakeEnrichAPIs
from tests.fakes import FakeClock


def album(i: int, upc: str, tracks: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    spotify = {
        "id": f"album{i:017d}",
        "name": f"Album {i}",
        "external_ids": {"upc": upc},
        "artists": [{"id": f"artist{i:016d}", "name": f"Artist {i}"}],
    }
    lines = [
        {
            "id": f"t{i:03d}{n:017d}",
            "name": f"T{n}",
            "external_ids": {"isrc": f"USAAA26{i:02d}{n:03d}"},
        }
        for n in range(tracks)
    ]
    return spotify, lines


@pytest.fixture
async def apis(clock: FakeClock) -> AsyncIterator[FakeEnrichAPIs]:
    catalogue = [album(0, "0724384960650", tracks=130), album(1, "196589221285"), album(2, "x")]
    catalogue[2][0]["external_ids"]["upc"] = "3616553578384"
    async with FakeEnrichAPIs(catalogue, clock=clock.time, padded_upcs=True) as fake:
        yield fake


def settings(fake: FakeEnrichAPIs, **changes: Any) -> EnrichSettings:
    base = {
        "deezer_url": fake.deezer_url,
        "musicbrainz_url": fake.musicbrainz_url,
        "deezer_rate": 10_000.0,
        "musicbrainz_interval": 0.0001,
    }
    return EnrichSettings(**{**base, **changes})


def deezer(fake: FakeEnrichAPIs, clock: FakeClock, **changes: Any) -> DeezerClient:
    return DeezerClient(
        settings(fake, **changes), sleep=clock.sleep, clock=clock.time, random=lambda: 0.0
    )


def musicbrainz(fake: FakeEnrichAPIs, clock: FakeClock, **changes: Any) -> MusicBrainzClient:
    return MusicBrainzClient(
        settings(fake, **changes), sleep=clock.sleep, clock=clock.time, random=lambda: 0.0
    )


def test_upc_forms_are_the_12_digit_upc_a_first_then_as_given_then_each_zero_stripped() -> None:
    assert upc_forms("0724384960650") == ["724384960650", "0724384960650"]  # 12 digits first
    assert upc_forms("00724384960650") == ["724384960650", "00724384960650", "0724384960650"]
    assert upc_forms("00123") == ["00123", "0123", "123"]
    assert upc_forms("3616553578384") == ["3616553578384"]  # a whole EAN-13 is sent whole
    assert upc_forms("  ") == []


async def test_deezer_finds_a_12_digit_upc_from_spotify_13_digits_and_says_which_form(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    async with deezer(apis, clock) as client:
        found, form = await client.album_by_upc("0724384960650")
        missing = await client.album_by_upc("0000000000001")
    assert (found or {})["id"] == 300000
    assert form == "724384960650"
    assert missing == (None, None)  # code 800 is a miss for every form, not an error
    assert apis.count("deezer", "album/upc:") == 1 + 13  # one request where Deezer has it
    assert client.stats.requests["deezer-album-upc"] == 14


async def test_deezer_pages_album_tracks_at_100_and_reads_every_isrc(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    async with deezer(apis, clock) as client:
        items = await client.album_tracks(300000)
    assert [t["id"] for t in items] == [t["id"] for t in apis.deezer_tracks[300000]]
    assert apis.count("deezer", "album/300000/tracks") == 2  # 130 tracks: two pages of 100


async def test_deezer_code_4_closes_the_gate_waits_and_retries(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    apis.script["deezer"].extend(["code4", "code4"])
    async with deezer(apis, clock) as client:
        artist = await client.artist(27000)
    assert artist is not None
    assert artist["id"] == 27000
    assert client.stats.throttled == 2
    assert clock.sleeps == [5.0, 10.0]  # the 5 s quota window, then doubled
    assert apis.count("deezer", "artist/") == 3


async def test_deezer_past_50_requests_in_5_seconds_is_throttled_and_then_served(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    async with deezer(apis, clock) as client:
        for _ in range(55):  # the fake clock stands still: the 51st meets the quota
            assert await client.artist(27000) is not None
    assert apis.throttled["deezer"] >= 1
    assert client.stats.throttled == apis.throttled["deezer"]


async def test_deezer_code_700_and_5xx_are_retried_and_a_persisting_throttle_raises(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    apis.script["deezer"].extend(["code700", "502"])
    async with deezer(apis, clock, enrich_retries=2) as client:
        assert await client.artist(27000) is not None
        apis.script["deezer"].extend(["code4"] * 3)
        with pytest.raises(RateLimitedError):
            await client.artist(27000)
    assert client.stats.retries == 4


async def test_musicbrainz_503_honours_retry_after_with_exponential_backoff(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    apis.script["musicbrainz"].extend(["503", "503-0", "503-0"])
    async with musicbrainz(apis, clock) as client:
        release = await client.release_by_barcode("0724384960650")
    assert release is not None
    assert release["barcode"] == "0724384960650"
    assert client.stats.throttled == 3
    # Retry-After 1 (and the backoff of 1), then 0 honoured as "soon": 2 s, then 4 s
    assert clock.sleeps == [1.0, 2.0, 4.0]


async def test_musicbrainz_over_one_a_second_gets_503_and_the_retry_waits_it_out(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    apis.musicbrainz_interval = 1.0
    async with musicbrainz(apis, clock) as client:
        first = await client.release_by_barcode("0724384960650")
        group = await client.release_group(first["release-group"]["id"])  # type: ignore[index]
    assert group is not None
    assert group["genres"][0]["name"] == "pop"
    assert apis.throttled["musicbrainz"] == 1
    assert client.stats.retries == 1


async def test_musicbrainz_404_is_a_miss_and_the_best_hit_needs_score_100_and_the_barcode(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    async with musicbrainz(apis, clock) as client:
        assert await client.release_by_barcode("196589221285") is None  # only the decoy
        assert await client.release_group("11111111-0000-4000-8000-999999999999") is None
    hits = [{"score": 100, "barcode": "1724"}, {"score": 90, "barcode": "724"}]
    assert best_release(hits, "0724") is None
    assert best_release([*hits, {"score": 100, "barcode": "00724"}], "0724") == {
        "score": 100,
        "barcode": "00724",
    }


async def test_both_clients_name_the_project_and_its_version_in_the_user_agent(
    apis: FakeEnrichAPIs, clock: FakeClock
) -> None:
    async with deezer(apis, clock) as dz, musicbrainz(apis, clock) as mb:
        await dz.artist(27000)
        await mb.release_by_barcode("0724384960650")
    (agent,) = apis.user_agents
    assert agent.startswith(f"async_spotify_etl/{__version__} ( https://")
    mine = EnrichSettings(musicbrainz_url=apis.musicbrainz_url, contact="me@example.org")
    async with MusicBrainzClient(mine) as client:
        await client.release_group("11111111-0000-4000-8000-000000000000")
    assert f"async_spotify_etl/{__version__} ( me@example.org )" in apis.user_agents
