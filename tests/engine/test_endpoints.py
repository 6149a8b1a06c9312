"""The planner: a whole catalogue fetched with exactly the minimum number of requests in
each access mode, checked against the sandbox's ground truth and request counts."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.core.errors import (
    EndpointUnavailableError,
    MalformedAnswerError,
    NotFoundError,
    QuotaExceededError,
    ResponseTooLargeError,
    SpotifyETLError,
    TransportError,
    UnreadableItemsError,
)
from async_spotify_etl.core.settings import ClientSettings
from async_spotify_etl.engine.endpoints import (
    ALBUMS_PER_BATCH,
    LISTING_PAGE,
    PAGES_AHEAD_PER_CONCURRENCY,
    SEARCH_PAGE_DEVELOPMENT,
    SpotifyAPI,
)
from async_spotify_etl.engine.plan import minimum_requests
from async_spotify_etl.sandbox import Sandbox
from tests.fakes import ALBUM_ID, CREDENTIALS, TOKEN_URL, fast_settings, token_body, url

MARKETS = ("US", "GB", "SE")


def open_client(sb: Sandbox) -> SpotifyClient:
    settings = ClientSettings(
        api_url=sb.api_url, token_url=sb.token_url, rate=1000.0, burst=100, concurrency=16
    )
    return SpotifyClient(sb.credentials, settings)


def routes(sb: Sandbox) -> dict[str, int]:
    """Requests the sandbox answered, per route, tokens left out."""
    seen = sb.stats()["requests"]
    return {route: sum(by_status.values()) for route, by_status in seen.items() if route != "token"}


async def listed(pages: Any) -> list[str]:
    return [album["id"] async for page in pages for album in page.items]


async def pull_extended(api: SpotifyAPI) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Listings per market, then every unique album and all its tracks, as a pull would."""
    by_market = {m: await listed(api.new_releases(m)) for m in MARKETS}
    unique = list(dict.fromkeys(a for ids in by_market.values() for a in ids))
    batches = [unique[i : i + ALBUMS_PER_BATCH] for i in range(0, len(unique), ALBUMS_PER_BATCH)]
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(api.several_albums(batch, "US")) for batch in batches]
    albums = [album for task in tasks for album in task.result() if album is not None]
    tracks = await asyncio.gather(*(api.complete_tracks(album, "US") for album in albums))
    return by_market, {a["id"]: [t["id"] for t in ts] for a, ts in zip(albums, tracks, strict=True)}


async def test_extended_mode_uses_exactly_the_minimum(sandbox_factory: Any) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=100, access="extended")
    truth = sb.truth()
    async with open_client(sb) as client:
        by_market, tracks = await pull_extended(SpotifyAPI(client))
        stats = client.stats
    assert by_market == truth["markets"]
    assert tracks == truth["albums"]
    counts = {album_id: len(ids) for album_id, ids in truth["albums"].items()}
    minimum = minimum_requests(truth["markets"], counts, "extended")
    assert minimum["album-tracks"] > 0  # the catalogue has long albums
    assert routes(sb) == minimum
    assert stats.requests == minimum
    assert sb.stats()["tokens_issued"] == 1


async def test_development_mode_uses_exactly_the_minimum(sandbox_factory: Any) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=60, access="development")
    truth = sb.truth()
    async with open_client(sb) as client:
        api = SpotifyAPI(client)
        with pytest.raises(EndpointUnavailableError):
            await listed(api.new_releases("US"))
        with pytest.raises(EndpointUnavailableError):
            await api.several_albums(truth["search_new"][:2], "US")
        found = {m: await listed(api.search_new(m, SEARCH_PAGE_DEVELOPMENT)) for m in MARKETS}
        unique = list(dict.fromkeys(a for ids in found.values() for a in ids))
        albums = await asyncio.gather(*(api.album(a, "US") for a in unique))
        tracks = await asyncio.gather(*(api.complete_tracks(a, "US") for a in albums))
    assert all(ids == truth["search_new"] for ids in found.values())
    assert {a["id"]: [t["id"] for t in ts] for a, ts in zip(albums, tracks, strict=True)} == {
        a: truth["albums"][a] for a in unique
    }
    counts = {a: len(truth["albums"][a]) for a in unique}
    minimum = minimum_requests(found, counts, "development", SEARCH_PAGE_DEVELOPMENT)
    assert minimum["search"] > len(MARKETS)  # more than one search page per market
    assert routes(sb) == {**minimum, "new-releases": 1, "several-albums": 1}


async def test_album_tracks_alone_fetches_every_page_of_a_long_album(
    sandbox_factory: Any,
) -> None:
    sb = await sandbox_factory(albums_per_market=100)
    truth = sb.truth()["albums"]
    longest = max(truth, key=lambda a: len(truth[a]))
    async with open_client(sb) as client:
        tracks = await SpotifyAPI(client).album_tracks(longest, "US")
    assert [t["id"] for t in tracks] == truth[longest]
    assert routes(sb) == {"album-tracks": math.ceil(len(truth[longest]) / 50)}


async def test_a_hostile_server_never_crashes_the_planner(sandbox_factory: Any) -> None:
    sb = await sandbox_factory(
        albums_per_market=100, access="development", hostile=True, hostile_body_bytes=3 << 20
    )
    truth = sb.truth()
    hostile = truth["hostile"]
    settings = ClientSettings(
        api_url=sb.api_url,
        token_url=sb.token_url,
        rate=1000.0,
        burst=100,
        max_retries=2,
        max_body_bytes=2 << 20,
    )
    sleeps: list[float] = []

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)

    async with SpotifyClient(sb.credentials, settings, sleep=no_wait) as client:
        api = SpotifyAPI(client)
        pages = [page async for page in api.search_new("US", SEARCH_PAGE_DEVELOPMENT)]
        outcomes: dict[str, Any] = {}
        for kind in ("html", "oversized", "lying_total", "missing_fields", "track_without_id"):
            for album_id in hostile[kind]:
                try:
                    album = await api.album(album_id, "US")
                    outcomes[album_id] = [t["id"] for t in await api.complete_tracks(album, "US")]
                except SpotifyETLError as exc:
                    outcomes[album_id] = type(exc)
    # null slots and ids that are not base62 never reach the items; bad ids are kept, safe,
    # for the report, and the null slot (first page only) is counted
    found = [album["id"] for page in pages for album in page.items]
    assert found == [a for a in truth["search_new"] if a not in hostile["bad_id"]]
    shown = [hostile["bad_id"][a] for a in truth["search_new"] if a in hostile["bad_id"]]
    assert shown
    assert [bad for page in pages for bad in page.invalid_ids] == shown
    assert sum(page.skipped - len(page.invalid_ids) for page in pages) == 1
    assert all(outcomes[a] is MalformedAnswerError for a in hostile["html"])
    assert all(outcomes[a] is ResponseTooLargeError for a in hostile["oversized"])
    assert all(outcomes[a] == truth["albums"][a] for a in hostile["lying_total"])
    # missing optional fields pass; a track without an id fails the whole album
    assert all(outcomes[a] == truth["albums"][a] for a in hostile["missing_fields"])
    assert all(outcomes[a] is UnreadableItemsError for a in hostile["track_without_id"])


async def test_lenient_parsing_of_odd_but_valid_bodies(mock_api: Any) -> None:
    track = {"id": "2" * 22}  # nothing but an id: still a track
    odd = {"id": ALBUM_ID, "album_type": "EP", "tracks": {"items": [track], "total": 1}}
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url("/albums"), payload={"albums": [odd, None]})
    listing = {"items": [None, {"id": ALBUM_ID, "album_type": "ALBUM"}], "total": 2, "next": None}
    mock_api.get(url("/browse/new-releases"), payload={"albums": listing})
    mock_api.get(url("/search"), payload={"tracks": listing})
    async with SpotifyClient(CREDENTIALS, fast_settings()) as client:
        api = SpotifyAPI(client)
        other = "1" * 22
        assert await api.several_albums([ALBUM_ID, other], "US") == [odd, None]
        assert await api.complete_tracks(odd, "US") == [track]
        assert await listed(api.new_releases("US")) == [ALBUM_ID]
        with pytest.raises(TransportError):  # an answer without an albums page
            await listed(api.search_new("US", 10))


async def test_a_failed_page_of_a_fan_out_raises_its_own_typed_error(mock_api: Any) -> None:
    first = {"items": [{"id": ALBUM_ID}], "total": 150, "limit": 50, "offset": 0, "next": "x"}
    mock_api.post(TOKEN_URL, payload=token_body())
    listing = url("/browse/new-releases")
    mock_api.get(listing, payload={"albums": first})
    mock_api.get(listing, status=404, payload={"error": {"status": 404, "message": "gone"}})
    mock_api.get(listing, payload={"albums": {**first, "offset": 100}})
    async with SpotifyClient(CREDENTIALS, fast_settings()) as client:
        with pytest.raises(NotFoundError):  # not an ExceptionGroup
            await listed(SpotifyAPI(client).new_releases("US"))


async def test_a_quota_stop_in_a_fan_out_is_raised_as_the_stop(mock_api: Any) -> None:
    embedded = {"items": [{"id": "0" * 22}], "total": 200, "limit": 50, "next": "x"}
    album = {"id": ALBUM_ID, "tracks": embedded}
    quota = {"error": {"status": 429, "message": "Too many", "reason": "QUOTA_EXCEEDED"}}
    page = {"items": [{"id": "1" * 22}], "total": 200, "limit": 50, "next": "x"}
    mock_api.post(TOKEN_URL, payload=token_body())
    tracks = url(f"/albums/{ALBUM_ID}/tracks")
    mock_api.get(tracks, payload=page)
    mock_api.get(tracks, status=429, payload=quota, headers={"Retry-After": "3600"})
    mock_api.get(tracks, payload=page)
    async with SpotifyClient(CREDENTIALS, fast_settings()) as client:
        with pytest.raises(QuotaExceededError):
            await SpotifyAPI(client).complete_tracks(album, "US")


@pytest.mark.slow  # the sandbox renders every listed album: some seconds
async def test_a_listing_above_ten_thousand_is_complete_at_the_minimum(
    sandbox_factory: Any,
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=10_001)
    truth = sb.truth()["markets"]["US"]
    async with open_client(sb) as client:
        pages = [
            [a["id"] for a in page.items] async for page in SpotifyAPI(client).new_releases("US")
        ]
    assert [a for page in pages for a in page] == truth  # every album, in listing order
    assert [len(page) for page in pages] == [LISTING_PAGE] * 200 + [1]
    assert routes(sb) == {"new-releases": minimum_requests({"US": truth}, {})["new-releases"]}
    assert routes(sb) == {"new-releases": 201}


def lying_listing(mock_api: Any, real: int, *, next_always: bool) -> Any:
    """A new-releases answer claiming a billion albums where ``real`` exist; ``next`` is
    null on the last real page unless ``next_always`` (then only empty pages tell the end)."""

    def answer(request_url: Any, **_: Any) -> Any:
        offset, limit = int(request_url.query["offset"]), int(request_url.query["limit"])
        items = [{"id": f"{n:022d}"} for n in range(offset, min(offset + limit, real))]
        more = next_always or offset + limit < real
        page = {"items": items, "total": 10**9, "limit": limit, "offset": offset}
        return mock_api.result(payload={"albums": {**page, "next": "x" if more else None}})

    return answer


@pytest.mark.parametrize("next_always", [False, True])
async def test_a_lying_total_is_listed_to_its_real_end_and_no_further(
    mock_api: Any, next_always: bool
) -> None:
    served: list[int] = []
    answer = lying_listing(mock_api, 130, next_always=next_always)

    def counted(request_url: Any, **kwargs: Any) -> Any:
        served.append(int(request_url.query["offset"]))
        return answer(request_url, **kwargs)

    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url("/browse/new-releases"), callback=counted, repeat=True)
    settings = fast_settings(concurrency=2)
    async with SpotifyClient(CREDENTIALS, settings) as client:
        found = await listed(SpotifyAPI(client).new_releases("US"))
    assert found == [f"{n:022d}" for n in range(130)]
    ahead = PAGES_AHEAD_PER_CONCURRENCY * settings.concurrency
    assert sorted(served)[:3] == [0, 50, 100]  # the real pages, each once
    assert len(served) <= 3 + ahead  # at most the pages ahead past the end, never the billion
    assert len(served) == len(set(served))


async def test_a_lying_track_total_stops_at_the_real_end(mock_api: Any) -> None:
    def answer(request_url: Any, **_: Any) -> Any:
        offset = int(request_url.query["offset"])
        items = [{"id": f"{n:022d}"} for n in range(offset, min(offset + 50, 120))]
        return mock_api.result(payload={"items": items, "total": 10**9, "limit": 50, "next": "x"})

    first = [{"id": f"{n:022d}"} for n in range(50)]
    embedded = {"items": first, "total": 10**9, "limit": 50, "next": "x"}
    album = {"id": ALBUM_ID, "tracks": embedded}
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(f"/albums/{ALBUM_ID}/tracks"), callback=answer, repeat=True)
    async with SpotifyClient(CREDENTIALS, fast_settings(concurrency=2)) as client:
        tracks = await SpotifyAPI(client).complete_tracks(album, "US")
    assert [t["id"] for t in tracks] == [f"{n:022d}" for n in range(120)]


@pytest.mark.parametrize("through", ["complete_tracks", "album_tracks"])
async def test_unreadable_track_items_on_any_page_fail_the_whole_album(
    mock_api: Any, through: str
) -> None:
    """A null track, or one whose id is missing or not base62, on a later page: the album
    fails with the count over every page, rather than being written without them."""
    first = [{"id": f"{n:022d}"} for n in range(50)]
    later = [None, {"id": "../../v1/me"}, {"name": "no id"}, {"id": f"{50:022d}"}]
    page = {"items": first, "total": 54, "limit": 50, "offset": 0, "next": "x"}
    mock_api.post(TOKEN_URL, payload=token_body())
    endpoint = url(f"/albums/{ALBUM_ID}/tracks")
    if through == "album_tracks":
        mock_api.get(endpoint, payload=page)
    mock_api.get(endpoint, payload={**page, "items": later, "offset": 50, "next": None})
    async with SpotifyClient(CREDENTIALS, fast_settings()) as client:
        api = SpotifyAPI(client)
        tracks = (
            api.album_tracks(ALBUM_ID, "US")
            if through == "album_tracks"
            else api.complete_tracks({"id": ALBUM_ID, "tracks": page}, "US")
        )
        with pytest.raises(UnreadableItemsError, match=r"3 of 54 track items"):
            await tracks
