"""Discovery: the pages of each market's listing become sightings of album ids.

A listed object whose ``id`` is not a Spotify id becomes a sighting too, of that id made
safe (:func:`.ids.shown_id`): it is deduplicated and resumed like any album, and the
pipeline reports it in errors.ndjson without ever requesting it.

With ``--source auto`` new-releases is chosen against search ``tag:new`` by the one
endpoint choice of :mod:`.access`: the first market's first call decides for every market
(the other producers wait for it), a 403 (development mode) switches, once, to search, and
what earlier runs found decides without that call.

With ``--source artists`` each watched artist's listing is Get Artist's Albums, paged to
its end: Spotify documents no order for its items, so none is relied on (no early stop on
dates); the releases dated on or after ``since`` are kept, in the order the API gave them.
Each artist's listing is keyed by the artist's URI (:func:`artist_key`) where the other
sources key by market, so a dataset's events say what each watched artist released.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any

from ..core.errors import EndpointUnavailableError, NotFoundError, SettingsError
from .access import Access, Choice
from .dedupe import Sighting
from .endpoints import (
    LISTING_PAGE,
    MAX_SEARCH_OFFSET,
    SEARCH_PAGE_DEVELOPMENT,
    SpotifyAPI,
    refused,
)
from .ids_file import IdsInput
from .outcomes import PullStats

log = logging.getLogger(__name__)

Emit = Callable[[Sighting], Awaitable[None]]
#: Listings whose paging stops short of what they may report: the most items a query reaches.
PAGING_CAPS = {"search": MAX_SEARCH_OFFSET}


class Lister:
    """Lists albums for the discovery producers of one pull."""

    def __init__(
        self, api: SpotifyAPI, forced: str | None, stats: PullStats, access: Access | None = None
    ) -> None:
        self.api = api
        self.source: str | None = forced  # None until the first listing call decides
        self.stats = stats
        self._access = access or Access(None)
        self._choice = new_releases_choice(self._access, stats.probes, forced, self._fell_back)
        if forced is None and self._choice.allowed is False:
            self._decide("search")
            log.info("new-releases answered 403 in an earlier run: listing through search")

    async def ids(self, ids: IdsInput, emit: Emit) -> None:
        """The ``--ids`` albums, in file order."""
        for position, album_id in enumerate(ids.ids):
            await emit(Sighting(album_id, None, (0, position)))

    async def artist(
        self,
        index: int,
        artist_id: str,
        market: str,
        groups: Sequence[str],
        since: dt.date,
        emit: Emit,
    ) -> None:
        """The releases of ``artist_id`` dated on or after ``since``, as one listing keyed
        :func:`artist_key`; every page is read, whatever order the API gives."""
        self._decide("artists")
        key = artist_key(artist_id)
        listed = self.stats.listed.setdefault(key, [])
        position = reached = undated = 0
        total: int | None = None
        pages = self.api.artist_albums(artist_id, market, groups)
        try:
            async with aclosing(pages):
                async for page in pages:
                    total = page.total if total is None else total
                    reached += len(page.items) + page.skipped
                    self.stats.skipped_items += page.skipped
                    for item in page.items:
                        day = release_day(item)
                        if day is None:
                            undated += 1
                        if day is None or day < since:
                            continue
                        await emit(Sighting(item["id"], 0, (index, position), item))
                        listed.append(item["id"])
                        position += 1
        except NotFoundError:
            log.warning("artist %s: Spotify has no such artist; nothing listed for it", artist_id)
            total = 0
        self.stats.reach[key] = note_reach(key, "artists", total, reached, warn=False)
        if undated:
            log.warning(
                "artist %s: %d releases have no readable release_date; not kept",
                artist_id,
                undated,
            )

    async def replay(
        self,
        index: int,
        market: str,
        ids: Sequence[str],
        source: str,
        emit: Emit,
        market_index: int | None = None,
    ) -> None:
        """A listing an earlier attempt of this run read and recorded, without a request
        (``market_index``: the market it counts for, when not ``index``)."""
        self._decide(source)
        seen = index if market_index is None else market_index
        for position, album_id in enumerate(ids):
            await emit(Sighting(album_id, seen, (index, position)))

    async def resume(
        self, index: int, market: str, ids: Sequence[str], source: str, start: int, emit: Emit
    ) -> None:
        """A listing an earlier attempt of this run stopped short in: what it recorded,
        then its pages from offset ``start`` on (listing pages fetched are progress)."""
        await self.replay(index, market, ids, source, emit)
        await self._list(index, market, source, emit, start=start, position=len(ids))

    async def market(self, index: int, market: str, emit: Emit) -> None:
        """Every album ``market``'s listing shows, in listing order."""
        try:
            if self.source in (None, "new-releases") and await self._choice.use():
                try:
                    await self._list(index, market, "new-releases", emit)
                    return
                except EndpointUnavailableError as exc:
                    self._choice.refused(exc)
                finally:
                    self._choice.undecided()  # a failure that is not a 403 decides nothing
            await self._list(index, market, "search", emit)
        except NotFoundError as exc:  # a listing never 404s: the base URL is not the Web API
            raise SettingsError(
                "api_url",
                "{api_url} is not the Web API's base URL: {url} answered HTTP 404 (Spotify's is https://api.spotify.com/v1)",
                url=exc.url,
            ) from None

    def _fell_back(self) -> None:
        self._decide("search", force=True)
        self._access.tell(
            "new-releases",
            "new-releases answered 403: this app is in development mode (Spotify removed"
            " the endpoint for such apps in March 2026); discovering through search"
            " tag:new instead, which covers releases of the last two weeks, not the"
            " editorial new-releases list",
        )

    def _decide(self, source: str, force: bool = False) -> None:
        if self.source is None or force:
            self.source = self.stats.source = source

    async def _list(
        self, index: int, market: str, source: str, emit: Emit, start: int = 0, position: int = 0
    ) -> None:
        """Emit every album of the listing from offset ``start``, and every listed id that
        is not a Spotify id (the pipeline reports those instead of expanding them); count
        the null or id-less items, which carry nothing to report. ``stats.listing_next``
        says, page by page, where a stop would leave it."""
        size = LISTING_PAGE if source == "new-releases" else SEARCH_PAGE_DEVELOPMENT
        pages = (
            self.api.new_releases(market, start)
            if source == "new-releases"
            else self.api.search_new(market, SEARCH_PAGE_DEVELOPMENT, start)
        )
        listed = self.stats.listed.setdefault(market, [])
        self.stats.listing_next[market] = (start, len(listed))
        skipped = 0
        total: int | None = None
        async with aclosing(pages):  # a failed emit cancels the page requests still out
            async for page in pages:
                if source == "new-releases":
                    self._choice.worked()
                self._decide(source)
                total = page.total if total is None else total
                for item in page.items:
                    await emit(Sighting(item["id"], index, (index, position), item))
                    listed.append(item["id"])
                    position += 1
                for shown in page.invalid_ids:
                    await emit(Sighting(shown, index, (index, position)))
                    position += 1
                dropped = page.skipped - len(page.invalid_ids)
                skipped += dropped
                self.stats.skipped_items += dropped
                start += size
                self.stats.listing_next[market] = (start, len(listed))
        del self.stats.listing_next[market]
        self.stats.reach[market] = note_reach(market, source, total, position + skipped)
        if skipped:
            log.warning(
                "%s %s: skipped %d listed items that were null or had no id",
                source,
                market,
                skipped,
            )
        if position == 0:  # no error, and nothing: a market the listing does not serve
            log.warning("%s %s: the listing is empty; no album is pulled for it", source, market)


def artist_key(artist_id: str) -> str:
    """The key of an artist's listing where other listings name a market: its URI."""
    return f"spotify:artist:{artist_id}"


def release_day(album: Mapping[str, Any]) -> dt.date | None:
    """An album's ``release_date`` as a date, a partial one (``2026``, ``2026-11``, as
    ``release_date_precision`` says) as the first day of its year or month; None if the
    date cannot be read."""
    text = album.get("release_date")
    if not isinstance(text, str):
        return None
    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts[:3]] + [1] * (3 - min(3, len(parts)))
        return dt.date(numbers[0], numbers[1], numbers[2])
    except ValueError:
        return None


def note_reach(
    market: str, source: str, total: int | None, reached: int, warn: bool = True
) -> dict[str, Any]:
    """What ``market``'s listing reports (``total``) and what its paging reached, warning
    once when the total is more than the API lets a query page to (search: offset 1,000)."""
    said = unreached_text(market, source, total, reached)
    if said and warn:
        log.warning("%s (the pull has those; the others cannot be listed this way)", said)
    return {"source": source, "total": total, "reached": reached}


def unreached_text(market: str, source: str, total: int | None, reached: int) -> str | None:
    """The warning of a listing whose total is more than its paging can reach, or None."""
    cap = PAGING_CAPS.get(source)
    if cap is None or total is None or total <= cap:
        return None
    return (
        f"{market}: {source} reports {total:,} new albums; the API lets a query reach"
        f" {min(reached, cap):,}"
    )


def new_releases_choice(
    access: Access,
    probes: dict[str, int],
    forced: str | None,
    fallback: Callable[[], None] | None = None,
) -> Choice:
    """Listing's choice of new-releases against search ``tag:new`` (``--source``)."""
    return Choice(
        "new-releases",
        access,
        probes,
        forced=None if forced is None else forced == "new-releases",
        error=lambda exc: refused("source", "new-releases", exc, "auto, search or ids"),
        fallback=fallback,
    )
