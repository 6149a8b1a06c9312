"""Enrichment files (``pull --enrich deezer,musicbrainz``) for a pull already on disk.

:func:`write_enrichment` reads the pull's committed albums and tracks (a fake pull or a
real sandbox pull) and writes ``deezer_albums``, ``deezer_tracks``, ``deezer_artists`` and
``musicbrainz_releases`` in the agreed formats (docs/enrich.md), with hits and recorded
misses, then commits them in the journal as the enrichment stage does. It returns the
ground truth the loaded tables must equal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from async_spotify_etl.output.reader import read_committed

#: Deezer's genre names, as the English genre list has them.
DEEZER_GENRES = ("Pop", "Rap/Hip Hop", "Dance", "Rock", "Electro", "R&B", "Alternative")
#: MusicBrainz's genres (lower case, as its genre list has them).
MB_GENRES = ("pop", "hip hop", "house", "indie rock", "synth-pop", "trap")
STAMP = "2026-11-25T05:{:02d}:00Z"


def _number(text: str, modulo: int) -> int:
    """A stable number from ``text`` (the same album gets the same fans on every run)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % modulo


@dataclass
class Enriched:
    """What the tables must hold: per album, track and artist, Deezer's and MusicBrainz's."""

    #: album id -> (fans, genres) of a Deezer hit, or None for a recorded miss.
    deezer_albums: dict[str, tuple[int, list[str]] | None] = field(default_factory=dict)
    #: track id -> rank of a Deezer hit, or None.
    deezer_tracks: dict[str, int | None] = field(default_factory=dict)
    #: artist id -> nb_fan of a Deezer hit, or None.
    deezer_artists: dict[str, int | None] = field(default_factory=dict)
    #: album id -> release-group genres (most votes first) of a MusicBrainz hit, or None.
    musicbrainz: dict[str, list[str] | None] = field(default_factory=dict)


def write_enrichment(
    out_dir: Path,
    *,
    deezer_miss_every: int = 5,
    musicbrainz_hit_every: int = 3,
    minute: int = 0,
    fan_scale: int = 1,
) -> Enriched:
    """Enrichment files for the pull in ``out_dir``: every ``deezer_miss_every``-th album
    (by id) is a Deezer miss, every ``musicbrainz_hit_every``-th a MusicBrainz hit; every
    fifth artist a Deezer miss. ``minute`` stamps the lines (a later run, a later minute);
    ``fan_scale`` multiplies the fan counts (a later snapshot)."""
    albums = sorted(read_committed(out_dir, "albums"), key=lambda a: a["id"])
    tracks: dict[str, list[dict[str, Any]]] = {}
    for track in read_committed(out_dir, "tracks"):
        tracks.setdefault(track["album_id"], []).append(track)
    truth = Enriched()
    stamp = STAMP.format(minute)
    lines: dict[str, list[dict[str, Any]]] = {
        "deezer_albums": [],
        "deezer_tracks": [],
        "deezer_artists": [],
        "musicbrainz_releases": [],
    }
    credited: dict[str, str] = {}
    for n, album in enumerate(albums):
        album_id = album["id"]
        upc = (album.get("external_ids") or {}).get("upc")
        for item in (album, *tracks.get(album_id, [])):  # features included, as the stage
            for artist in item.get("artists") or ():
                credited.setdefault(artist["id"], artist.get("name", ""))
        deezer: dict[str, Any] | None = None
        if n % deezer_miss_every != deezer_miss_every - 1:
            fans = (1 + _number(album_id, 50_000)) * fan_scale
            none = n % 7 == 3  # Deezer's "no genre": genre_id -1, no genres
            genres = [] if none else [DEEZER_GENRES[_number(album_id + "g", len(DEEZER_GENRES))]]
            deezer = {
                "id": 300_000 + n,
                "title": album.get("name"),
                "upc": upc[1:] if upc and len(upc) == 13 and upc[0] == "0" else upc,
                "fans": fans,
                "genre_id": -1 if none else 100 + n,
                "genres": {"data": [{"id": 100 + n, "name": g, "type": "genre"} for g in genres]},
                "record_type": "album",
                "release_date": "2026-11-20",
                "nb_tracks": len(tracks.get(album_id, [])),
                "label": "A Label",
                "type": "album",
            }
            truth.deezer_albums[album_id] = (fans, genres)
            for m, track in enumerate(tracks.get(album_id, [])):
                isrc = f"QZ{_number(track['id'], 10**9):010d}"
                item = (
                    None
                    if m % 6 == 5
                    else {
                        "id": 900_000_000 + _number(track["id"], 10**8),
                        "isrc": isrc,
                        "title": track.get("name"),
                        "rank": 1000 + _number(track["id"], 900_000),
                        "duration": (track.get("duration_ms") or 0) // 1000,
                        "type": "track",
                    }
                )
                truth.deezer_tracks[track["id"]] = None if item is None else item["rank"]
                etl = {"extracted_at": stamp}
                lines["deezer_tracks"].append(
                    {
                        "track_id": track["id"],
                        "album_id": album_id,
                        "isrc": isrc,
                        "deezer": item,
                        "_etl": etl,
                    }
                )
        else:
            truth.deezer_albums[album_id] = None
        etl = {"extracted_at": stamp, "lookup": upc}
        lines["deezer_albums"].append(
            {"album_id": album_id, "upc": upc, "deezer": deezer, "_etl": etl}
        )
        release: dict[str, Any] | None = None
        group: dict[str, Any] | None = None
        if n % musicbrainz_hit_every == 0:
            group_id = f"00000000-0000-4000-8000-{n:012d}"
            names = [MB_GENRES[_number(album_id + "mb", len(MB_GENRES))], "electronic"]
            release = {
                "id": f"10000000-0000-4000-8000-{n:012d}",
                "score": 100,
                "title": album.get("name"),
                "barcode": upc,
                "release-group": {
                    "id": group_id,
                    "title": album.get("name"),
                    "primary-type": "Album",
                },
            }
            group = {
                "id": group_id,
                "title": album.get("name"),
                "genres": [
                    {"count": 3, "id": "g1", "name": names[0], "disambiguation": ""},
                    {"count": 1, "id": "g2", "name": names[1], "disambiguation": ""},
                ],
                "tags": [{"count": 2, "name": "seen live"}],
            }
            truth.musicbrainz[album_id] = names
        else:
            truth.musicbrainz[album_id] = None
        lines["musicbrainz_releases"].append(
            {
                "album_id": album_id,
                "upc": upc,
                "release": release,
                "release_group": group,
                "_etl": {"extracted_at": stamp, "barcode": upc},
            }
        )
    for m, (artist_id, name) in enumerate(sorted(credited.items())):
        found = None
        if m % 5 != 4:
            found = {
                "id": 5_000 + m,
                "name": name,
                "nb_fan": (1 + _number(artist_id, 2_000_000)) * fan_scale,
                "nb_album": 3,
                "type": "artist",
            }
        truth.deezer_artists[artist_id] = None if found is None else found["nb_fan"]
        lines["deezer_artists"].append(
            {"artist_id": artist_id, "deezer": found, "_etl": {"extracted_at": stamp}}
        )
    for stream, records in lines.items():
        path = out_dir / f"{stream}.ndjson"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    _commit(out_dir, list(lines))
    return truth


def _commit(out_dir: Path, streams: list[str]) -> None:
    """A journal commit line with the enrichment files' lengths, as the stage writes one."""
    journal = out_dir / ".journal"
    if not journal.exists():
        return
    data = journal.read_bytes()
    last: dict[str, Any] = {}
    for line in data.splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and "ids" in entry:
            last = entry
    entry = {k: v for k, v in last.items() if isinstance(v, int)}
    entry |= {s: (out_dir / f"{s}.ndjson").stat().st_size for s in streams}
    entry |= {"ids": [], "n": last.get("n", {})}
    prefix = data if data.endswith(b"\n") else data[: data.rfind(b"\n") + 1]
    journal.write_bytes(prefix + orjson.dumps(entry) + b"\n")
