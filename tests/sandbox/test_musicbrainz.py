"""The MusicBrainz emulator (``/musicbrainz/ws/2``) against the server's bodies and rules.

Shapes are compared with the tests' copy of ``shared/musicbrainz/examples``; the rules come
from ``shared/musicbrainz/FACTS.md``: barcode search ignoring leading zeros, upper-case
ISRCs only, several recordings per ISRC, ``inc=genres`` refused on ``/isrc``, genres and
tags sorted by name, 403 without a User-Agent, 503 beyond one request a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest

from async_spotify_etl.sandbox import Sandbox, SandboxConfig
from async_spotify_etl.sandbox.catalogue import Catalogue
from async_spotify_etl.sandbox.musicbrainz import (
    MusicBrainzCatalogue,
    expected_artist,
    expected_recordings,
    expected_release,
    expected_release_group,
)
from tests.fakes import FakeClock

from .shapes import example, mismatches

UA = "async-spotify-etl-tests/1.0 ( https://example.org/contact )"
Get = Callable[..., Awaitable[tuple[int, dict[str, str], Any]]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def getter(session: aiohttp.ClientSession, sandbox: Sandbox) -> Get:
    async def get(path: str, params: dict[str, str] | None = None, **headers: str) -> Any:
        url = f"{sandbox.musicbrainz_url}{path}"
        query = {"fmt": "json", **(params or {})}
        headers = {"User-Agent": UA, **headers}
        async with session.get(url, params=query, headers=headers) as r:
            body = await r.read()
            return r.status, dict(r.headers), orjson.loads(body) if body[:1] == b"{" else body

    return get


def _mb(sandbox: Sandbox) -> MusicBrainzCatalogue:
    return sandbox.state.musicbrainz.catalogue


def _known(sandbox: Sandbox, known: bool = True) -> list[int]:
    mb = _mb(sandbox)
    listed = [mb.spotify.index_of(a) for a in sandbox.truth()["albums"]]
    return [i for i in listed if i is not None and mb.knows(i) == known]


def _album(sandbox: Sandbox, index: int) -> dict[str, Any]:
    rendered = sandbox.state.full_catalogue.album(index)
    album: dict[str, Any] = orjson.loads(rendered.full_prefix + b"null}")
    album["tracks"] = [orjson.loads(t) for t in rendered.tracks]
    return album


async def test_bodies_have_the_server_shapes(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=2)
    get = getter(session, sb)
    album = _album(sb, _known(sb)[0])
    status, headers, search = await get(
        "/release", {"query": f"barcode:{album['external_ids']['upc']}"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assembled = example("musicbrainz", "release_search_barcode.assembled-from-schema.json")
    assert mismatches(search, assembled, optional=frozenset({"tags", "secondary-types"})) == []
    captured = example("musicbrainz", "release_search_rumours_limit1.captured-2026-05-26.json")
    assert mismatches(search, captured, optional=frozenset({"barcode", "secondary-types"})) == []
    group_id = search["releases"][0]["release-group"]["id"]
    _, _, group = await get(f"/release-group/{group_id}", {"inc": "genres+tags"})
    model = example("musicbrainz", "release-group_inc-genres+tags.assembled-from-schema.json")
    assert mismatches(group, model) == []
    _, _, bare = await get(f"/release-group/{group_id}")
    assert (
        mismatches(bare, example("musicbrainz", "release-group_basic.server-test-fixture.json"))
        == []
    )
    isrc = album["tracks"][0]["external_ids"]["isrc"]
    _, _, plain = await get(f"/isrc/{isrc}")
    assert (
        mismatches(plain, example("musicbrainz", "isrc_GBAAA9900303.server-test-fixture.json"))
        == []
    )
    _, _, credited = await get(f"/isrc/{isrc}", {"inc": "artists"})
    model = example("musicbrainz", "isrc_GBALB8300001_inc-artists.quoted-2026-09-06.json")
    assert mismatches(credited, model) == []
    artist_id = credited["recordings"][0]["artist-credit"][0]["artist"]["id"]
    _, _, artist = await get(f"/artist/{artist_id}", {"inc": "genres+tags+ratings"})
    model = example("musicbrainz", "artist_inc-tags+genres+ratings.server-test-fixture.json")
    assert mismatches(artist, model) == []
    _, _, recording = await get(
        f"/recording/{plain['recordings'][0]['id']}", {"inc": "genres+tags"}
    )
    assert set(recording) == {*plain["recordings"][0], "genres", "tags"}


async def test_barcode_search_ignores_leading_zeros_and_misses_are_empty(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=3)
    get = getter(session, sb)
    index = next(i for i in _known(sb) if _album(sb, i)["external_ids"]["upc"].startswith("0"))
    upc = _album(sb, index)["external_ids"]["upc"]
    found = []
    for form in (upc, upc[1:], "0" + upc, f'"{upc}"'):
        _, _, body = await get("/release", {"query": f"barcode:{form}"})
        assert body["count"] == 1, form
        found.append(body["releases"][0]["id"])
    assert len(set(found)) == 1
    assert body["releases"][0]["barcode"] == upc[1:]
    assert body["releases"][0]["score"] == 100
    missing = _album(sb, _known(sb, known=False)[0])["external_ids"]["upc"]
    _, _, body = await get("/release", {"query": f"barcode:{missing}"})
    assert (body["count"], body["releases"]) == (0, [])
    assert set(body) == {"created", "count", "offset", "releases"}
    _, _, body = await get("/release", {"query": f"barcode:{upc}", "limit": "500"})
    assert body["count"] == 1  # out of range: 25, not an error
    status, _, body = await get("/release", {"query": " "})
    assert status == 400
    assert body == example("musicbrainz", "error_400_blank_search_query.assembled-from-source.json")


async def test_an_isrc_must_be_upper_case_and_may_name_several_recordings(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=4)
    get = getter(session, sb)
    mb = _mb(sb)
    tracks = [(i, n) for i in _known(sb) for n in range(mb.spotify.shape(i).total_tracks)]
    shared = next((i, n) for i, n in tracks if mb.takes(i, n) > 1)
    isrc = _album(sb, shared[0])["tracks"][shared[1]]["external_ids"]["isrc"]
    _, _, body = await get(f"/isrc/{isrc}")
    recordings = body["recordings"]
    assert len(recordings) == mb.takes(*shared) > 1
    assert len({r["id"] for r in recordings}) == len(recordings)
    assert len({r["length"] for r in recordings}) == len(recordings)  # pick by duration
    assert recordings[0]["length"] == _album(sb, shared[0])["tracks"][shared[1]]["duration_ms"]
    assert sum(mb.takes(i, n) > 1 for i, n in tracks) / len(tracks) < 0.25
    status, _, body = await get(f"/isrc/{isrc.lower()}")
    assert (status, body) == (
        400,
        example("musicbrainz", "error_400_invalid_isrc.assembled-from-source.json"),
    )
    status, _, body = await get(f"/isrc/{isrc}", {"inc": "genres"})
    assert (status, body) == (
        400,
        example("musicbrainz", "error_400_invalid_inc.assembled-from-source.json"),
    )
    unknown = _album(sb, _known(sb, known=False)[0])["tracks"][0]["external_ids"]["isrc"]
    status, _, body = await get(f"/isrc/{unknown}")
    assert (status, body) == (
        404,
        example("musicbrainz", "error_404_not_found.quoted-2026-09-06.json"),
    )
    for recording in recordings:
        status, _, full = await get(f"/recording/{recording['id']}", {"inc": "genres+tags"})
        assert status == 200
        assert full["id"] == recording["id"]


async def test_lookups_check_mbids_and_incs_and_sort_genres_and_tags(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=5, albums_per_market=60)
    get = getter(session, sb)
    mb = _mb(sb)
    groups = [mb.release_group(i) for i in _known(sb)]
    assert any(g["genres"] == [] and g["tags"] == [] for g in groups)
    assert any(len(g["tags"]) > len(g["genres"]) > 0 for g in groups)  # free tags too
    for group in groups:
        for key in ("genres", "tags"):
            names = [t["name"] for t in group[key]]
            assert names == sorted(names)
            assert all(t["count"] > 0 for t in group[key])
        tagged = {t["name"]: t["count"] for t in group["tags"]}
        assert all(tagged[g["name"]] == g["count"] for g in group["genres"])
    group_id = groups[0]["id"]
    assert (await get(f"/release-group/{group_id}", {"inc": "genres+tags"}))[2] == groups[0]
    status, _, body = await get("/release-group/not-an-mbid")
    assert (status, body) == (
        400,
        example("musicbrainz", "error_400_invalid_mbid.assembled-from-source.json"),
    )
    assert (await get("/release-group/00000000-0000-4000-8000-000000000000"))[0] == 404
    status, _, body = await get(f"/release-group/{group_id}", {"inc": "isrcs"})
    assert status == 400
    assert body["error"] == "isrcs is not a valid inc parameter for the release-group resource."
    assert (await get(f"/release-group/{group_id}", {"inc": "user-tags"}))[0] == 401
    status, headers, body = await get(f"/release-group/{group_id}", {"fmt": "xml"})
    assert status == 200
    assert headers["Content-Type"].startswith("application/xml")
    url = f"{sb.musicbrainz_url}/release-group/{group_id}?inc=genres%20tags"
    async with session.get(url, headers={"User-Agent": UA, "Accept": "application/json"}) as r:
        assert orjson.loads(await r.read()) == groups[0]  # no fmt: Accept decides
    async with session.get(url, headers={"User-Agent": UA}) as r:
        assert (await r.read()).startswith(b"<?xml")


async def test_no_user_agent_gets_403_and_a_bare_library_user_agent_too(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=2)
    get = getter(session, sb)
    refused = example("musicbrainz", "error_403_missing_user_agent.quoted-2026-09-06.json")
    for agent in ("", "  ", f"Python/3.11 aiohttp/{aiohttp.__version__}", "python-requests/2.32"):
        status, _, body = await get("/isrc/GBAAA9900303", **{"User-Agent": agent})
        assert (status, body) == (403, refused), agent
    assert (await get("/isrc/GBAAA9900303"))[0] == 404
    assert sb.stats()["apis"]["musicbrainz"]["errors"] == {"403": 4, "404": 1}


async def test_more_than_one_request_a_second_gets_503_with_retry_after_1(
    sandbox_factory: Any, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb = await sandbox_factory(seed=2, musicbrainz_throttle=True, clock=clock.time)
    get = getter(session, sb)
    exceeding = example("musicbrainz", "error_503_rate_limited_per_ip.captured-2026-08-16.json")
    statuses = [(await get("/isrc/GBAAA9900303"))[0] for _ in range(3)]
    assert statuses == [404, 404, 404]  # a small burst passes
    status, headers, body = await get("/isrc/GBAAA9900303")
    assert (status, body) == (503, exceeding)
    assert headers["Retry-After"] == "1"
    clock.now += 1.0
    assert (await get("/isrc/GBAAA9900303"))[0] == 404
    assert (await get("/isrc/GBAAA9900303"))[0] == 503
    for _ in range(10):  # one a second is always served
        clock.now += 1.0
        assert (await get("/isrc/GBAAA9900303"))[0] == 404
    stats = sb.stats()["apis"]["musicbrainz"]
    assert stats["throttled"] == 2
    assert stats["requests"] == 16
    assert stats["errors"]["503"] == 2


async def test_global_shedding_answers_503_with_retry_after_0_at_its_rate(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=2, musicbrainz_shed_rate=0.3)
    get = getter(session, sb)
    busy = example("musicbrainz", "error_503_server_busy_global_shed.captured-2026-08-16.json")
    shed = 0
    for n in range(100):
        status, headers, body = await get(f"/isrc/GBAAA99{n:05d}")
        if status == 503:
            assert body == busy
            assert headers["Retry-After"] == "0"
            shed += 1
    assert 15 < shed < 45
    assert sb.stats()["apis"]["musicbrainz"]["shed"] == shed
    assert sb.stats()["apis"]["musicbrainz"]["throttled"] == 0
    quiet = await sandbox_factory(seed=2)
    assert all(
        [(await getter(session, quiet)(f"/isrc/GBAAA99{n:05d}"))[0] == 404 for n in range(30)]
    )


async def test_error_bodies_vary_their_key_order(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=2)
    orders = set()
    for n in range(12):
        async with session.get(f"{sb.musicbrainz_url}/isrc/GBAAA99{n:05d}?fmt=json",
                               headers={"User-Agent": UA}) as r:  # fmt: skip
            orders.add(tuple(orjson.loads(await r.read())))
    assert orders == {("error", "help"), ("help", "error")}


async def test_served_bodies_equal_the_truth_api(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=6, access="development")
    get = getter(session, sb)
    config: SandboxConfig = sb.config
    hits = 0
    for album_id in list(sb.truth()["albums"])[:40]:
        index = _mb(sb).spotify.index_of(album_id)
        assert index is not None
        album = _album(sb, index)
        _, _, search = await get("/release", {"query": f"barcode:{album['external_ids']['upc']}"})
        release = expected_release(config, album_id)
        isrc = album["tracks"][0]["external_ids"]["isrc"]
        status, _, recordings = await get(f"/isrc/{isrc}")
        if release is None:
            assert search["releases"] == []
            assert expected_release_group(config, album_id) is None
            assert (status, expected_recordings(config, isrc)) == (404, None)
            continue
        hits += 1
        assert search["releases"] == [release]
        group = expected_release_group(config, album_id)
        assert group is not None
        assert (await get(f"/release-group/{group['id']}", {"inc": "genres+tags"}))[2] == group
        assert recordings["recordings"] == expected_recordings(config, isrc)
        for credited in sb.truth()["credits"][album_id]:
            artist = expected_artist(config, credited)
            assert artist is not None
            assert (await get(f"/artist/{artist['id']}", {"inc": "genres+tags"}))[2] == artist
    assert 4 <= hits <= 24


def test_the_share_is_about_30_percent_and_independent_of_the_markets() -> None:
    wide = SandboxConfig(seed=9, markets=("US", "GB", "DE"), albums_per_market=200)
    narrow = SandboxConfig(seed=9, markets=("JP",), albums_per_market=50)
    wide_mb = MusicBrainzCatalogue(Catalogue(wide, ""))
    narrow_mb = MusicBrainzCatalogue(Catalogue(narrow, ""))
    known = [wide_mb.knows(i) for i in range(wide_mb.spotify.album_count)]
    assert 0.25 < sum(known) / len(known) < 0.35
    for index in range(narrow_mb.spotify.album_count):
        assert narrow_mb.knows(index) == wide_mb.knows(index)
        if narrow_mb.knows(index):
            assert (
                narrow_mb.release_group(index)["genres"] == wide_mb.release_group(index)["genres"]
            )
    more = MusicBrainzCatalogue(Catalogue(wide.replace(musicbrainz_share=0.9), ""))
    assert sum(more.knows(i) for i in range(more.spotify.album_count)) / len(known) > 0.85
