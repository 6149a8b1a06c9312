"""What the engine hands on: albums and artists ready to write or failed, the pull's stats.

Every stage of the engine and the run layer above it speak in these; they carry plain
JSON objects, so the writer needs nothing else to write them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import HTTPStatusError, SpotifyETLError
from ..core.timestamps import now_iso
from ..core.types import JSONObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlbumResult:
    """One album ready to write: the album line (with ``_etl``), its track lines, and the
    ids of the artists credited on the album or any of its tracks."""

    album_id: str
    album: JSONObject
    tracks: list[JSONObject]
    artists: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlbumFailure:
    """An album that failed for good, as its errors.ndjson record."""

    album_id: str
    record: JSONObject


@dataclass(frozen=True)
class ArtistResult:
    """One artist ready to write: Spotify's Artist object plus ``_etl``."""

    artist_id: str
    artist: JSONObject


@dataclass(frozen=True)
class ArtistFailure:
    """An artist that failed for good, as its errors.ndjson record (stage ``artists``)."""

    artist_id: str
    record: JSONObject


Outcome = AlbumResult | AlbumFailure | ArtistResult | ArtistFailure


@dataclass
class PullStats:
    """What the engine saw: the plan it chose, listings, albums found, expanded, failed,
    and listed items skipped because they were null or had no id."""

    source: str
    expand: str
    listed: dict[str, list[str]] = field(default_factory=dict)
    #: Per market: the listing's source, the ``total`` it reported and the items it reached.
    reach: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per market whose listing this run started and has not read to its end: the offset
    #: of the next page and how many of ``listed`` the pages before it hold (#23.7).
    listing_next: dict[str, tuple[int, int]] = field(default_factory=dict)
    expanded: dict[str, int] = field(default_factory=dict)
    found: int = 0
    skipped_done: int = 0
    failed: int = 0
    junk_id_lines: int = 0
    skipped_items: int = 0
    probes: dict[str, int] = field(default_factory=dict)
    #: Probed endpoints whose answer came from what earlier runs found, not a request:
    #: endpoint -> allowed.
    remembered: dict[str, bool] = field(default_factory=dict)
    #: How artists are fetched: several, single, off, or auto while undecided.
    artists: str = "auto"
    #: Artists requested this run (fetched or failed), for the minimum.
    artists_requested: int = 0
    artists_failed: int = 0

    def plan(self) -> dict[str, Any]:
        """The plan the engine chose, as manifest.json's ``plan`` records it."""
        return {
            "source": self.source,
            "expand": self.expand,
            "artists": self.artists,
            "probes": dict(self.probes),
            "remembered": dict(self.remembered),
        }


def failure(album_id: str, stage: str, exc: SpotifyETLError) -> AlbumFailure:
    """The errors.ndjson record of an album that failed for good at ``stage``."""
    # %r: at stage "listing" the id is whatever the server sent (cut short, never requested)
    log.warning("album %r failed for good at %s: %s", album_id, stage, exc)
    return AlbumFailure(album_id, _record("album_id", album_id, stage, exc))


def artist_failure(artist_id: str, exc: SpotifyETLError) -> ArtistFailure:
    """The errors.ndjson record of an artist that failed for good (stage ``artists``)."""
    log.warning("artist %s failed for good: %s", artist_id, exc)
    return ArtistFailure(artist_id, _record("artist_id", artist_id, "artists", exc))


def _record(key: str, ident: str, stage: str, exc: SpotifyETLError) -> JSONObject:
    status, message = (
        (exc.status, exc.message) if isinstance(exc, HTTPStatusError) else (None, str(exc))
    )
    return {
        key: ident,
        "stage": stage,
        "error": type(exc).__name__,
        "status": status,
        "message": message,
        "at": now_iso(),
    }
