"""The pull engine: discovery, dedupe, batching, expansion and artists under one TaskGroup.

    producers (one per market, or the --ids list) -> dedupe -> batcher -> N expanders -> you
                                    artists credited -> artist batcher -> N artist workers -> you

With ``--source artists`` the producers are workers that each list the next watched artist.

Every channel (:mod:`.channels`) is bounded and closes once each of its senders closed its
end, so memory stays flat beyond the ids seen, and the first albums come out while
listings are still paging.
A listed id that is not a Spotify id goes through dedupe like any album (once across
markets, skipped when done), then straight out as a failure at stage "listing".
Each expanded album hands its credited artists to the artists stage, which requests an
artist as soon as a batch of new ones is full (see :mod:`.artists`), unless ``off``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ..client.http import ClientStats, SpotifyClient
from ..core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidIdError,
    ResumableStop,
    SpotifyETLError,
)
from ..core.ids import is_spotify_id
from ..core.settings import Credentials, PullSettings
from ..core.types import JSONObject
from .access import Access
from .artists import ArtistFetcher, credited_artists
from .channels import Channel, Sender
from .dedupe import Candidate, Dedupe, Sighting
from .endpoints import SpotifyAPI
from .expansion import Expander
from .ids_file import IdsInput, input_of
from .known import NOTHING_KNOWN, Known
from .listing import Lister, artist_key
from .outcomes import (
    AlbumFailure,
    AlbumResult,
    ArtistFailure,
    Outcome,
    PullStats,
    failure,
)
from .stopping import Stop

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Relisted:
    """Artists a listing credits, fetched again although an earlier run has them."""

    ids: tuple[str, ...]


#: Per market: the album ids listed so far and the offset its listing goes on from (None
#: once read to its end).
ListingSoFar = dict[str, tuple[list[str], int | None]]


class Pull:
    """One pull as an async context manager that owns its client and its tasks.

    ``async with Pull(settings, credentials) as pull: async for album, tracks in
    pull.albums(): ...``. ``skip`` holds album ids an earlier run already committed,
    ``skip_artists`` the artists it committed, and ``artists_due`` the artists it credited
    but had not fetched yet (the artists stage starts with those).
    """

    def __init__(
        self,
        settings: PullSettings,
        credentials: Credentials,
        *,
        skip: Collection[str] = frozenset(),
        skip_artists: Collection[str] = frozenset(),
        artists_due: Collection[str] = (),
        ids: IdsInput | None = None,
        client: SpotifyClient | None = None,
        known: Known = NOTHING_KNOWN,
        on_listed: Callable[[Mapping[str, list[str]], str | None], None] | None = None,
        on_listing_stopped: Callable[[ListingSoFar, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._skip = skip
        self._skip_artists = skip_artists
        self._artists_due = artists_due
        self._known = known
        self._on_listed = on_listed
        self._on_listing_stopped = on_listing_stopped
        self._ids = ids
        self._own_client = client is None
        self.client = client or SpotifyClient(credentials, settings.client)
        self.api = SpotifyAPI(self.client)
        source, expand = _initial_plan(settings)
        self.stats = PullStats(source or "auto", expand or "auto")
        access = Access(self.client.memory)  # what earlier runs' probes found
        self.stats.remembered = access.used
        self._lister = Lister(self.api, source, self.stats, access)
        #: A resumable stop lets every stage end with what it finished (see .stopping).
        self._stop = Stop()
        self._expander = Expander(
            self.api, settings.markets[0], expand, self.stats, self._stop, access
        )
        artists = None if settings.artists == "auto" else settings.artists
        self.stats.artists = settings.artists
        self._artists = ArtistFetcher(self.api, artists, self.stats, self._stop, access)
        #: Whether the artists stage runs (``auto`` may still turn it off on the way).
        self._with_artists = settings.artists != "off"
        self.failures: list[AlbumFailure] = []
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        size = max(4, settings.client.concurrency * 2)
        self._results: Channel[Outcome] = Channel(size)
        self._credits: Channel[tuple[str, ...] | _Relisted] = Channel(size)
        self._artist_batches: Channel[list[str]] = Channel(settings.client.concurrency)
        self._state = "new"

    def __repr__(self) -> str:
        s = self.stats
        plan = f"{s.source}->{s.expand}, artists {s.artists}"
        return f"<Pull {self._state} {plan} found={s.found} expanded={len(s.expanded)}>"

    @property
    def client_stats(self) -> ClientStats:
        """Requests, retries, 429s, waits and token refreshes so far."""
        return self.client.stats

    async def __aenter__(self) -> Pull:
        if self._state != "new":
            raise RuntimeError("a Pull runs once")
        if self._lister.source in ("ids", "artists") and self._ids is None:
            source = self._lister.source
            self._ids = await asyncio.to_thread(input_of, source, self.settings.ids_file)
            assert self._ids is not None
        if self._ids is not None:
            self.stats.junk_id_lines = len(self._ids.junk)
        if self._with_artists:
            self._artists.decide_early()  # a remembered development mode settles it now
        if self._own_client:
            await self.client.__aenter__()
        self._state = "running"
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._start(self._group)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group, self._group = self._group, None
        self._state = "closed"
        try:
            if group is not None:
                for task in self._tasks:  # done already unless the consumer left early
                    task.cancel()
                try:
                    await group.__aexit__(exc_type, exc, tb)
                except BaseExceptionGroup as errors:
                    raise _primary(errors) from None
        finally:
            if self._own_client:
                await self.client.aclose()

    async def aclose(self) -> None:
        """Stop every stage and close the client; safe to call twice."""
        if self._state == "running":
            await self.__aexit__(None, None, None)

    def _start(self, group: asyncio.TaskGroup) -> None:
        size = max(4, self.settings.client.concurrency * 2)
        workers = self.settings.client.concurrency
        sightings: Channel[Sighting] = Channel(size * 4)
        candidates: Channel[Candidate] = Channel(size * 4)
        batches: Channel[list[Candidate]] = Channel(size)
        with_artists = self._with_artists
        stages = [
            *self._producers(sightings),
            self._dedupe(
                sightings,
                candidates.sender(),
                self._results.sender(),
                self._credits.sender() if with_artists else None,
            ),
            self._batcher(candidates, batches.sender()),
            *(
                self._expand(
                    batches,
                    self._results.sender(),
                    self._credits.sender() if with_artists else None,
                )
                for _ in range(workers)
            ),
        ]
        if with_artists:
            stages += [
                self._artist_batcher(self._credits, self._artist_batches.sender()),
                *(
                    self._fetch_artists(self._artist_batches, self._results.sender())
                    for _ in range(workers)
                ),
            ]
        self._tasks = [group.create_task(stage) for stage in stages]

    async def results(self) -> AsyncIterator[Outcome]:
        """Every album's outcome, as soon as it is expanded."""
        if self._state == "new":
            raise RuntimeError("use 'async with Pull(...)' first")
        async for item in self._results:
            yield item
        # every stage handed on what it finished; a stop, or albums still due, end it
        if (stop := self._stop.outcome) is not None:
            raise stop

    async def albums(self) -> AsyncIterator[tuple[JSONObject, list[JSONObject]]]:
        """Each album with its tracks; failures are collected in :attr:`failures`."""
        async for outcome in self.results():
            if isinstance(outcome, AlbumResult):
                yield outcome.album, outcome.tracks
            elif isinstance(outcome, AlbumFailure):
                self.failures.append(outcome)

    def _producers(self, out: Channel[Sighting]) -> list[Coroutine[Any, Any, None]]:
        if self._lister.source == "ids":
            return [self._list_ids(out.sender())]
        if self._lister.source == "artists":
            return self._watch(out)
        if self._known.listing is not None:
            return [self._replay(i, m, out.sender()) for i, m in enumerate(self.settings.markets)]
        return [self._discover(i, m, out.sender()) for i, m in enumerate(self.settings.markets)]

    async def _replay(self, index: int, market: str, out: Sender[Sighting]) -> None:
        assert self._known.listing is not None
        async with out:
            ids, source = self._known.listing.get(market, ()), self._known.listing_source
            start = self._known.listing_next.get(market)
            if start is None:
                await self._lister.replay(index, market, ids, source, out)
            else:
                await self._stop.guard(self._lister.resume(index, market, ids, source, start, out))

    def _watch(self, out: Channel[Sighting]) -> list[Coroutine[Any, Any, None]]:
        """Workers that list the watched artists, each taking the next one (an earlier
        attempt's recorded listing is replayed instead, without a request; an artist a
        stop left unread, or read in part, is listed anew: its pages have no order to go
        on from)."""
        assert self._ids is not None
        artists = iter(enumerate(dict.fromkeys(self._ids.ids)))
        recorded = self._known.listing
        settings = self.settings
        since = settings.since_date()

        async def work(sender: Sender[Sighting]) -> None:
            async with sender:
                for index, artist_id in artists:
                    if self._stop.error is not None:
                        return  # stopped resumably: the rest is for the resume
                    key = artist_key(artist_id)
                    if recorded is not None and key not in self._known.listing_next:
                        ids = recorded.get(key, ())
                        await self._lister.replay(index, "", ids, "artists", sender, 0)
                        continue
                    market, groups = settings.markets[0], settings.include_groups
                    listing = self._lister.artist(index, artist_id, market, groups, since, sender)
                    await self._stop.guard(listing)

        workers = max(1, min(settings.client.concurrency, len(self._ids.ids)))
        return [work(out.sender()) for _ in range(workers)]

    async def _list_ids(self, out: Sender[Sighting]) -> None:
        assert self._ids is not None
        async with out:
            await self._lister.ids(self._ids, out)

    async def _discover(self, index: int, market: str, out: Sender[Sighting]) -> None:
        async with out:
            await self._stop.guard(self._lister.market(index, market, out))

    async def _dedupe(
        self,
        sightings: Channel[Sighting],
        out: Sender[Candidate],
        results: Sender[Outcome],
        credits: Sender[tuple[str, ...] | _Relisted] | None,
    ) -> None:
        dedupe = Dedupe(
            self.settings.markets,
            done=set(self._skip) | self._known.albums if self._known.albums else self._skip,
            max_albums=self.settings.max_albums,
            by_market=self._lister.source != "ids",
            keep_albums=self._expander.mode == "tracks",  # its album line is the listing's
            ranked=self._lister.source == "artists",
        )
        async with out, results:
            async with credits or nullcontext():
                async for item in sightings:
                    if self._known.refresh_listed_artists and credits is not None and item.album:
                        await credits(_Relisted(tuple(credited_artists(item.album, ()))))
                    for candidate in dedupe.see(item):
                        await self._admit(candidate, out, results)
                    self.stats.found, self.stats.skipped_done = dedupe.found, dedupe.skipped_done
            stopped = self._stop.error is not None  # a listing may have stopped short
            source = self._lister.source
            paged = source in ("new-releases", "search")  # market listings, read page by page
            so_far = self._listing_so_far() if paged else {}
            if source not in (None, "ids") and not stopped and self._on_listed is not None:
                listed = {m: ids for m, (ids, _) in so_far.items()} if paged else self.stats.listed
                self._on_listed(listed, source)  # each read to its end
            elif paged and stopped and self._on_listing_stopped is not None and source:
                self._on_listing_stopped(so_far, source)
            for candidate in dedupe.finish():
                await self._admit(candidate, out, results)
            self.stats.found, self.stats.skipped_done = dedupe.found, dedupe.skipped_done

    def _listing_so_far(self) -> ListingSoFar:
        """Each market's listed ids, what an earlier attempt recorded first, and the offset
        its listing goes on from (None: read to its end)."""
        known, stats = self._known, self.stats
        so_far: ListingSoFar = {}
        if self._lister.source == "artists":
            return self._watched_so_far()
        for market in self.settings.markets:
            replayed = list(known.listing.get(market, ())) if known.listing is not None else []
            listed = stats.listed.get(market, [])
            if market in stats.listing_next:  # listed this run, stopped short
                start, count = stats.listing_next[market]
                so_far[market] = ([*replayed, *listed[:count]], start)
            elif market in stats.reach:  # listed this run to its end
                so_far[market] = ([*replayed, *listed], None)
            elif known.listing is not None:  # replayed only
                so_far[market] = (replayed, known.listing_next.get(market))
            else:  # never started
                so_far[market] = ([], 0)
        return so_far

    def _watched_so_far(self) -> ListingSoFar:
        """Each watched artist's listing as :meth:`_listing_so_far` says a market's: read
        to its end (this run, or replayed), or to be listed anew (offset 0, nothing kept)."""
        assert self._ids is not None
        known, stats = self._known, self.stats
        so_far: ListingSoFar = {}
        for artist_id in dict.fromkeys(self._ids.ids):
            key = artist_key(artist_id)
            if key in stats.reach:  # listed this run to its end
                so_far[key] = (stats.listed.get(key, []), None)
            elif known.listing is not None and key not in known.listing_next:  # replayed
                so_far[key] = (list(known.listing.get(key, ())), None)
            else:  # never started, or stopped in the middle of its pages
                so_far[key] = ([], 0)
        return so_far

    async def _admit(
        self, candidate: Candidate, out: Sender[Candidate], results: Sender[Outcome]
    ) -> None:
        """Pass an album on to expansion, or report a listed id that is not a Spotify id
        (deduplicated and skipped on resume like any album, and never requested)."""
        if is_spotify_id(candidate.album_id):
            await out(candidate)
            return
        invalid = InvalidIdError(
            "the listing showed an id that is not a Spotify id (22 base62 characters);"
            " it was not requested"
        )
        self.stats.failed += 1
        await results(failure(candidate.album_id, "listing", invalid))

    async def _batcher(self, candidates: Channel[Candidate], out: Sender[list[Candidate]]) -> None:
        async with out:
            batch: list[Candidate] = []
            async for item in candidates:
                batch.append(item)
                if len(batch) >= self._expander.batch_size:
                    await out(batch)
                    batch = []
            if batch:
                await out(batch)

    async def _expand(
        self,
        batches: Channel[list[Candidate]],
        results: Sender[Outcome],
        credits: Sender[tuple[str, ...] | _Relisted] | None,
    ) -> None:
        async with results, credits or nullcontext():
            async for batch in batches:
                if credits is not None:  # settled before any album is out, by what the run met
                    self._artists.decide_early()
                outcomes = await self._expander.expand(batch)
                if credits is not None:
                    self._artists.decide_early()
                for outcome in outcomes:
                    if isinstance(outcome, AlbumFailure):
                        self.stats.failed += 1
                    await results(outcome)
                    if isinstance(outcome, AlbumResult) and credits is not None:
                        await credits(outcome.artists)

    async def _artist_batcher(
        self, credits: Channel[tuple[str, ...] | _Relisted], out: Sender[list[str]]
    ) -> None:
        """Every credited artist once: none this pull committed before a resume, none the
        dataset holds unless its listing credits it again, in full batches."""
        seen = set(self._skip_artists)
        known = self._known.artists
        batch: list[str] = []

        async def admit(artist_ids: Collection[str], again: bool = False) -> None:
            nonlocal batch
            if self._artists.mode == "off":
                return
            for artist_id in artist_ids:
                if artist_id in seen or (artist_id in known and not again):
                    continue
                seen.add(artist_id)
                self._artists.credited += 1
                self._artists.decide_early()
                if self._artists.mode == "off":
                    return
                batch.append(artist_id)
                if len(batch) >= self._artists.batch_size:
                    await out(batch)
                    batch = []

        async with out:
            await admit(self._artists_due)
            async for item in credits:
                if isinstance(item, _Relisted):
                    await admit(item.ids, again=True)
                else:
                    await admit(item)
            if batch and self._artists.mode != "off":
                await out(batch)

    async def _fetch_artists(self, batches: Channel[list[str]], results: Sender[Outcome]) -> None:
        async with results:
            async for batch in batches:
                for outcome in await self._artists.fetch(batch):
                    if isinstance(outcome, ArtistFailure):
                        self.stats.artists_failed += 1
                    await results(outcome)


def _initial_plan(settings: PullSettings) -> tuple[str | None, str | None]:
    """The plan the settings fix before any call: None where ``auto`` lets the API decide."""
    source: str | None = None if settings.source == "auto" else settings.source
    if settings.source == "auto" and settings.ids_file is not None:
        source = "ids"
    expand: str | None = None if settings.expand == "auto" else settings.expand
    return source, expand  # PullSettings refused every combination no pull can run


def _primary(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error that explains a failed TaskGroup best (auth, then usage, then stop)."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for kind in (AuthenticationError, ConfigurationError, ResumableStop, SpotifyETLError):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0] if leaves else group
