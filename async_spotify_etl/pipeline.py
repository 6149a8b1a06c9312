"""The pull engine: discovery, dedupe, batching and expansion under one TaskGroup.

    producers (one per market, or the --ids list) -> dedupe -> batcher -> N expanders -> you

Every queue is bounded and every stage puts its own end-of-stream marker, so memory stays
flat beyond the ids seen, and the first albums come out while listings are still paging.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal

from .client import ClientStats, SpotifyClient
from .discovery import Candidate, Dedupe, IdsInput, Sighting, album_id_of, load_ids
from .errors import (
    AuthenticationError,
    ConfigurationError,
    EndpointUnavailableError,
    HTTPStatusError,
    ResumableStop,
    SpotifyETLError,
    TransportError,
    UnsafeRequestError,
)
from .planner import ALBUMS_PER_BATCH, SEARCH_PAGE_DEVELOPMENT, SpotifyAPI
from .settings import Credentials, PullSettings

__all__ = ["AlbumFailure", "AlbumResult", "Outcome", "Pull", "PullStats"]

log = logging.getLogger(__name__)

JSONObject = dict[str, Any]
Source = Literal["new-releases", "search", "ids"]
Expand = Literal["several", "album", "tracks"]
#: Errors that fail one album (or one batch) for good; anything else stops the pull.
ALBUM_ERRORS = (HTTPStatusError, TransportError, UnsafeRequestError)


class _End:
    """End-of-stream marker: each stage puts its own."""


END: Final = _End()


@dataclass(frozen=True)
class AlbumResult:
    """One album ready to write: the album line (with ``_etl``) and its track lines."""

    album_id: str
    album: JSONObject
    tracks: list[JSONObject]


@dataclass(frozen=True)
class AlbumFailure:
    """An album that failed for good, as its errors.ndjson record."""

    album_id: str
    record: JSONObject


Outcome = AlbumResult | AlbumFailure


@dataclass
class PullStats:
    """What the engine saw: the plan it chose, listings, albums found, expanded, failed."""

    source: str
    expand: str
    listed: dict[str, list[str]] = field(default_factory=dict)
    expanded: dict[str, int] = field(default_factory=dict)
    found: int = 0
    skipped_done: int = 0
    failed: int = 0
    junk_id_lines: int = 0
    probes: dict[str, int] = field(default_factory=dict)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Pull:
    """One pull as an async context manager that owns its client and its tasks.

    ``async with Pull(settings, credentials) as pull: async for album, tracks in
    pull.albums(): ...``. ``skip`` holds album ids an earlier run already committed.
    """

    def __init__(
        self,
        settings: PullSettings,
        credentials: Credentials,
        *,
        skip: Collection[str] = frozenset(),
        ids: IdsInput | None = None,
        client: SpotifyClient | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._skip = skip
        self._ids = ids
        self._own_client = client is None
        self.client = client or SpotifyClient(credentials, settings.client)
        self.api = SpotifyAPI(self.client)
        source, expand = _initial_plan(settings)
        self.stats = PullStats(source or "auto", expand or "auto")
        self._source: str | None = source
        self._expand: str | None = expand
        self._source_known = asyncio.Event()
        self._expand_lock = asyncio.Lock()
        self.failures: list[AlbumFailure] = []
        self._group: asyncio.TaskGroup | None = None
        self._results: asyncio.Queue[Outcome | _End] | None = None
        self._track_market = settings.markets[0]
        self._state = "new"

    def __repr__(self) -> str:
        s = self.stats
        plan = f"{s.source}->{s.expand}"
        return f"<Pull {self._state} {plan} found={s.found} expanded={len(s.expanded)}>"

    @property
    def client_stats(self) -> ClientStats:
        """Requests, retries, 429s, waits and token refreshes so far."""
        return self.client.stats

    async def __aenter__(self) -> Pull:
        if self._state != "new":
            raise RuntimeError("a Pull runs once")
        if self.settings.source == "ids" and self._ids is None:
            assert self.settings.ids_file is not None
            self._ids = await asyncio.to_thread(load_ids, self.settings.ids_file)
        if self._ids is not None:
            self.stats.junk_id_lines = len(self._ids.junk)
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
        sightings: asyncio.Queue[Sighting | _End] = asyncio.Queue(size * 4)
        candidates: asyncio.Queue[Candidate | _End] = asyncio.Queue(size * 4)
        batches: asyncio.Queue[list[Candidate] | _End] = asyncio.Queue(size)
        self._results = asyncio.Queue(size)
        producers = self._producers(sightings)
        self._tasks = [
            *(group.create_task(p) for p in producers),
            group.create_task(self._dedupe(sightings, candidates, len(producers))),
            group.create_task(self._batcher(candidates, batches, workers)),
            *(group.create_task(self._expander(batches)) for _ in range(workers)),
        ]
        self._workers = workers

    async def results(self) -> AsyncIterator[Outcome]:
        """Every album's outcome, as soon as it is expanded."""
        if self._results is None:
            raise RuntimeError("use 'async with Pull(...)' first")
        ended = 0
        while ended < self._workers:
            item = await self._results.get()
            if isinstance(item, _End):
                ended += 1
            else:
                yield item

    async def albums(self) -> AsyncIterator[tuple[JSONObject, list[JSONObject]]]:
        """Each album with its tracks; failures are collected in :attr:`failures`."""
        async for outcome in self.results():
            if isinstance(outcome, AlbumResult):
                yield outcome.album, outcome.tracks
            else:
                self.failures.append(outcome)

    # -- discovery -------------------------------------------------------------------

    def _producers(self, out: asyncio.Queue[Sighting | _End]) -> list[Any]:
        if self._source == "ids":
            return [self._list_ids(out)]
        return [self._discover(i, m, out) for i, m in enumerate(self.settings.markets)]

    async def _list_ids(self, out: asyncio.Queue[Sighting | _End]) -> None:
        assert self._ids is not None
        for position, album_id in enumerate(self._ids.ids):
            await out.put(Sighting(album_id, None, (0, position)))
        await out.put(END)

    async def _discover(self, index: int, market: str, out: asyncio.Queue[Sighting | _End]) -> None:
        if self._source is None and index > 0:
            await self._source_known.wait()
        if self._source in (None, "new-releases"):
            try:
                await self._list(index, market, "new-releases", out)
            except EndpointUnavailableError as exc:
                if self._source is not None:
                    raise ConfigurationError(
                        f"new-releases is not available to this app ({exc.message or 403});"
                        " use --source auto, search or ids"
                    ) from None
                self.stats.probes["new-releases"] = 1
                self._decide_source("search")
                log.warning(
                    "new-releases answered 403: this app is in development mode (Spotify removed"
                    " the endpoint for such apps in March 2026); discovering through search"
                    " tag:new instead, which covers releases of the last two weeks, not the"
                    " editorial new-releases list"
                )
        if self._source == "search":
            await self._list(index, market, "search", out)
        await out.put(END)

    def _decide_source(self, source: str) -> None:
        if self._source is None:
            self._source = self.stats.source = source
        self._source_known.set()

    async def _list(
        self, index: int, market: str, source: str, out: asyncio.Queue[Sighting | _End]
    ) -> None:
        pages = (
            self.api.new_releases(market)
            if source == "new-releases"
            else self.api.search_new(market, SEARCH_PAGE_DEVELOPMENT)
        )
        listed = self.stats.listed.setdefault(market, [])
        async for items in pages:
            self._decide_source(source)
            for item in items:
                album_id = album_id_of(item)
                if album_id is None:
                    log.debug("skipping a listed item without a valid album id")
                    continue
                await out.put(Sighting(album_id, index, (index, len(listed)), item))
                listed.append(album_id)

    async def _dedupe(
        self,
        sightings: asyncio.Queue[Sighting | _End],
        out: asyncio.Queue[Candidate | _End],
        producers: int,
    ) -> None:
        dedupe = Dedupe(
            self.settings.markets,
            done=self._skip,
            max_albums=self.settings.max_albums,
            by_market=self._source != "ids",
        )
        ended = 0
        while ended < producers:
            item = await sightings.get()
            if isinstance(item, _End):
                ended += 1
                continue
            for candidate in dedupe.see(item):
                await out.put(candidate)
            self.stats.found, self.stats.skipped_done = dedupe.found, dedupe.skipped_done
        for candidate in dedupe.finish():
            await out.put(candidate)
        self.stats.found, self.stats.skipped_done = dedupe.found, dedupe.skipped_done
        await out.put(END)

    async def _batcher(
        self,
        candidates: asyncio.Queue[Candidate | _End],
        out: asyncio.Queue[list[Candidate] | _End],
        workers: int,
    ) -> None:
        batch: list[Candidate] = []
        while not isinstance(item := await candidates.get(), _End):
            batch.append(item)
            size = ALBUMS_PER_BATCH if self._expand in (None, "several") else 1
            if len(batch) >= size:
                await out.put(batch)
                batch = []
        if batch:
            await out.put(batch)
        for _ in range(workers):
            await out.put(END)

    # -- expansion -------------------------------------------------------------------

    async def _expander(self, batches: asyncio.Queue[list[Candidate] | _End]) -> None:
        assert self._results is not None
        while not isinstance(batch := await batches.get(), _End):
            for outcome in await self._expand_batch(batch):
                if isinstance(outcome, AlbumFailure):
                    self.stats.failed += 1
                await self._results.put(outcome)
        await self._results.put(END)

    async def _expand_batch(self, batch: list[Candidate]) -> list[Outcome]:
        if self._expand in (None, "several"):
            fulls = await self._several(batch)
            if fulls is not None:
                return await _gather(
                    self._finish(c, full) for c, full in zip(batch, fulls, strict=True)
                )
        if self._expand == "tracks":
            return await _gather(self._tracks_only(c) for c in batch)
        return await _gather(self._get_album(c) for c in batch)

    async def _several(self, batch: list[Candidate]) -> list[JSONObject | Outcome | None] | None:
        """Full albums for a batch; None once several-albums turned out to be unavailable."""
        ids = [c.album_id for c in batch]
        try:
            if self._expand is None:
                async with self._expand_lock:
                    if self._expand is None:  # the first batch decides for every worker
                        albums = await self.api.several_albums(ids, self._track_market)
                        self._expand = self.stats.expand = "several"
                        return list(albums)
            if self._expand != "several":
                return None
            return list(await self.api.several_albums(ids, self._track_market))
        except EndpointUnavailableError as exc:
            if self.settings.expand == "several":
                raise ConfigurationError(
                    f"several-albums is not available to this app ({exc.message or 403});"
                    " use --expand auto, album or tracks"
                ) from None
            if self._expand is None:
                self.stats.probes["several-albums"] = 1
                self._expand = self.stats.expand = "album"
                log.warning(
                    "several-albums answered 403: this app is in development mode (Spotify"
                    " removed the batch endpoint in March 2026); expanding each album through"
                    " Get Album and Get Album Tracks instead"
                )
            return None
        except ALBUM_ERRORS as exc:
            return [_failure(c.album_id, "several-albums", exc) for c in batch]

    async def _finish(self, candidate: Candidate, full: JSONObject | Outcome | None) -> Outcome:
        if isinstance(full, AlbumResult | AlbumFailure):
            return full
        if full is None:
            missing = HTTPStatusError(404, "several-albums", "Spotify returned null for this id")
            return _failure(candidate.album_id, "several-albums", missing)
        return await self._with_tracks(candidate, full)

    async def _get_album(self, candidate: Candidate) -> Outcome:
        try:
            full = await self.api.album(candidate.album_id, self._track_market)
        except ALBUM_ERRORS as exc:
            return _failure(candidate.album_id, "album", exc)
        return await self._with_tracks(candidate, full)

    async def _with_tracks(self, candidate: Candidate, full: JSONObject) -> Outcome:
        try:
            tracks = await self.api.complete_tracks(full, self._track_market)
        except ALBUM_ERRORS as exc:
            return _failure(candidate.album_id, "album-tracks", exc)
        album = {k: v for k, v in full.items() if k != "tracks"}
        return self._result(candidate, album, tracks)

    async def _tracks_only(self, candidate: Candidate) -> Outcome:
        try:
            tracks = await self.api.album_tracks(candidate.album_id, self._track_market)
        except ALBUM_ERRORS as exc:
            return _failure(candidate.album_id, "album-tracks", exc)
        album = candidate.album or {"id": candidate.album_id, "type": "album"}
        return self._result(candidate, {k: v for k, v in album.items() if k != "tracks"}, tracks)

    def _result(self, candidate: Candidate, album: JSONObject, tracks: list[JSONObject]) -> Outcome:
        album_id = candidate.album_id
        album["_etl"] = {
            "markets": list(candidate.markets),
            "extracted_at": _now(),
            "source": self.stats.source,
        }
        total = album.get("total_tracks")
        self.stats.expanded[album_id] = total if isinstance(total, int) else len(tracks)
        lines = [{**t, "album_id": album_id} for t in tracks if isinstance(t, dict)]
        return AlbumResult(album_id, album, lines)


def _initial_plan(settings: PullSettings) -> tuple[str | None, str | None]:
    """The plan the settings fix before any call: None where ``auto`` lets the API decide."""
    source: str | None = None if settings.source == "auto" else settings.source
    if settings.source == "auto" and settings.ids_file is not None:
        source = "ids"
    expand: str | None = None if settings.expand == "auto" else settings.expand
    if source == "ids" and settings.ids_file is None:
        raise ConfigurationError("--source ids needs --ids FILE")
    if source == "ids" and expand == "tracks":
        raise ConfigurationError("--expand tracks needs a listing: it cannot work from --ids")
    return source, expand


def _failure(album_id: str, stage: str, exc: SpotifyETLError) -> AlbumFailure:
    status = exc.status if isinstance(exc, HTTPStatusError) else None
    message = exc.message if isinstance(exc, HTTPStatusError) else str(exc)
    log.warning("album %s failed for good at %s: %s", album_id, stage, exc)
    record = {
        "album_id": album_id,
        "stage": stage,
        "error": type(exc).__name__,
        "status": status,
        "message": message,
        "at": _now(),
    }
    return AlbumFailure(album_id, record)


async def _gather(awaitables: Any) -> list[Outcome]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(aw) for aw in awaitables]
    return [task.result() for task in tasks]


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
