"""The outbox: what a finished dataset run publishes, read from its committed files.

A run's messages, in order: its events (``events.ndjson``, in file order: per market,
listed then delisted), then the albums it fetched (``albums.ndjson``), then the artists
(``artists.ndjson``). The order, the payloads and each message's id derive from the files
alone, so a publisher that restarts rebuilds the same list and can skip what it sent.

Every payload is a JSON object with ``version`` (:data:`VERSION`) and ``type``:
``listed``/``delisted`` (an event, with the album's name, artists and release date),
``album`` or ``artist`` (the record as the run wrote it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..output.dataset import EVENTS_NAME
from ..output.reader import read_committed
from .target import Target

#: The message schema's version, in every payload.
VERSION = 1


@dataclass(frozen=True)
class Message:
    """One message: its subject, its de-duplication id (``Nats-Msg-Id``) and its body."""

    subject: str
    msg_id: str
    payload: bytes


def run_messages(
    root: Path, run: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]], target: Target
) -> list[Message]:
    """Every message of the indexed ``run`` of the dataset in ``root``; ``earlier`` are the
    runs before it (where a delisted album's record, or a held one's, is found)."""
    run_id = str(run["id"])
    folder = root / str(run["path"])
    events = _events(folder)
    albums = list(read_committed(folder, "albums"))
    details = _details([folder, *(root / str(r["path"]) for r in reversed(earlier))], events)
    messages = [_event_message(target, run_id, e, details.get(e["album_id"])) for e in events]
    for album in albums:
        ident = album.get("id")
        body = {"version": VERSION, "type": "album", "run_id": run_id, "album": album}
        messages.append(Message(target.albums, f"{run_id}.album.{ident}", _dumps(body)))
    for artist in read_committed(folder, "artists"):
        ident = artist.get("id")
        body = {"version": VERSION, "type": "artist", "run_id": run_id, "artist": artist}
        messages.append(Message(target.artists, f"{run_id}.artist.{ident}", _dumps(body)))
    return messages


def event_id(run_id: str, market: str, album_id: str, kind: str) -> str:
    """An event's ``Nats-Msg-Id``: one per run, market, album and kind."""
    return f"{run_id}.{market}.{album_id}.{kind}"


def _events(folder: Path) -> list[dict[str, Any]]:
    path = folder / EVENTS_NAME
    if not path.exists():
        return []
    with path.open("rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]


def _details(
    folders: Iterable[Path], events: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Name, artists and release date of each album the events name, from the newest run
    holding its record (the run's own first, then the earlier ones)."""
    wanted = {str(e["album_id"]) for e in events}
    found: dict[str, dict[str, Any]] = {}
    for folder in folders:
        if not wanted:
            break
        for album in read_committed(folder, "albums"):
            ident = album.get("id")
            if ident in wanted:
                wanted.discard(ident)
                found[ident] = {
                    "name": album.get("name"),
                    "artists": [
                        {"id": a.get("id"), "name": a.get("name")}
                        for a in album.get("artists") or []
                        if isinstance(a, dict)
                    ],
                    "release_date": album.get("release_date"),
                }
    return found


def _event_message(
    target: Target, run_id: str, event: Mapping[str, Any], details: Mapping[str, Any] | None
) -> Message:
    market, album_id, kind = str(event["market"]), str(event["album_id"]), str(event["event"])
    body = {
        "version": VERSION,
        "type": kind,
        "run_id": run_id,
        "at": event.get("at"),
        "market": market,
        "album_id": album_id,
        "name": None,
        "artists": [],
        "release_date": None,
        **(details or {}),
        "position": event.get("position"),
        "previous_position": event.get("previous_position"),
    }
    return Message(target.events(market), event_id(run_id, market, album_id, kind), _dumps(body))


def _dumps(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body)
