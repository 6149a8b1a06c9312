"""What to request: Spotify's endpoints for new albums and their tracks, in the fewest calls.

A listing's first page tells its total, so the remaining offsets are fetched concurrently,
a bounded number of pages ahead (:mod:`.paging`) and in order, stopping at the real end
whatever the total claims; several-albums batches 20 ids and its embedded first 50 tracks
are kept; only long albums need further track pages, fetched the same way.
Development-mode apps lost new-releases and several-albums (403): they use search
``tag:new`` and Get Album.
The arithmetic a pull is measured against is in :mod:`.plan`.
"""

from __future__ import annotations

import itertools
from collections.abc import (
    AsyncGenerator,
    Callable,
    Coroutine,
    Iterable,
    Sequence,
)
from contextlib import aclosing
from typing import Any, Literal

from ..client.bodies import Page
from ..client.http import SpotifyClient
from ..core.errors import (
    EndpointUnavailableError,
    MalformedAnswerError,
    SettingsError,
    UnreadableItemsError,
)
from ..core.ids import validate_id
from ..core.types import JSONObject
from .paging import in_order

AccessMode = Literal["extended", "development"]

#: new-releases page size (Spotify's maximum).
LISTING_PAGE = 50
#: ids per several-albums call (Spotify's maximum).
ALBUMS_PER_BATCH = 20
#: ids per several-artists call (Spotify's maximum).
ARTISTS_PER_BATCH = 50
#: tracks per album-tracks page, and the size of the page embedded in an AlbumObject.
TRACKS_PAGE = 50
#: Search page sizes: development-mode apps may ask for at most 10 since February 2026.
SEARCH_PAGE_DEVELOPMENT = 10
SEARCH_PAGE_EXTENDED = 50
#: Get Artist's Albums page size: the 2026 spec allows 1..10 in both access modes.
ARTIST_ALBUMS_PAGE = 10
#: Search refuses offsets past 1000.
MAX_SEARCH_OFFSET = 1000
#: Page requests outstanding per listing or album, as a multiple of the client's concurrency.
PAGES_AHEAD_PER_CONCURRENCY = 2


def refused(
    field: str, endpoint: str, exc: EndpointUnavailableError, instead: str
) -> SettingsError:
    """The error of a setting that forces ``endpoint`` on an app that lost it (403)."""
    return SettingsError(
        field,
        f"{endpoint} is not available to this app ({{why}}); set {{{field}}} to {instead}",
        why=exc.message or 403,
    )


class SpotifyAPI:
    """The endpoints a pull uses, on top of a :class:`SpotifyClient`."""

    def __init__(self, client: SpotifyClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"<SpotifyAPI on {self.client!r}>"

    async def new_releases(self, market: str, start: int = 0) -> AsyncGenerator[Page, None]:
        """Pages of simplified albums Spotify lists as new in ``market``, in order (each
        page's ``items``, plus what it dropped: ``skipped``, ``invalid_ids``), from offset
        ``start``. Close the generator (``contextlib.aclosing``) when leaving it early: it
        owns the page requests still outstanding."""
        params: dict[str, str | int] = {"country": market, "limit": LISTING_PAGE}
        async for page in self._listing(
            "/browse/new-releases", params, "new-releases", start=start
        ):
            yield page

    async def search_new(
        self, market: str, page_size: int, start: int = 0
    ) -> AsyncGenerator[Page, None]:
        """Pages of albums search ``tag:new`` returns in ``market`` (``page_size`` <= 10
        for development-mode apps), from offset ``start``."""
        if not 1 <= page_size <= SEARCH_PAGE_EXTENDED:
            raise ValueError(f"search page size must be 1 to {SEARCH_PAGE_EXTENDED}: {page_size}")
        params: dict[str, str | int] = {
            "q": "tag:new",
            "type": "album",
            "market": market,
            "limit": page_size,
        }
        async for page in self._listing("/search", params, "search", MAX_SEARCH_OFFSET, start):
            yield page

    async def artist_albums(
        self, artist_id: str, market: str, groups: Sequence[str]
    ) -> AsyncGenerator[Page, None]:
        """Pages of Get Artist's Albums: the artist's albums in ``groups`` available in
        ``market``, every page up to the real end (Spotify documents no order for them)."""
        params: dict[str, str | int] = {
            "include_groups": ",".join(groups),
            "market": market,
            "limit": ARTIST_ALBUMS_PAGE,
        }
        path = f"/artists/{validate_id(artist_id)}/albums"
        async for page in self._listing(path, params, "artist-albums", items=None):
            yield page

    async def _listing(
        self,
        path: str,
        params: dict[str, str | int],
        endpoint: str,
        max_offset: int | None = None,
        start: int = 0,
        items: str | None = "albums",
    ) -> AsyncGenerator[Page, None]:
        """First page (at ``start``), then the remaining offsets a bounded number ahead, up
        to the real end; ``items`` names the key the page is under (None: the body is the
        page)."""

        async def page(offset: int) -> Page:
            body = await self.client.get_json(path, {**params, "offset": offset}, endpoint=endpoint)
            return Page.from_json(body, items)

        size = int(params["limit"])
        first = await page(start)
        yield first
        if _is_last(first):
            return
        end = first.total
        if max_offset is not None:
            end = max_offset if end is None else min(end, max_offset)
        async with aclosing(self._pages(page, _offsets(size, end, start + size))) as pages:
            async for following in pages:
                yield following

    async def several_albums(self, ids: Sequence[str], market: str) -> list[JSONObject | None]:
        """Full albums for up to 20 ids, in order; ``None`` where Spotify has no album."""
        if not 1 <= len(ids) <= ALBUMS_PER_BATCH:
            raise ValueError(f"several_albums takes 1 to {ALBUMS_PER_BATCH} ids, got {len(ids)}")
        joined = ",".join(validate_id(album_id) for album_id in ids)
        body = await self.client.get_json(
            "/albums", {"ids": joined, "market": market}, endpoint="several-albums"
        )
        albums = body.get("albums") if isinstance(body, dict) else None
        if not isinstance(albums, list):
            raise MalformedAnswerError("several-albums answer has no 'albums' list")
        by_id = {a["id"]: a for a in albums if isinstance(a, dict) and isinstance(a.get("id"), str)}
        return [by_id.get(album_id) for album_id in ids]

    async def album(self, album_id: str, market: str) -> JSONObject:
        """Get Album: the full album with its first 50 tracks embedded."""
        path = f"/albums/{validate_id(album_id)}"
        body = await self.client.get_json(path, {"market": market}, endpoint="album")
        if not isinstance(body, dict) or body.get("id") != album_id:
            raise MalformedAnswerError(f"Get Album answer is not album {album_id}")
        return body

    async def several_artists(self, ids: Sequence[str]) -> list[JSONObject | None]:
        """Full artists for up to 50 ids, in order; ``None`` where Spotify has no artist."""
        if not 1 <= len(ids) <= ARTISTS_PER_BATCH:
            raise ValueError(f"several_artists takes 1 to {ARTISTS_PER_BATCH} ids, got {len(ids)}")
        joined = ",".join(validate_id(artist_id) for artist_id in ids)
        body = await self.client.get_json("/artists", {"ids": joined}, endpoint="several-artists")
        artists = body.get("artists") if isinstance(body, dict) else None
        if not isinstance(artists, list):
            raise MalformedAnswerError("several-artists answer has no 'artists' list")
        by_id = {
            a["id"]: a for a in artists if isinstance(a, dict) and isinstance(a.get("id"), str)
        }
        return [by_id.get(artist_id) for artist_id in ids]

    async def artist(self, artist_id: str) -> JSONObject:
        """Get Artist: one full artist (development-mode apps get no followers, popularity)."""
        path = f"/artists/{validate_id(artist_id)}"
        body = await self.client.get_json(path, {}, endpoint="artist")
        if not isinstance(body, dict) or body.get("id") != artist_id:
            raise MalformedAnswerError(f"Get Artist answer is not artist {artist_id}")
        return body

    async def complete_tracks(self, album: JSONObject, market: str) -> list[JSONObject]:
        """Every track of a full album: its embedded page plus the remaining pages, in order.
        Raises :class:`UnreadableItemsError` if any page held a ``null`` item or an item
        without a valid id: an album is whole or fails, never written in part."""
        album_id = validate_id(album.get("id"))
        embedded = album.get("tracks")
        if not isinstance(embedded, dict):
            return await self.album_tracks(album_id, market)
        page = Page.from_json(embedded)
        start = page.offset + (page.limit or len(page.items) + page.skipped)
        return _every_track(album_id, await self._track_pages(album_id, market, start, page))

    async def album_tracks(self, album_id: str, market: str) -> list[JSONObject]:
        """Every track of an album through Get Album Tracks only (whole, as above)."""
        album_id = validate_id(album_id)
        first = await self._tracks_page(album_id, market, 0)
        return _every_track(album_id, await self._track_pages(album_id, market, TRACKS_PAGE, first))

    async def _track_pages(self, album_id: str, market: str, start: int, first: Page) -> list[Page]:
        """``first`` and every following page of an album's tracks."""
        if _is_last(first):
            return [first]

        def page(offset: int) -> Coroutine[Any, Any, Page]:
            return self._tracks_page(album_id, market, offset)

        async with aclosing(self._pages(page, _offsets(TRACKS_PAGE, first.total, start))) as pages:
            return [first, *[following async for following in pages]]

    def _pages(
        self, fetch: Callable[[int], Coroutine[Any, Any, Page]], offsets: Iterable[int]
    ) -> AsyncGenerator[Page, None]:
        window = PAGES_AHEAD_PER_CONCURRENCY * self.client.settings.concurrency
        return in_order(fetch, offsets, window, _is_last)

    async def _tracks_page(self, album_id: str, market: str, offset: int) -> Page:
        params: dict[str, str | int] = {"market": market, "limit": TRACKS_PAGE, "offset": offset}
        body = await self.client.get_json(
            f"/albums/{album_id}/tracks", params, endpoint="album-tracks"
        )
        return Page.from_json(body)


def _every_track(album_id: str, pages: Sequence[Page]) -> list[JSONObject]:
    """The tracks of every page, or :class:`UnreadableItemsError` if a page dropped any."""
    unreadable = sum(page.skipped for page in pages)
    if unreadable:
        read = sum(len(page.items) for page in pages)
        raise UnreadableItemsError(
            f"album {album_id}: {unreadable} of {read + unreadable} track items are null or"
            " have no valid id; the album is not written without them"
        )
    return [track for page in pages for track in page.items]


def _is_last(page: Page) -> bool:
    """The real end of a listing, whatever its ``total`` claims: no ``next``, or no items
    at all (a short page with a ``next`` is not the end: nulls and dropped items happen)."""
    return page.next is None or not (page.items or page.skipped)


def _offsets(size: int, end: int | None, start: int | None = None) -> Iterable[int]:
    """Offsets from ``start`` (one page in) below ``end``; unbounded if no total is known."""
    first = size if start is None else start
    return itertools.count(first, size) if end is None else range(first, end, size)
