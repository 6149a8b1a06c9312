"""What the engine hands on: an album ready to write, an album that failed, the pull's stats.

Every stage of the engine and the run layer above it speak in these; they carry plain
JSON objects, so the writer needs nothing else to write them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import HTTPStatusError, SpotifyETLError
from ..core.timestamps import now_iso

log = logging.getLogger(__name__)

JSONObject = dict[str, Any]


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
    """What the engine saw: the plan it chose, listings, albums found, expanded, failed,
    and listed items skipped because they were null or had no id."""

    source: str
    expand: str
    listed: dict[str, list[str]] = field(default_factory=dict)
    expanded: dict[str, int] = field(default_factory=dict)
    found: int = 0
    skipped_done: int = 0
    failed: int = 0
    junk_id_lines: int = 0
    skipped_items: int = 0
    probes: dict[str, int] = field(default_factory=dict)
    #: Probed endpoints whose answer came from what earlier runs found, not a request.
    remembered: set[str] = field(default_factory=set)


def failure(album_id: str, stage: str, exc: SpotifyETLError) -> AlbumFailure:
    """The errors.ndjson record of an album that failed for good at ``stage``."""
    status = exc.status if isinstance(exc, HTTPStatusError) else None
    message = exc.message if isinstance(exc, HTTPStatusError) else str(exc)
    # %r: at stage "listing" the id is whatever the server sent (cut short, never requested)
    log.warning("album %r failed for good at %s: %s", album_id, stage, exc)
    record = {
        "album_id": album_id,
        "stage": stage,
        "error": type(exc).__name__,
        "status": status,
        "message": message,
        "at": now_iso(),
    }
    return AlbumFailure(album_id, record)
