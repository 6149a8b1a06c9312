"""``spotify_releases``: the pull itself as a dlt source, incremental through dlt's state.

Each pipeline run is one run of the pull engine (:class:`~async_spotify_etl.Pull`: pacing,
``rate="auto"`` and what it remembers, development-mode fallbacks, retries, the budget)
that fetches only what the destination does not hold yet, as ``pull --dataset`` does.
The source's state (kept by dlt beside the data, restored from the destination on a new
machine) holds the album and artist ids loaded, the last complete listing (for events),
and, after a resumable stop, the run to finish: its id and the listing it read, which
the next pipeline run replays instead of listing again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from ...core.errors import ResumableStop
from ...core.settings import ArtistsMode, ClientSettings, Credentials, ExpandMode, PullSettings
from ...core.timestamps import now_iso
from ...engine.known import Known
from ...engine.outcomes import AlbumFailure, AlbumResult, ArtistFailure, ArtistResult, Outcome
from ...engine.pipeline import Pull
from .feed import Feed, Put
from .rows import Row, album_rows, artist_rows, error_row, event_rows, listing_rows, run_row

log = logging.getLogger(__name__)

#: Rows per table handed to dlt at once (a page), so dlt's per-item cost stays small.
PAGE_ALBUMS = 50
_RUN_ID = "%Y-%m-%dT%H%M%SZ"

Batch = dict[str, list[Row]]


@dataclasses.dataclass(frozen=True)
class _Listed:
    listing: Mapping[str, list[str]]
    source: str


@dataclasses.dataclass(frozen=True)
class _Ended:
    requests: int
    stop: ResumableStop | None


class ReleasesRun:
    """One pipeline run of :func:`spotify_releases`: the pull, the state, the rows."""

    def __init__(
        self, settings: PullSettings, credentials: Credentials, state: MutableMapping[str, Any]
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.state = state
        pending = state.get("pending")
        self.pending: dict[str, Any] | None = pending if isinstance(pending, dict) else None
        self.replaying = self.pending is not None
        self.run_id = (
            self.pending["run_id"] if self.pending else _next_run_id(state.get("last_run"))
        )
        self.started_at = self.pending["started_at"] if self.pending else now_iso()
        self.held_albums: set[str] = set(state.get("albums") or ())
        self.held_artists: set[str] = set(state.get("artists") or ())
        self.counts = dict.fromkeys(("albums", "tracks", "failed", "artists", "artists_failed"), 0)

    def known(self) -> Known:
        """What the engine does not fetch again: as a dataset run's (``run/dataset.py``)."""
        known = Known(
            frozenset(self.held_albums), frozenset(self.held_artists), refresh_listed_artists=True
        )
        if self.pending and isinstance(self.pending.get("listing"), dict):
            return dataclasses.replace(
                known, listing=self.pending["listing"], listing_source=self.pending["source"]
            )
        return known

    def batches(self) -> Iterator[Batch]:
        """The rows of this run, a page of tables at a time; the state updated as they go."""
        batch: Batch = {}
        albums = 0
        for item in Feed(self._produce):
            if isinstance(item, _Listed):
                yield self._listed(item)
            elif isinstance(item, _Ended):
                _extend(batch, self._ended(item))
                yield batch  # the last item: the feed ends next
                batch = {}
            else:
                _extend(batch, self._outcome(item))
                albums += isinstance(item, AlbumResult)
                if albums >= PAGE_ALBUMS:
                    yield batch
                    batch, albums = {}, 0

    async def _produce(self, put: Put[Outcome | _Listed | _Ended]) -> None:
        listed: list[_Listed] = []

        def on_listed(listing: Mapping[str, list[str]], source: str | None) -> None:
            listed.append(_Listed(listing, source or "new-releases"))

        pull = Pull(self.settings, self.credentials, known=self.known(), on_listed=on_listed)
        stop: ResumableStop | None = None
        try:
            async with pull:
                async for outcome in pull.results():
                    if listed:
                        await put(listed.pop())
                    await put(outcome)
        except ResumableStop as exc:
            stop = exc
        if listed:
            await put(listed.pop())
        await put(_Ended(sum(pull.client_stats.requests.values()), stop))

    def _listed(self, item: _Listed) -> Batch:
        """The listing read to its end: its rows and events, and the run to finish if it
        stops (so the next run replays this listing rather than taking another)."""
        if self.replaying:  # a run finished after a stop: its listing is loaded already
            return {}
        self.pending = {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "listing": {m: list(ids) for m, ids in item.listing.items()},
            "source": item.source,
        }
        self.state["pending"] = self.pending
        self.state["last_run"] = self.run_id
        at = now_iso()
        previous = self.state.get("listing") or {}
        listings = listing_rows(self.run_id, at, item.listing)
        return {
            "listings": listings,
            "events": event_rows(self.run_id, at, item.listing, previous),
            "album_markets": [{"album_id": r["album_id"], "market": r["market"]} for r in listings],
        }

    def _outcome(self, outcome: Outcome) -> Iterator[tuple[str, Row]]:
        if isinstance(outcome, AlbumResult):
            self.held_albums.add(outcome.album_id)
            self.counts["albums"] += 1
            self.counts["tracks"] += len(outcome.tracks)
            yield from album_rows(outcome.album, outcome.tracks)
        elif isinstance(outcome, ArtistResult):
            self.held_artists.add(outcome.artist_id)
            self.counts["artists"] += 1
            yield from artist_rows(outcome.artist, self.run_id)
        elif isinstance(outcome, AlbumFailure | ArtistFailure):
            if isinstance(outcome, ArtistFailure):
                self.held_artists.add(outcome.artist_id)  # as a dataset: not asked again
            self.counts["failed" if isinstance(outcome, AlbumFailure) else "artists_failed"] += 1
            yield "errors", error_row(outcome.record, self.run_id)

    def _ended(self, ended: _Ended) -> Iterator[tuple[str, Row]]:
        self.state["albums"] = sorted(self.held_albums)
        self.state["artists"] = sorted(self.held_artists)
        if ended.stop is None:
            if self.pending is not None:
                # each market's latest observation: a market not pulled keeps its own
                self.state["listing"] = {
                    **(self.state.get("listing") or {}),
                    **self.pending["listing"],
                }
            self.state.pop("pending", None)
            status = "complete"
        else:
            log.warning("the run stopped resumably (%s): the next run finishes it", ended.stop)
            status = "stopped"
        self.state["last_run"] = self.run_id
        yield (
            "runs",
            run_row(
                self.run_id,
                started_at=self.started_at,
                finished_at=now_iso(),
                status=status,
                markets=self.settings.markets,
                counts=self.counts,
                requests=ended.requests,
            ),
        )


def pull_settings(
    markets: Sequence[str],
    artists: ArtistsMode,
    expand: ExpandMode,
    client: ClientSettings,
    max_albums: int | None,
) -> PullSettings:
    """The settings of the engine's pull (``out`` is unused: nothing is written)."""
    return PullSettings(
        out=Path("."),
        markets=tuple(markets),
        artists=artists,
        expand=expand,
        max_albums=max_albums,
        client=client,
    )


def resolve_credentials(given: Credentials | None, secret: Callable[[str], object]) -> Credentials:
    """``given``, else dlt's secrets (``sources.spotify.client_id`` / ``client_secret``:
    ``.dlt/secrets.toml`` or ``SOURCES__SPOTIFY__CLIENT_ID``), else the environment or
    ``.env`` (``SPOTIFY_CLIENT_ID``), as the command line reads them."""
    if given is not None:
        return given
    client_id, client_secret = secret("client_id"), secret("client_secret")
    if isinstance(client_id, str) and isinstance(client_secret, str):
        return Credentials(client_id, client_secret)
    return Credentials.from_env()


def _extend(batch: Batch, rows: Iterator[tuple[str, Row]]) -> None:
    for table, row in rows:
        batch.setdefault(table, []).append(row)


def _next_run_id(last: object) -> str:
    """The run's UTC start as an id, later than the last run's (two runs in one second)."""
    started = dt.datetime.now(dt.UTC)
    name = started.strftime(_RUN_ID)
    while isinstance(last, str) and name <= last:
        started += dt.timedelta(seconds=1)
        name = started.strftime(_RUN_ID)
    return name
