"""A realistic pull directory built from the output contract, with its ground truth.

Records are committed in batches like the pipeline does: each batch appends albums and
their tracks (one gzip member per batch when compressed), then a journal line with the
byte offsets reached. An uncommitted tail (whole and half-written lines, a half-written
journal line) proves readers stop at the last commit.
"""

from __future__ import annotations

import gzip
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_TYPES = ("album", "single", "ep", "ALBUM", "compilation", "Single", "EP")
_DATES = (("2026-11-20", "day"), ("2026-10", "month"), ("2025", "year"), ("2026-11-13", "day"))
_MARKETS = (["US"], ["GB"], ["US", "GB"], ["GB", "US"])


def _spotify_id(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=22))


@dataclass
class FakePull:
    """What a reader must find: only committed records."""

    out_dir: Path
    albums: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    uncommitted_album_ids: list[str] = field(default_factory=list)
    uncommitted_track_ids: list[str] = field(default_factory=list)

    @property
    def artist_ids(self) -> set[str]:
        ids = {a["id"] for album in self.albums.values() for a in album["artists"]}
        return ids | {a["id"] for track in self.tracks.values() for a in track["artists"]}


class _Builder:
    def __init__(self, seed: int, artist_names: Sequence[str]) -> None:
        self.rng = random.Random(seed)
        names = artist_names or [f"Artist {n}" for n in range(8)]
        self.artists = [
            {"id": _spotify_id(self.rng), "name": names[n % len(names)], "type": "artist"}
            for n in range(8)
        ]

    def album(self, n: int) -> dict[str, Any]:
        rng = self.rng
        date, precision = _DATES[n % len(_DATES)]
        album_id = _spotify_id(rng)
        album: dict[str, Any] = {
            "album_type": _TYPES[n % len(_TYPES)],
            "artists": rng.sample(self.artists, 1 + (n % 3 == 0)),
            "external_ids": {"upc": f"{n:014d}"},
            "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"},
            "genres": [],
            "id": album_id,
            "images": [{"url": "https://i.scdn.co/image/x", "height": 640, "width": 640}],
            "name": f"Album {n} “Déjà vu”",
            "release_date": date,
            "release_date_precision": precision,
            "total_tracks": 1 + (n * 5) % 14,
            "type": "album",
            "uri": f"spotify:album:{album_id}",
            "_etl": {
                "markets": _MARKETS[n % len(_MARKETS)],
                "extracted_at": f"2026-11-25T04:{n % 60:02d}:00Z",
                "source": "new-releases" if n % 2 else "search",
            },
        }
        if n % 4:  # development-mode bodies lack these three
            album.update(label=f"Label {n % 3}", popularity=n * 7 % 100)
            album["available_markets"] = ["GB", "US", "DE"]
        return album

    def tracks(self, album: dict[str, Any]) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        for number in range(1, album["total_tracks"] + 1):
            track_id = _spotify_id(rng)
            artists = album["artists"] + ([rng.choice(self.artists)] if number % 4 == 0 else [])
            out.append(
                {
                    "artists": list({a["id"]: a for a in artists}.values()),
                    "disc_number": 1,
                    "duration_ms": rng.randint(60_000, 420_000),
                    "explicit": number % 3 == 0,
                    "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
                    "id": track_id,
                    "is_local": False,
                    "is_playable": True,
                    "name": f"Track {number}",
                    "track_number": number,
                    "type": "track",
                    "album_id": album["id"],
                }
            )
        return out


def _lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write_pull(
    out_dir: Path,
    *,
    n_albums: int = 12,
    batch: int = 4,
    compress: bool = False,
    journal: bool = True,
    tail: bool = True,
    manifest: dict[str, Any] | None = None,
    seed: int = 7,
    artist_names: Sequence[str] = (),
) -> FakePull:
    """Write a pull to ``out_dir`` and return its committed ground truth.

    Its eight artists are named ``artist_names`` in turn (default "Artist 0" to "Artist 7").
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = _Builder(seed, artist_names)
    pull = FakePull(out_dir)
    suffix = ".ndjson.gz" if compress else ".ndjson"
    paths = {name: out_dir / f"{name}{suffix}" for name in ("albums", "tracks", "errors")}

    def append(name: str, data: bytes) -> None:
        with paths[name].open("ab") as f:
            f.write(gzip.compress(data, mtime=0) if compress and data else data)

    if journal:
        plan = {"markets": ["US", "GB"], "compress": "gzip" if compress else "none"}
        (out_dir / ".journal").write_bytes(orjson.dumps({"plan": plan}) + b"\n")
    for start in range(0, n_albums, batch):
        albums = [builder.album(n) for n in range(start, min(start + batch, n_albums))]
        tracks = [t for album in albums for t in builder.tracks(album)]
        append("albums", _lines(albums))
        append("tracks", _lines(tracks))
        errors = [] if start else [_error(builder.rng)]
        append("errors", _lines(errors))
        pull.albums.update((a["id"], a) for a in albums)
        pull.tracks.update((t["id"], t) for t in tracks)
        pull.errors += errors
        if journal:
            offsets = {name: path.stat().st_size for name, path in paths.items()}
            entry = offsets | {"ids": [a["id"] for a in albums]}
            with (out_dir / ".journal").open("ab") as f:
                f.write(orjson.dumps(entry) + b"\n")
    if tail:
        _write_tail(builder, pull, paths, compress, journal)
    if manifest is not None:
        (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest))
    return pull


def _error(rng: random.Random) -> dict[str, Any]:
    return {
        "album_id": _spotify_id(rng),
        "stage": "tracks",
        "error": "NotFoundError",
        "status": 404,
        "message": "non existing id",
        "at": "2026-11-25T04:30:00Z",
    }


def _write_tail(
    builder: _Builder, pull: FakePull, paths: dict[str, Path], compress: bool, journal: bool
) -> None:
    """A batch being written: whole album lines, tracks cut mid-line, no journal entry."""
    album = builder.album(99)
    tracks = builder.tracks(album)
    data = _lines([album])
    track_data = _lines(tracks)
    track_data = track_data[: len(track_data) - 17]
    if compress:
        data = gzip.compress(data, mtime=0)
        track_data = gzip.compress(track_data, mtime=0)[:-9]
    with paths["albums"].open("ab") as f:
        f.write(data)
    with paths["tracks"].open("ab") as f:
        f.write(track_data)
    if journal:
        with (pull.out_dir / ".journal").open("ab") as f:
            f.write(b'{"albums": 99999, "tra')
        pull.uncommitted_album_ids.append(album["id"])
        pull.uncommitted_track_ids += [t["id"] for t in tracks]
    else:  # no journal: every complete line counts, the cut one does not
        assert not compress, "a cut gzip member without a journal is unreadable"
        pull.albums[album["id"]] = album
        pull.tracks.update((t["id"], t) for t in tracks[:-1])
        pull.uncommitted_track_ids.append(tracks[-1]["id"])
