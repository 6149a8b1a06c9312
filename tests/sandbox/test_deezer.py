"""The Deezer emulator (``/deezer``) against Deezer's captured bodies and documented traps.

Shapes are compared with the tests' copy of ``shared/deezer/examples``; the rules come
from ``shared/deezer/FACTS.md``: HTTP 200 for every error, code 4 after 50 requests in
5 s, 12-digit UPC-A for Spotify's 13-digit barcodes, 25 embedded tracks, ``genre_id`` -1,
genre names by ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest

from async_spotify_etl.sandbox import Sandbox, SandboxConfig
from async_spotify_etl.sandbox.deezer import (
    EMBEDDED_TRACKS,
    DeezerCatalogue,
    expected_album,
    expected_artist,
    expected_track,
    expected_tracks,
)
from tests.fakes import FakeClock

from .shapes import example, mismatches

Get = Callable[..., Awaitable[tuple[int, dict[str, str], Any]]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def getter(session: aiohttp.ClientSession, sandbox: Sandbox) -> Get:
    async def get(path: str, params: dict[str, str] | None = None, **headers: str) -> Any:
        url = f"{sandbox.url}/deezer{path}"
        async with session.get(url, params=params, headers=headers) as r:
            return r.status, dict(r.headers), orjson.loads(await r.read())

    return get


def _deezer(sandbox: Sandbox) -> DeezerCatalogue:
    return sandbox.state.deezer.catalogue


def _albums(sandbox: Sandbox, known: bool = True) -> list[int]:
    """Indices of the listed albums Deezer knows (or does not)."""
    dz = _deezer(sandbox)
    listed = [dz.spotify.index_of(a) for a in sandbox.truth()["albums"]]
    return [i for i in listed if i is not None and dz.knows(i) == known]


def _upc(sandbox: Sandbox, index: int) -> str:
    body = sandbox.state.full_catalogue.album(index).full_prefix + b"null}"
    return str(orjson.loads(body)["external_ids"]["upc"])


async def test_bodies_have_the_captured_shapes(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=2)
    get = getter(session, sb)
    index = next(i for i in _albums(sb) if _upc(sb, i).startswith("0"))
    upc = _upc(sb, index)[1:]
    status, headers, album = await get(f"/album/upc:{upc}")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    for name in ("album_upc_196589221285.captured-2025-01-21.json",
                 "album_302127.captured-2025-01-21.json"):  # fmt: skip
        assert mismatches(album, example("deezer", name)) == []
    assert (await get(f"/album/{album['id']}"))[2] == album
    _, _, page = await get(f"/album/{album['id']}/tracks")
    model = example("deezer", "album_302127_tracks.captured-2025-01-21.json")
    assert mismatches(page, model, optional=frozenset({"next", "prev"})) == []
    maybe = frozenset({"title_version"})  # real full tracks lack it at times
    for item in page["data"]:
        _, _, track = await get(f"/track/isrc:{item['isrc']}")
        for name in ("track_isrc_GBDUW0000061.captured-2025-01-21.json",
                     "track_3135556.captured-2025-01-21.json"):  # fmt: skip
            assert mismatches(track, example("deezer", name), optional=maybe) == []
        assert (await get(f"/track/{track['id']}"))[2] == track
    _, _, artist = await get(f"/artist/{album['artist']['id']}")
    assert mismatches(artist, example("deezer", "artist_27.captured-2025-01-21.json")) == []
    assert "genres" not in artist
    _, _, genres = await get("/genre")
    assert mismatches(genres, example("deezer", "genre_list.captured-deezer-python.en.json")) == []


async def test_every_error_is_http_200_with_a_deezer_error_body(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=2)
    get = getter(session, sb)
    miss = example("deezer", "error_800_no_data_album.captured-2019-09-25.json")
    unknown = _upc(sb, _albums(sb, known=False)[0])
    for path in ("/album/-1", "/album/0", f"/album/upc:{unknown}", f"/album/upc:{unknown[1:]}",
                 "/track/isrc:ZZZZZ0000000", "/track/isrc:GB-ALB-83-00001", "/artist/-1",
                 "/album/0/tracks", "/track/1"):  # fmt: skip
        status, _, body = await get(path)
        assert (status, body) == (200, miss), path
    status, headers, body = await get("/nonexistent")
    unknown_path = example("deezer", "error_600_unknown_path.quoted-2026-09-06.json")
    assert (status, body) == (200, unknown_path)
    assert "Retry-After" not in headers
    stats = sb.stats()
    assert stats["apis"]["deezer"]["errors"]["800"] == 9
    assert stats["apis"]["deezer"]["errors"]["600"] == 1
    assert stats["apis"]["spotify"]["requests"] == 0


async def test_spotify_13_digit_upc_a_misses_and_its_12_digit_form_matches(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=4)
    get = getter(session, sb)
    known = _albums(sb)
    upc_a = next(i for i in known if _upc(sb, i).startswith("0"))
    ean = next(i for i in known if not _upc(sb, i).startswith("0"))
    spotify = _upc(sb, upc_a)
    assert len(spotify) == 13
    assert (await get(f"/album/upc:{spotify}"))[2]["error"]["code"] == 800
    _, _, album = await get(f"/album/upc:{spotify[1:]}")
    assert album["upc"] == spotify[1:]
    assert album["title"] == _spotify_name(sb, upc_a)
    whole = _upc(sb, ean)
    _, _, album = await get(f"/album/upc:{whole}")
    assert album["upc"] == whole
    assert (await get(f"/album/upc:{whole[1:]}"))[2]["error"]["code"] == 800
    assert (await get(f"/album/upc:0{whole}"))[2]["error"]["code"] == 800


def _spotify_name(sandbox: Sandbox, index: int) -> str:
    body = sandbox.state.full_catalogue.album(index).full_prefix + b"null}"
    return str(orjson.loads(body)["name"])


async def test_an_album_embeds_25_tracks_without_isrc_and_pages_the_rest(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=1)
    get = getter(session, sb)
    dz = _deezer(sb)
    index = next(i for i in _albums(sb) if dz.spotify.shape(i).total_tracks > 60)
    _, _, album = await get(f"/album/{dz.album(index)['id']}")
    total = dz.spotify.shape(index).total_tracks
    assert album["nb_tracks"] == total
    assert len(album["tracks"]["data"]) == EMBEDDED_TRACKS
    assert set(album["tracks"]) == {"data"}
    assert not any("isrc" in t or "track_position" in t for t in album["tracks"]["data"])
    items: list[Any] = []
    url: str | None = album["tracklist"]
    pages = 0
    while url is not None:
        assert url.startswith(f"{sb.url}/deezer/")
        async with session.get(url) as r:
            page = orjson.loads(await r.read())
        assert page["total"] == total
        assert len(page["data"]) <= 25
        items += page["data"]
        url, pages = page.get("next"), pages + 1
    assert pages == -(-total // 25)
    spotify = [orjson.loads(t) for t in dz.spotify.album(index).tracks]
    assert [t["isrc"] for t in items] == [t["external_ids"]["isrc"] for t in spotify]
    assert [t["disk_number"] for t in items] == [t["disc_number"] for t in spotify]
    _, _, big = await get(f"/album/{album['id']}/tracks", {"limit": "500", "index": "40"})
    assert len(big["data"]) == min(100, total - 40)
    assert big["prev"].endswith("limit=100&index=0")


async def test_some_albums_have_no_genre_and_names_follow_accept_language(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=3, albums_per_market=100)
    get = getter(session, sb)
    dz = _deezer(sb)
    albums = [dz.album(i) for i in _albums(sb)]
    none = [a for a in albums if a["genre_id"] == -1]
    assert none
    assert all(a["genres"]["data"] == [] for a in none)
    assert any(len(a["genres"]["data"]) == 2 for a in albums)
    classical = next(a for a in albums if a["genre_id"] in (98, 2, 16, 75, 81, 95, 197, 173))
    names = {}
    for lang in ("en", "fr-FR,fr;q=0.9", "es", "de"):
        _, _, body = await get(f"/album/{classical['id']}", **{"Accept-Language": lang})
        names[lang] = body["genres"]["data"][0]["name"]
        assert body["genre_id"] == classical["genre_id"]
    assert names["en"] == names["de"] != names["fr-FR,fr;q=0.9"] != names["es"]
    _, _, spanish = await get("/genre", **{"Accept-Language": "es"})
    _, _, default = await get("/genre")
    assert spanish["data"][0]["name"] == "Todos"
    assert default["data"][0]["name"] == "All"
    assert [g["id"] for g in spanish["data"]] == [g["id"] for g in default["data"]]


async def test_code_4_after_50_requests_in_5_seconds(
    sandbox_factory: Any, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb = await sandbox_factory(seed=2, deezer_throttle=True, clock=clock.time)
    get = getter(session, sb)
    quota = example("deezer", "error_4_quota_limit_exceeded.captured-2019-04-26.json")
    for n in range(50):
        assert "error" not in (await get("/genre"))[2], n
    status, headers, body = await get("/genre")
    assert (status, body) == (200, quota)
    assert not any(h.lower() in ("retry-after", "x-ratelimit-remaining") for h in headers)
    clock.now += 4.9  # refused requests count as well: these keep the client out
    for _ in range(50):
        assert (await get("/album/0"))[2] == quota
    clock.now += 0.6  # the first 50 have left the window; the 50 refused have not
    assert (await get("/genre"))[2] == quota
    clock.now += 4.5
    assert "error" not in (await get("/genre"))[2]
    stats = sb.stats()["apis"]["deezer"]
    assert stats["throttled"] == 52
    assert stats["errors"]["4"] == 52
    assert stats["requests"] == 103
    assert "800" not in stats["errors"]  # a refused request is not looked up


async def test_no_quota_without_the_flag(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=2)
    get = getter(session, sb)
    for _ in range(60):
        assert "error" not in (await get("/genre"))[2]
    assert sb.stats()["apis"]["deezer"]["throttled"] == 0


async def test_served_bodies_equal_the_truth_api(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(seed=5, access="development")
    get = getter(session, sb)
    base = f"{sb.url}/deezer"
    config: SandboxConfig = sb.config
    hits = 0
    for album_id in list(sb.truth()["albums"])[:30]:
        want = expected_album(config, album_id, base)
        index = _deezer(sb).spotify.index_of(album_id)
        assert index is not None
        upc = _upc(sb, index)
        _, _, got = await get(f"/album/upc:{upc[1:] if upc[0] == '0' else upc}")
        if want is None:
            assert got["error"]["code"] == 800
            assert expected_tracks(config, album_id, base) is None
            continue
        hits += 1
        assert got == want
        _, _, page = await get(f"/album/{want['id']}/tracks", {"limit": "100"})
        tracks = expected_tracks(config, album_id, base)
        assert tracks is not None
        assert page["data"] == tracks[:100]
        isrc = page["data"][0]["isrc"]
        assert (await get(f"/track/isrc:{isrc}"))[2] == expected_track(config, isrc, base)
        credited = sb.truth()["credits"][album_id]
        artist = expected_artist(config, credited[0], base)
        assert artist is not None
        assert (await get(f"/artist/{artist['id']}"))[2] == artist
    assert 15 <= hits < 30
    assert expected_album(config, "0" * 22) is None
    assert expected_artist(config, "0" * 22) is None


def test_the_share_is_about_85_percent_and_independent_of_the_markets() -> None:
    wide = SandboxConfig(seed=9, markets=("US", "GB", "DE"), albums_per_market=200)
    narrow = SandboxConfig(seed=9, markets=("FR",), albums_per_market=50)
    wide_dz = DeezerCatalogue(_catalogue(wide))
    narrow_dz = DeezerCatalogue(_catalogue(narrow))
    known = [wide_dz.knows(i) for i in range(wide_dz.spotify.album_count)]
    assert 0.80 < sum(known) / len(known) < 0.90
    for index in range(narrow_dz.spotify.album_count):
        assert narrow_dz.knows(index) == wide_dz.knows(index)
        if narrow_dz.knows(index):
            assert narrow_dz.fans(index) == wide_dz.fans(index)
            assert narrow_dz.album(index)["genre_id"] == wide_dz.album(index)["genre_id"]
    rare = DeezerCatalogue(_catalogue(wide.replace(deezer_share=0.1)))
    share = sum(rare.knows(i) for i in range(rare.spotify.album_count)) / len(known)
    assert 0.05 < share < 0.15


def _catalogue(config: SandboxConfig) -> Any:
    from async_spotify_etl.sandbox.catalogue import Catalogue

    return Catalogue(config, "")


async def test_the_configured_faults_and_latency_reach_deezer_and_musicbrainz(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    failing = await sandbox_factory(seed=2, error_rate=1.0)
    corrupt = await sandbox_factory(seed=2, corrupt_rate=1.0)
    ua = {"User-Agent": "tests/1.0 ( https://example.org )"}
    for path in ("/deezer/genre", "/musicbrainz/ws/2/isrc/GBAAA9900303?fmt=json"):
        async with session.get(failing.url + path, headers=ua) as r:
            assert r.status in (500, 502, 503)
            assert r.headers["Content-Type"].startswith("text/html")
    async with session.get(corrupt.url + "/deezer/genre", headers=ua) as r:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(await r.read())
    assert set(failing.stats()["requests"]["deezer-genre"]) <= {"500", "502", "503"}
    assert failing.stats()["apis"]["deezer"]["requests"] == 1
