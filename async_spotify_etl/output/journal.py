"""The commit journal of an output directory: which bytes of the data files are committed.

One JSON line per commit, appended with a single ``write``. The first line names the plan
the directory belongs to. A reader of a pull in progress, or a resumed pull, trusts the
data files only up to the offsets of the last complete line; a torn last line is ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..core.errors import ConfigurationError
from .layout import refuse_unsafe


@dataclass
class JournalState:
    """What a journal says: the plan, the committed offsets, the album and artist ids done,
    the artists credited so far, running counts."""

    plan: dict[str, Any] | None = None
    offsets: dict[str, int] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    artists_done: set[str] = field(default_factory=set)
    credited: set[str] = field(default_factory=set)
    #: Enrichment keys done (``deezer:<album id>``, ``musicbrainz:<album id>``,
    #: ``deezer-artist:<artist id>``): a resume does not look them up again.
    enriched: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    #: Bytes of the journal up to the end of its last complete, valid line.
    valid_length: int = 0
    commits: int = 0


def header_line(plan: Mapping[str, Any]) -> bytes:
    """The first journal line: the plan every later commit belongs to."""
    return orjson.dumps({"plan": plan}) + b"\n"


def commit_line(
    offsets: Mapping[str, int],
    ids: Sequence[str],
    counts: Mapping[str, int],
    *,
    artists: Sequence[str] = (),
    credited: Sequence[str] = (),
    enriched: Sequence[str] = (),
) -> bytes:
    """One commit: the data files' lengths after it, the album ids it made durable, totals;
    and, where there are any, the artist ids it made durable (``a``) and the artists first
    credited by its albums (``c``), so a resume knows which are still to fetch; and the
    enrichment keys it made durable (``e``)."""
    entry: dict[str, Any] = {**offsets, "ids": list(ids), "n": dict(counts)}
    if artists:
        entry["a"] = list(artists)
    if credited:
        entry["c"] = list(credited)
    if enriched:
        entry["e"] = list(enriched)
    return orjson.dumps(entry) + b"\n"


def read_journal(path: Path, files: Sequence[str]) -> JournalState:
    """Parse the journal at ``path``; ``files`` are the offset keys a commit line must hold."""
    refuse_unsafe(path.parent, [path.name])  # a link or a FIFO is not read either
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return JournalState()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc
    _refuse_foreign(path, data)
    state = JournalState()
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        if end < 0:
            break  # torn last line: its commit never completed
        entry = _parse(data[position:end])
        if entry is None:
            if data.find(b"\n", end + 1) >= 0:
                raise ConfigurationError(f"{path} is corrupt at byte {position}")
            break  # a damaged last line is a torn commit as well
        _apply(state, entry, files, path)
        position = end + 1
        state.valid_length = position
    return state


#: How every journal begins; a file that does not is none of this tool's.
_HEADER_START = b'{"plan":'


def _refuse_foreign(path: Path, data: bytes) -> None:
    """Refuse a ``.journal`` this tool did not write (not even a torn first line of one):
    it is never truncated or appended to."""
    start = data[: len(_HEADER_START)]
    if start != _HEADER_START[: len(start)]:
        raise ConfigurationError(
            f"{path} is not a journal written by spotify-etl; it is left as it is:"
            " move it away or choose another folder"
        )


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def _apply(state: JournalState, entry: dict[str, Any], files: Sequence[str], path: Path) -> None:
    if state.plan is None:
        plan = entry.get("plan")
        if not isinstance(plan, dict):
            raise ConfigurationError(f"{path} does not start with a plan line")
        state.plan = plan
        return
    # A stream missing from a line did not exist when it was written: nothing committed.
    offsets = {name: entry.get(name, 0) for name in files}
    ids = entry.get("ids")
    artists, credited, enriched = entry.get("a", []), entry.get("c", []), entry.get("e", [])
    if not all(isinstance(v, int) and v >= 0 for v in offsets.values()) or not all(
        isinstance(v, list) for v in (ids, artists, credited, enriched)
    ):
        raise ConfigurationError(f"{path} holds a malformed commit line")
    state.offsets = offsets
    state.done.update(str(i) for i in ids or ())
    state.artists_done.update(str(i) for i in artists)
    state.credited.update(str(i) for i in credited)
    state.enriched.update(str(i) for i in enriched)
    counts = entry.get("n")
    if isinstance(counts, dict):
        state.counts = {str(k): int(v) for k, v in counts.items()}
    state.commits += 1


def truncate_journal(fd: int, length: int) -> None:
    """Cut a torn tail off the journal open at ``fd`` so the next append starts a fresh
    line (through the descriptor: the journal's name is never followed again)."""
    if os.fstat(fd).st_size != length:
        os.ftruncate(fd, length)
