"""Property tests of paging: a pull makes exactly the minimum requests, and a lying
``total`` costs little and never duplicates or invents an album."""

from __future__ import annotations

import asyncio
import math
import string
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from async_spotify_etl.core.settings import ClientSettings
from async_spotify_etl.engine.endpoints import (
    ALBUMS_PER_BATCH,
    LISTING_PAGE,
    PAGES_AHEAD_PER_CONCURRENCY,
    SpotifyAPI,
)
from async_spotify_etl.engine.plan import minimum_requests

BASE62 = string.digits + string.ascii_letters
ids = st.text(alphabet=BASE62, min_size=22, max_size=22)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class FakeSpotify:
    """Serves listings and albums like Spotify's paging objects, counting requests.

    ``claimed`` makes a listing's ``total`` lie (larger than what it holds)."""

    settings = ClientSettings()  # the planner pages ahead by the concurrency

    def __init__(self, listings: dict[str, list[str]], tracks: dict[str, int], claimed: int = 0):
        self.listings = listings
        self.tracks = tracks
        self.claimed = claimed
        self.requests: Counter[str] = Counter()

    async def get_json(self, target: str, params: dict[str, Any], *, endpoint: str) -> Any:
        self.requests[endpoint] += 1
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        if endpoint == "new-releases":
            ids = self.listings[str(params["country"])]
            items = [{"id": a, "type": "album"} for a in ids[offset : offset + limit]]
            return {"albums": self._page(items, offset, limit, len(ids) + self.claimed)}
        if endpoint == "several-albums":
            return {"albums": [self._album(a) for a in str(params["ids"]).split(",")]}
        album_id = target.split("/")[2]
        items = self._tracks(album_id)[offset : offset + limit]
        return self._page(items, offset, limit, self.tracks[album_id])

    def _tracks(self, album_id: str) -> list[dict[str, Any]]:
        return [{"id": f"{album_id[:16]}{n:06d}", "n": n} for n in range(self.tracks[album_id])]

    def _album(self, album_id: str) -> dict[str, Any]:
        first = self._page(self._tracks(album_id)[:50], 0, 50, self.tracks[album_id])
        return {"id": album_id, "tracks": first}

    @staticmethod
    def _page(items: list[Any], offset: int, limit: int, total: int) -> dict[str, Any]:
        more = offset + limit < total
        return {
            "items": items,
            "offset": offset,
            "limit": limit,
            "total": total,
            "next": f"https://api.example/next?offset={offset + limit}" if more else None,
        }


catalogues = st.dictionaries(ids, st.integers(0, 260), min_size=1, max_size=60).flatmap(
    lambda tracks: st.tuples(
        st.just(tracks),
        st.dictionaries(
            st.sampled_from(["US", "GB", "DE"]),
            st.lists(st.sampled_from(sorted(tracks)), unique=True, max_size=len(tracks)),
            min_size=1,
        ),
    )
)


@FAST
@given(catalogues)
def test_the_extended_plan_makes_exactly_the_minimum_requests(
    catalogue: tuple[dict[str, int], dict[str, list[str]]],
) -> None:
    tracks, listings = catalogue
    fake = FakeSpotify(listings, tracks)

    async def pull() -> dict[str, list[str]]:
        api = SpotifyAPI(fake)  # type: ignore[arg-type]
        listed = {
            m: [a["id"] async for page in api.new_releases(m) for a in page.items] for m in listings
        }
        unique = list(dict.fromkeys(a for ids in listed.values() for a in ids))
        got: dict[str, list[str]] = {}
        for start in range(0, len(unique), ALBUMS_PER_BATCH):
            for album in await api.several_albums(unique[start : start + 20], "US"):
                assert album is not None
                got[album["id"]] = [t["id"] for t in await api.complete_tracks(album, "US")]
        assert listed == listings
        return got

    got = asyncio.run(pull())
    assert got == {a: [t["id"] for t in fake._tracks(a)] for a in got}
    assert set(got) == {a for ids in listings.values() for a in ids}
    expected = {k: v for k, v in minimum_requests(listings, tracks).items() if v}
    assert +fake.requests == expected


@FAST
@given(st.integers(0, 400), st.integers(1, 3 * LISTING_PAGE) | st.integers(1, 10**9))
def test_a_lying_total_costs_little_and_never_duplicates_or_invents_albums(
    size: int, lie: int
) -> None:
    listing = [f"{n:022d}" for n in range(size)]
    fake = FakeSpotify({"US": listing}, {}, claimed=lie)

    async def pages() -> list[str]:
        api = SpotifyAPI(fake)  # type: ignore[arg-type]
        return [a["id"] async for page in api.new_releases("US") for a in page.items]

    assert asyncio.run(pages()) == listing
    # Every page carries a next link (the lie), so the real end is the first empty page.
    claimed = max(1, math.ceil((size + lie) / LISTING_PAGE))
    needed = min(claimed, math.ceil(size / LISTING_PAGE) + 1)
    ahead = PAGES_AHEAD_PER_CONCURRENCY * fake.settings.concurrency
    assert needed <= fake.requests["new-releases"] <= min(claimed, needed + ahead - 1)
