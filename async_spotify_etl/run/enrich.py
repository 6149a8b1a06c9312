"""The enrichment of a pull's committed albums, after its Spotify part is written.

The albums and tracks are read back from the pull's own committed files, so a resume
enriches exactly what is missing: every step (one album on Deezer, one on MusicBrainz, one
artist on Deezer) is committed by the sink with its key, and a step whose key is
committed is not asked for again. Deezer and MusicBrainz run side by side, each paced by
its own client; Deezer's artists follow its albums (their matches are read back from
``deezer_albums``). A failed step writes an errors.ndjson line (stage ``deezer`` or
``musicbrainz``): for good when definitive, else it stays due and the run stops resumably.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

from ..client.deezer import DeezerClient
from ..client.musicbrainz import MusicBrainzClient
from ..client.public import PublicClient
from ..core.errors import ConfigurationError, StillFailingError, is_transient
from ..core.settings import PullSettings
from ..core.types import JSONObject
from ..engine.channels import Channel, Sender
from ..engine.enrich import (
    ENRICH_ERRORS,
    EnrichStats,
    artist_key,
    deezer_album,
    deezer_artist,
    deezer_key,
    failure_record,
    musicbrainz_key,
    musicbrainz_release,
)
from ..output.reader import read_committed
from ..output.sink import Sink

log = logging.getLogger(__name__)

#: Deezer steps in flight at once: its client's pace, not this, bounds the rate.
DEEZER_WORKERS = 4

Album = tuple[JSONObject, list[JSONObject]]
T = TypeVar("T")


def committed_albums(sink: Sink) -> Iterator[Album]:
    """Every committed album with its track lines, in file order (an album's tracks are
    committed together right after it, so the two files are walked side by side)."""
    tracks = read_committed(sink.out, "tracks")
    pending: JSONObject | None = next(tracks, None)
    for album in read_committed(sink.out, "albums"):
        album_id = album.get("id")
        lines: list[JSONObject] = []
        while pending is not None and pending.get("album_id") == album_id:
            lines.append(pending)
            pending = next(tracks, None)
        yield album, lines


def earlier_matches(folders: Iterable[Path], albums: Collection[str]) -> dict[str, int | None]:
    """Spotify artist -> Deezer artist (or None) as the runs in ``folders`` matched them on
    ``albums``: a dataset run snapshots those artists again, like Spotify's."""
    matches: dict[str, int | None] = {}
    for folder in folders:
        try:
            for line in read_committed(folder, "deezer_albums"):
                etl = line.get("_etl")
                if line.get("album_id") not in albums or not isinstance(etl, dict):
                    continue
                for artist_id, deezer_id in (etl.get("artists") or {}).items():
                    if matches.get(artist_id) is None:
                        matches[artist_id] = deezer_id if isinstance(deezer_id, int) else None
        except ConfigurationError:
            continue  # a run that wrote nothing
    return matches


class Enrichment:
    """One pull's enrichment: the clients it owns or was given, the sink it writes to."""

    def __init__(
        self,
        settings: PullSettings,
        *,
        deezer: DeezerClient | None = None,
        musicbrainz: MusicBrainzClient | None = None,
        prior_artists: Callable[[], Mapping[str, int | None]] | None = None,
    ) -> None:
        """Build the clients ``settings.enrich`` names (refusing an unusable URL at once)."""
        self.settings = settings
        self.stats = EnrichStats()
        #: In a dataset: Spotify artist -> Deezer artist matched by earlier runs on the
        #: albums this run's listing shows again, snapshotted again this run.
        self._prior_artists = prior_artists
        self.clients: dict[str, PublicClient] = {}
        if "deezer" in settings.enrich:
            self.clients["deezer"] = deezer or DeezerClient(settings.enrichment)
        if "musicbrainz" in settings.enrich:
            self.clients["musicbrainz"] = musicbrainz or MusicBrainzClient(settings.enrichment)
        self._sink: Sink | None = None

    @property
    def sink(self) -> Sink:
        assert self._sink is not None, "Enrichment.run(sink) first"
        return self._sink

    async def run(self, sink: Sink) -> EnrichStats:
        """Enrich every committed album of ``sink`` not enriched yet; raise
        :class:`StillFailingError` after committing when a transient failure left steps due."""
        self._sink = sink
        self.sink.commit()  # the albums read back are the committed ones
        async with AsyncExitStack() as stack:
            for client in self.clients.values():
                await stack.enter_async_context(client)
            async with asyncio.TaskGroup() as group:
                if "deezer" in self.clients:
                    group.create_task(self._timed("deezer", self._deezer_all()))
                if "musicbrainz" in self.clients:
                    group.create_task(self._timed("musicbrainz", self._musicbrainz_all()))
        self.sink.commit()
        if self.stats.still_due and self.stats.last_error is not None:
            raise StillFailingError(self.stats.still_due, 0, self.stats.last_error)
        return self.stats

    async def _timed(self, api: str, part: Awaitable[None]) -> None:
        started = time.monotonic()
        try:
            await part
        finally:
            self.stats.seconds[api] = time.monotonic() - started

    def requests(self) -> dict[str, Any]:
        """Per API: requests per endpoint, retries, throttling answers, seconds waited."""
        return {name: client.stats.as_dict() for name, client in self.clients.items()}

    async def _deezer_all(self) -> None:
        client = self.clients["deezer"]
        assert isinstance(client, DeezerClient)

        async def one(item: Album) -> None:
            album, tracks = item
            album_id = str(album.get("id"))
            self.stats.looked_up["deezer"] += 1
            try:
                found = await deezer_album(client, album, tracks)
            except ENRICH_ERRORS as exc:
                self._failed("deezer", deezer_key(album_id), album_id, exc)
                return
            self.stats.count_deezer(found.album["upc"], found.album["deezer"])
            if found.album["deezer"] is not None:
                self.stats.matched["deezer"] += 1
            self.stats.tracks += len(found.tracks)
            self.stats.tracks_matched += sum(1 for t in found.tracks if t["deezer"] is not None)
            lines = {"deezer_albums": [found.album], "deezer_tracks": found.tracks}
            self.sink.add_enriched(deezer_key(album_id), lines)

        await _fan_out(self._due(deezer_key), one, DEEZER_WORKERS)
        self.sink.commit()
        await self._deezer_artists(client)

    async def _deezer_artists(self, client: DeezerClient) -> None:
        """One line per Spotify artist credited on a looked-up album: the Deezer artist its
        name matched first (None: no album matched it), each Deezer id fetched once."""
        matches: dict[str, int | None] = {}
        for line in read_committed(self.sink.out, "deezer_albums"):
            etl = line.get("_etl")
            found = etl.get("artists") if isinstance(etl, dict) else None
            for artist_id, deezer_id in (found or {}).items():
                if matches.get(artist_id) is None:
                    matches[artist_id] = deezer_id if isinstance(deezer_id, int) else None
        for artist_id, deezer_id in (self._prior_artists() if self._prior_artists else {}).items():
            if matches.get(artist_id) is None:
                matches[artist_id] = deezer_id
        cache: dict[int, asyncio.Future[JSONObject | None]] = {}

        async def one(artist_id: str) -> None:
            deezer_id = matches[artist_id]
            try:
                line = await deezer_artist(client, artist_id, deezer_id, cache)
            except ENRICH_ERRORS as exc:
                self._failed("deezer", artist_key(artist_id), artist_id, exc, "artist")
                return
            self.stats.artists += 1
            self.sink.add_enriched(artist_key(artist_id), {"deezer_artists": [line]})

        async def due() -> AsyncIterator[str]:
            for artist_id in matches:
                if artist_key(artist_id) not in self.sink.enriched:
                    yield artist_id

        try:
            await _fan_out(due(), one, DEEZER_WORKERS)
        finally:
            for fetch in cache.values():
                fetch.cancel()  # done already, unless the stage is stopping
        fetched = sum(
            1 for f in cache.values() if f.done() and not f.cancelled() and f.exception() is None
        )
        self.stats.deezer_artists = fetched
        if fetched:
            self.stats.minimum["deezer-artist"] += fetched

    async def _musicbrainz_all(self) -> None:
        client = self.clients["musicbrainz"]
        assert isinstance(client, MusicBrainzClient)

        async def one(item: Album) -> None:
            album = item[0]
            album_id = str(album.get("id"))
            self.stats.looked_up["musicbrainz"] += 1
            try:
                line = await musicbrainz_release(client, album)
            except ENRICH_ERRORS as exc:
                self._failed("musicbrainz", musicbrainz_key(album_id), album_id, exc)
                return
            self.stats.count_musicbrainz(line)
            if line["release"] is not None:
                self.stats.matched["musicbrainz"] += 1
            self.sink.add_enriched(musicbrainz_key(album_id), {"musicbrainz_releases": [line]})

        await _fan_out(self._due(musicbrainz_key), one, 1)  # one at a time, as MB asks

    async def _due(self, key: Callable[[str], str]) -> AsyncIterator[Album]:
        for album, tracks in committed_albums(self.sink):
            if key(str(album.get("id"))) not in self.sink.enriched:
                yield album, tracks
            await asyncio.sleep(0)  # reading is synchronous: let the workers run

    def _failed(self, stage: str, key: str, ident: str, exc: Any, kind: str = "album") -> None:
        record = failure_record(stage, ident, exc, kind)
        transient = is_transient(exc)
        log.warning("%s enrichment of %s %s failed: %s", stage, kind, ident, exc)
        self.sink.add_enriched(key, {"errors": [record]}, done=not transient)
        if transient:
            self.stats.still_due += 1
            self.stats.last_error = exc
        else:
            self.stats.failed += 1


async def _fan_out(
    items: AsyncIterator[T], work: Callable[[T], Awaitable[None]], workers: int
) -> None:
    """Run ``work`` on every item with at most ``workers`` at once, under one TaskGroup."""
    channel: Channel[T] = Channel(workers * 2)

    async def produce(out: Sender[T]) -> None:
        async with out:
            async for item in items:
                await out(item)

    async def consume() -> None:
        async for item in channel:
            await work(item)

    async with asyncio.TaskGroup() as group:
        group.create_task(produce(channel.sender()))
        for _ in range(workers):
            group.create_task(consume())
