"""A whole pull into a directory: the engine, the crash-safe sink, the manifest, the progress.

:func:`run_pull` is what ``spotify-etl pull`` runs; the manifest is written when the pull
starts and again however it ends (complete, failed, stopped resumably or interrupted).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client.http import SpotifyClient
from ..core.errors import ResumableStop
from ..core.settings import Credentials, PullSettings, plan_of
from ..core.timestamps import now_iso
from ..engine.ids_file import IdsInput, input_of
from ..engine.known import NOTHING_KNOWN, Known
from ..engine.outcomes import (
    AlbumFailure,
    AlbumResult,
    ArtistResult,
    Outcome,
)
from ..engine.pipeline import ListingSoFar, Pull
from ..engine.plan import run_minimum
from ..output.dataset import partial_listing_of, record_partial_listing
from ..output.layout import ENRICH_STREAMS, manifest_path
from ..output.manifest import (
    Manifest,
    PullStatus,
    RunRecord,
    Status,
    arguments_of,
    earlier_runs,
    read_manifest,
    write_manifest,
)
from ..output.sink import COUNTS, Sink
from .ending import ending_of
from .enrich import Enrichment
from .progress import Progress, Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullResult:
    """How a pull ended: its manifest and where its files are."""

    manifest: Manifest
    paths: dict[str, Path]

    @property
    def status(self) -> Status:
        return self.manifest.status

    @property
    def albums(self) -> int:
        return self.manifest.counts.get("albums", 0)

    @property
    def tracks(self) -> int:
        return self.manifest.counts.get("tracks", 0)

    @property
    def failed(self) -> int:
        return self.manifest.counts.get("failed", 0)

    @property
    def artists(self) -> int:
        return self.manifest.counts.get("artists", 0)

    @property
    def artists_failed(self) -> int:
        return self.manifest.counts.get("artists_failed", 0)

    @property
    def exit_code(self) -> int:
        """0 when every album and artist was pulled, 1 when some failed for good."""
        return ending_of(None, self.failed, self.artists_failed).exit_code


def plan_fingerprint(
    settings: PullSettings, ids: IdsInput | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What must not change between a pull and its resume: the settings marked PLAN (the
    watchlist's window and groups only with ``source="artists"``), the digest of the ids
    file, and ``extra`` (the sandbox's catalogue)."""
    plan = plan_of(settings)
    if settings.source != "artists":  # the watchlist's own: other plans stay as they were
        del plan["since"], plan["include_groups"]
    if not plan.get("enrich"):
        del plan["enrich"]  # a pull without enrichment keeps the plan it always had
    return {**plan, "ids_sha256": ids.digest if ids else None, **(extra or {})}


async def run_pull(
    settings: PullSettings,
    credentials: Credentials,
    *,
    progress: Progress | None = None,
    plan_extra: Mapping[str, Any] | None = None,
    arguments_extra: Mapping[str, Any] | None = None,
    on_finish: Callable[[Manifest], None] | None = None,
    client: SpotifyClient | None = None,
    known: Known = NOTHING_KNOWN,
    on_listed: Callable[[Mapping[str, list[str]], str | None], None] | None = None,
    enrich_clients: Mapping[str, Any] | None = None,
    enrich_prior: Callable[[], Mapping[str, int | None]] | None = None,
    on_listing_stopped: Callable[[ListingSoFar, str], None] | None = None,
) -> PullResult:
    """Pull into ``settings.out``; raises what stopped it after committing and writing the
    manifest (ResumableStop, AuthenticationError, CancelledError, ...).

    ``progress``, if given, is open while the pull runs and reads its numbers when it
    likes (see :mod:`.progress`).

    ``known`` is what a dataset holds already (not fetched again); ``on_listed`` is called
    with every market's listed album ids once the listings are read to their end;
    ``on_listing_stopped`` with what they read (and where each goes on) if a stop came
    first; ``enrich_clients`` may hold the ``deezer`` and ``musicbrainz`` clients to
    enrich with; ``enrich_prior`` gives the Deezer artists earlier dataset runs matched
    (snapshotted again)."""
    # hashed into the plan
    ids = await asyncio.to_thread(input_of, settings.source, settings.ids_file)
    plan = plan_fingerprint(settings, ids, plan_extra)
    if known is NOTHING_KNOWN and on_listed is None and on_listing_stopped is None:
        known, on_listed, on_listing_stopped = _cut_short_listing(settings)
    done: set[str] = set()
    artists_done: set[str] = set()
    artists_due: list[str] = []
    # Built first: it checks the settings (URLs, plan) before anything is written.
    pull = Pull(
        settings,
        credentials,
        skip=done,
        skip_artists=artists_done,
        artists_due=artists_due,
        ids=ids,
        client=client,
        known=known,
        on_listed=on_listed,
        on_listing_stopped=on_listing_stopped,
    )
    extra = ENRICH_STREAMS if settings.enrich else ()
    enrichment = None
    if settings.enrich:  # built before anything is written: it checks the URLs
        clients = enrich_clients or {}
        enrichment = Enrichment(settings, prior_artists=enrich_prior, **clients)
    sink = Sink(
        settings.out, plan, compress=settings.compress, resume=settings.resume, extra_streams=extra
    )
    async with sink:
        previous = read_manifest(settings.out) if settings.resume else None
        if settings.resume and previous is not None and previous.status == "complete":
            # Nothing is left to do: no request is sent and the record of the pull stays.
            log.info("the pull in %s is already complete: nothing to do", settings.out)
            return PullResult(previous, {**sink.paths, "manifest": manifest_path(settings.out)})
        done.update(sink.done)
        artists_done.update(sink.artists_done)
        artists_due.extend(sorted(sink.credited - sink.artists_done))
        run = _Run(settings, sink, arguments_of(settings, arguments_extra))
        run.earlier = earlier_runs(previous, sink.counts)
        run.write("running", pull)
        status: PullStatus = "failed"
        try:
            shown = progress(run.snapshot(pull)) if progress is not None else nullcontext()
            await _drain(pull, run, shown)
            if enrichment is not None:
                run.enrichment = enrichment
                await enrichment.run(sink)
            status = "complete"
        except BaseException as exc:
            status = ending_of(exc).status
            if not isinstance(exc, asyncio.CancelledError):
                run.error = str(exc) if isinstance(exc, ResumableStop) else _described(exc)
            raise
        finally:
            sink.commit()
            manifest = run.write(status, pull)
            if on_finish is not None:
                on_finish(manifest)
    return PullResult(manifest, run.paths)


def _cut_short_listing(
    settings: PullSettings,
) -> tuple[
    Known,
    Callable[[Mapping[str, list[str]], str | None], None] | None,
    Callable[[ListingSoFar, str], None],
]:
    """A pull on its own lists again when resumed, unless a stop cut its listing short:
    the pages read are kept, and the resume goes on from the next page (and keeps the
    listing so read for any later resume), so budgets smaller than the listing complete
    the pull (#23.7)."""
    out = settings.out

    def stopped(so_far: ListingSoFar, source: str) -> None:
        record_partial_listing(out, so_far, source)

    partial = partial_listing_of(out) if settings.resume and settings.expand != "tracks" else None
    if partial is None or partial[2] not in ("new-releases", "search"):
        return NOTHING_KNOWN, None, stopped
    listing, starts, source = partial
    known = Known(listing=listing, listing_source=source, listing_next=starts)

    def listed(whole: Mapping[str, list[str]], source: str | None) -> None:
        record_partial_listing(out, {m: (ids, None) for m, ids in whole.items()}, source or "")

    return known, listed, stopped


def _described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _drain(pull: Pull, run: _Run, shown: AbstractContextManager[Any]) -> None:
    """Run the engine and hand every outcome to the sink, showing progress meanwhile."""
    async with pull:
        with shown:
            async for outcome in pull.results():
                run.add(outcome)


class _Run:
    """One run's bookkeeping: what it added to the sink and its manifest."""

    def __init__(self, settings: PullSettings, sink: Sink, arguments: dict[str, Any]) -> None:
        self.settings = settings
        self.sink = sink
        self.arguments = arguments
        self.added = dict.fromkeys(COUNTS, 0)
        self.error: str | None = None
        #: This run's enrichment, once it started (``enrich``).
        self.enrichment: Enrichment | None = None
        #: The runs of this pull before this one (a resume's), as manifest.json recorded them.
        self.earlier: list[RunRecord] = []
        self.started_at = now_iso()
        self.started = time.monotonic()
        self.paths = {**sink.paths, "manifest": manifest_path(settings.out)}
        #: A watchlist's window and groups, for the manifest's plan.
        self.watching: dict[str, Any] = {}
        if settings.source == "artists":
            since = settings.since_date().isoformat()
            self.watching = {"since": since, "include_groups": list(settings.include_groups)}

    def add(self, outcome: Outcome) -> None:
        if isinstance(outcome, AlbumResult):
            self.sink.add_album(outcome.album_id, outcome.album, outcome.tracks, outcome.artists)
            self.added["albums"] += 1
            self.added["tracks"] += len(outcome.tracks)
        elif isinstance(outcome, AlbumFailure):
            self.sink.add_failure(outcome.album_id, outcome.record)
            self.added["failed"] += 1
        elif isinstance(outcome, ArtistResult):
            self.sink.add_artist(outcome.artist_id, outcome.artist)
            self.added["artists"] += 1
        else:
            self.sink.add_artist_failure(outcome.artist_id, outcome.record)
            self.added["artists_failed"] += 1

    def snapshot(self, pull: Pull) -> Callable[[], Snapshot]:
        before = dict(self.sink.counts)

        def read() -> Snapshot:
            stats = pull.client_stats
            done = pull.stats.skipped_done + self.added["albums"] + self.added["failed"]
            return Snapshot(
                found=pull.stats.found,
                done=done,
                tracks=before["tracks"] + self.added["tracks"],
                failed=before["failed"] + self.added["failed"],
                requests=sum(stats.requests.values()),
                waited_seconds=stats.waited_seconds,
            )

        return read

    def albums_left(self, pull: Pull) -> int:
        """Unique albums found and not done yet (found so far, if the listing stopped)."""
        done = pull.stats.skipped_done + self.added["albums"] + self.added["failed"]
        return max(0, pull.stats.found - done)

    def _stats(self, pull: Pull) -> dict[str, Any]:
        stats = pull.client_stats.as_dict()
        if self.enrichment is not None:
            e = self.enrichment
            stats["enrich"] = {**e.stats.as_dict(), "requests": e.requests()}
        return stats

    def write(self, status: PullStatus, pull: Pull) -> Manifest:
        stats = pull.stats
        finished = status != "running"
        this_run = RunRecord(
            status=status,
            started_at=self.started_at,
            finished_at=now_iso() if finished else None,
            duration_seconds=round(time.monotonic() - self.started, 3),
            added=dict(self.added),
            stats=self._stats(pull),
            minimum_requests=run_minimum(stats) if finished else {},
            error=self.error,
        )
        runs = [*self.earlier, this_run]
        manifest = Manifest.of_runs(
            runs,
            status=status,
            plan={**stats.plan(), "tracks_market": self.settings.markets[0], **self.watching},
            markets=tuple(self.settings.markets),
            counts=dict(self.sink.counts),
            this_run=dict(self.added),
            started_at=runs[0].started_at or self.started_at,
            finished_at=this_run.finished_at,
            resumed=self.sink.resumed_from > 0,
            junk_id_lines=stats.junk_id_lines,
            albums_left=self.albums_left(pull) if status != "complete" else 0,
            albums_skipped=stats.skipped_done,
            skipped_items=stats.skipped_items,
            reach=dict(stats.reach),
            error=self.error,
            files={name: path.name for name, path in self.sink.paths.items()},
            arguments=self.arguments,
        )
        write_manifest(self.settings.out, manifest)
        return manifest
