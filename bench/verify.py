"""Check a contender's output against the sandbox's ground truth."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

__all__ = ["expected", "expected_artists", "verify"]


def expected(truth: dict[str, Any], *, development: bool) -> dict[str, list[str]]:
    """Album id -> track ids that a complete pull must produce."""
    if development:
        ids: list[str] = truth["search_new"]
    else:
        ids = [album_id for listing in truth["markets"].values() for album_id in listing]
    return {album_id: truth["albums"][album_id] for album_id in dict.fromkeys(ids)}


def expected_artists(truth: dict[str, Any], *, development: bool) -> set[str]:
    """The artists a complete pull fetches: every one credited on its albums or their
    tracks; none in development mode (``--artists auto`` skips them there)."""
    if development:
        return set()
    return {
        a for album_id in expected(truth, development=False) for a in truth["credits"][album_id]
    }


def _read_artists(out: Path) -> Counter[str]:
    """Artist ids (with their line counts) from ``out``: the floor's artists.json, or
    artists.ndjson."""
    ids_file = out / "artists.json"
    if ids_file.exists():
        return Counter(orjson.loads(ids_file.read_bytes()))
    artists: Counter[str] = Counter()
    path = out / "artists.ndjson"
    if path.exists():
        with path.open("rb") as lines:
            for line in lines:
                artists[orjson.loads(line)["id"]] += 1
    return artists


def _read(out: Path) -> tuple[Counter[str], dict[str, list[str]]]:
    """Album ids (with their line counts) and track ids per album from ``out``."""
    ids_file = out / "ids.json"
    if ids_file.exists():  # the floor writes ids only
        got: dict[str, list[str]] = orjson.loads(ids_file.read_bytes())
        return Counter(got.keys()), got
    albums: Counter[str] = Counter()
    with (out / "albums.ndjson").open("rb") as lines:
        for line in lines:
            albums[orjson.loads(line)["id"]] += 1
    tracks: dict[str, list[str]] = defaultdict(list)
    with (out / "tracks.ndjson").open("rb") as lines:
        for line in lines:
            record = orjson.loads(line)
            tracks[record["album_id"]].append(record["id"])
    return albums, tracks


def verify(out: Path, want: dict[str, list[str]], artists: set[str] | None = None) -> str | None:
    """None when ``out`` holds exactly ``want`` (and exactly ``artists``, once each, unless
    None: a peer that fetches none); else one line saying what is wrong."""
    try:
        albums, tracks = _read(out)
        got = _read_artists(out) if artists is not None else Counter()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable output: {type(exc).__name__}: {exc}"
    if artists is not None and (set(got) != artists or any(n > 1 for n in got.values())):
        return (
            f"artists: {len(artists - got.keys())} missing, {len(got.keys() - artists)}"
            f" unexpected, {sum(n - 1 for n in got.values() if n > 1)} duplicated"
        )
    duplicates = sum(n - 1 for n in albums.values() if n > 1)
    missing = len(want.keys() - albums.keys())
    extra = len(albums.keys() - want.keys())
    wrong = sum(1 for a, t in want.items() if sorted(tracks.get(a, ())) != sorted(t))
    if duplicates or missing or extra or wrong:
        return (
            f"albums: {missing} missing, {extra} unexpected, {duplicates} duplicated; "
            f"{wrong} albums with wrong tracks"
        )
    return None
