"""Discovery: the pages of each market's listing become sightings of album ids.

A listed object whose ``id`` is not a Spotify id becomes a sighting too, of that id made
safe (:func:`.ids.shown_id`): it is deduplicated and resumed like any album, and the
pipeline reports it in errors.ndjson without ever requesting it.

With ``--source auto`` the first market's first call decides for every market (the other
producers wait for it); a 403 from new-releases (development mode) switches, once, to
search ``tag:new``. What earlier runs found (:mod:`.access`) decides without that call:
a remembered 403 lists through search at once, a remembered 200 lets every market start
together (a 403 then still falls back, and corrects the memory).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing

from ..core.errors import EndpointUnavailableError, NotFoundError, SettingsError
from .access import Access
from .dedupe import Sighting
from .endpoints import SEARCH_PAGE_DEVELOPMENT, SpotifyAPI, refused
from .ids_file import IdsInput
from .outcomes import PullStats

log = logging.getLogger(__name__)

Emit = Callable[[Sighting], Awaitable[None]]


class Lister:
    """Lists albums for the discovery producers of one pull."""

    def __init__(
        self, api: SpotifyAPI, forced: str | None, stats: PullStats, access: Access | None = None
    ) -> None:
        self.api = api
        self.source: str | None = forced  # None until the first listing call decides
        self.stats = stats
        self._forced = forced is not None
        self._access = access or Access(None)
        self._known = asyncio.Event()
        self._assumed = False  # new-releases remembered as allowed: no market waits
        if forced is None:
            allowed = self._access.allowed("new-releases")
            if allowed is False:
                self._decide("search")
                log.info("new-releases answered 403 in an earlier run: listing through search")
            self._assumed = allowed is True

    async def ids(self, ids: IdsInput, emit: Emit) -> None:
        """The ``--ids`` albums, in file order."""
        for position, album_id in enumerate(ids.ids):
            await emit(Sighting(album_id, None, (0, position)))

    async def replay(
        self, index: int, market: str, ids: Sequence[str], source: str, emit: Emit
    ) -> None:
        """A listing an earlier attempt of this run read and recorded, without a request."""
        self._decide(source)
        for position, album_id in enumerate(ids):
            await emit(Sighting(album_id, index, (index, position)))

    async def market(self, index: int, market: str, emit: Emit) -> None:
        """Every album ``market``'s listing shows, in listing order."""
        if self.source is None and index > 0 and not self._assumed:
            await self._known.wait()
        try:
            if self.source in (None, "new-releases"):
                try:
                    await self._list(index, market, "new-releases", emit)
                except EndpointUnavailableError as exc:
                    self._unavailable(exc)
            if self.source == "search":
                await self._list(index, market, "search", emit)
        except NotFoundError as exc:  # a listing never 404s: the base URL is not the Web API
            raise SettingsError(
                "api_url",
                "{api_url} is not the Web API's base URL: {url} answered HTTP 404 (Spotify's is https://api.spotify.com/v1)",
                url=exc.url,
            ) from None

    def _unavailable(self, exc: EndpointUnavailableError) -> None:
        if self.source == "search" and not self._forced:  # another market's 403 decided
            self.stats.probes["new-releases"] += 1
            return
        if self._forced or self.source is not None:
            raise refused("source", "new-releases", exc, "auto, search or ids") from None
        self.stats.probes["new-releases"] = 1
        self._access.found("new-releases", False)
        self._decide("search")
        log.warning(
            "new-releases answered 403: this app is in development mode (Spotify removed"
            " the endpoint for such apps in March 2026); discovering through search"
            " tag:new instead, which covers releases of the last two weeks, not the"
            " editorial new-releases list"
        )

    def _decide(self, source: str) -> None:
        if self.source is None:
            self.source = self.stats.source = source
            if source == "new-releases" and not self._forced:
                self._access.found("new-releases", True)
        self._known.set()

    async def _list(self, index: int, market: str, source: str, emit: Emit) -> None:
        """Emit every album of the listing, and every listed id that is not a Spotify id
        (the pipeline reports those instead of expanding them); count the null or id-less
        items, which carry nothing to report."""
        pages = (
            self.api.new_releases(market)
            if source == "new-releases"
            else self.api.search_new(market, SEARCH_PAGE_DEVELOPMENT)
        )
        listed = self.stats.listed.setdefault(market, [])
        position = skipped = 0
        async with aclosing(pages):  # a failed emit cancels the page requests still out
            async for page in pages:
                self._decide(source)
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
        if skipped:
            log.warning(
                "%s %s: skipped %d listed items that were null or had no id",
                source,
                market,
                skipped,
            )
        if position == 0:  # no error, and nothing: a market the listing does not serve
            log.warning("%s %s: the listing is empty; no album is pulled for it", source, market)
