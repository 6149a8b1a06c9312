"""The tables both dlt sources load, and how a pull's records become their rows.

One owner for the shape: :data:`TABLES` declares every table's primary key and write
disposition, and the ``*_rows`` functions turn the records of a pull (album lines with
their tracks, artist lines, error lines, listings and events) into rows, with the same
column names and meaning as ``spotify-etl load`` (docs/analytics.md). Lists (markets,
genres) stay JSON columns on their row and are also unnested into their own keyed table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ...core.types import JSONObject
from ...output.dataset import listing_events

Row = dict[str, Any]
Disposition = Literal["merge", "append"]


@dataclass(frozen=True)
class Table:
    """One table: its columns (name to dlt data type), primary key and write disposition."""

    columns: Mapping[str, str]
    primary_key: tuple[str, ...]
    write_disposition: Disposition
    doc: str
    #: Of the rows one load holds for a key, the one with the latest of this column wins.
    latest: str | None = None


_T, _I, _B, _TS, _J = "text", "bigint", "bool", "timestamp", "json"
_ARTIST_SNAPSHOT = {"popularity": _I, "followers": _I, "genres": _J, "fetched_at": _TS}

#: Every table, in load order. Entities merge on their key (a second load of an album
#: replaces its row); what happened in a run (its listing and events) is appended, one
#: row per run, and an artist's popularity and followers are kept per run in
#: ``artist_snapshots`` (keyed by run and artist, so a run finished later adds no copy).
TABLES: dict[str, Table] = {
    "albums": Table(
        {
            "album_id": _T,
            "name": _T,
            "album_type": _T,
            "album_type_raw": _T,
            "total_tracks": _I,
            "release_date": "date",
            "release_date_precision": _T,
            "label": _T,
            "popularity": _I,
            "upc": _T,
            "available_markets": _J,
            "markets": _J,
            "spotify_url": _T,
            "source": _T,
            "extracted_at": _TS,
        },
        ("album_id",),
        "merge",
        "one row per album, the latest fetch",
        "extracted_at",
    ),
    "tracks": Table(
        {
            "track_id": _T,
            "album_id": _T,
            "name": _T,
            "disc_number": _I,
            "track_number": _I,
            "duration_ms": _I,
            "explicit": _B,
            "is_playable": _B,
            "is_local": _B,
            "spotify_url": _T,
        },
        ("track_id",),
        "merge",
        "one row per track",
    ),
    "album_artists": Table(
        {"album_id": _T, "position": _I, "artist_id": _T},
        ("album_id", "position"),
        "merge",
        "an album's credited artists, 1-based",
    ),
    "track_artists": Table(
        {"track_id": _T, "position": _I, "artist_id": _T},
        ("track_id", "position"),
        "merge",
        "a track's credited artists, 1-based",
    ),
    "album_markets": Table(
        {"album_id": _T, "market": _T},
        ("album_id", "market"),
        "merge",
        "every market whose listing held the album",
    ),
    "artists": Table(
        {"artist_id": _T, "name": _T, **_ARTIST_SNAPSHOT, "image_url": _T, "spotify_url": _T},
        ("artist_id",),
        "merge",
        "one row per fetched artist, its latest fetch",
        "fetched_at",
    ),
    "artist_genres": Table(
        {"artist_id": _T, "genre": _T}, ("artist_id", "genre"), "merge", "an artist's genres"
    ),
    "artist_snapshots": Table(
        {"run_id": _T, "artist_id": _T, **_ARTIST_SNAPSHOT},
        ("run_id", "artist_id"),
        "merge",
        "an artist's popularity and followers as each run saw them",
        "fetched_at",
    ),
    "listings": Table(
        {"run_id": _T, "observed_at": _TS, "market": _T, "position": _I, "album_id": _T},
        ("run_id", "market", "position"),
        "append",
        "each run's whole listing, 1-based positions",
    ),
    "events": Table(
        {
            "run_id": _T,
            "at": _TS,
            "market": _T,
            "album_id": _T,
            "event": _T,
            "position": _I,
            "previous_position": _I,
        },
        ("run_id", "market", "album_id"),
        "append",
        "listed / delisted since the previous run",
    ),
    "errors": Table(
        {
            "run_id": _T,
            "subject_id": _T,
            "album_id": _T,
            "artist_id": _T,
            "stage": _T,
            "error": _T,
            "status": _I,
            "message": _T,
            "failed_at": _TS,
        },
        ("run_id", "stage", "subject_id"),
        "merge",
        "albums and artists that failed for good, per run",
    ),
    "runs": Table(
        {
            "run_id": _T,
            "started_at": _TS,
            "finished_at": _TS,
            "status": _T,
            "markets": _J,
            "albums": _I,
            "tracks": _I,
            "failed": _I,
            "artists": _I,
            "artists_failed": _I,
            "requests": _I,
        },
        ("run_id",),
        "merge",
        "one row per run: when, how it ended, what it added",
    ),
}


def album_rows(
    album: Mapping[str, Any], tracks: Sequence[Mapping[str, Any]]
) -> Iterator[tuple[str, Row]]:
    """(table, row) for an album line and its track lines: the album, its tracks, their
    credits and the album's markets."""
    album_id = album.get("id")
    if not isinstance(album_id, str):
        return
    etl = _object(album.get("_etl"))
    markets = sorted({m for m in etl.get("markets") or () if isinstance(m, str)})
    precision = _precision(album.get("release_date_precision"), album.get("release_date"))
    kind = album.get("album_type")
    yield (
        "albums",
        {
            "album_id": album_id,
            "name": album.get("name"),
            "album_type": kind.strip().lower() if isinstance(kind, str) else None,
            "album_type_raw": kind,
            "total_tracks": album.get("total_tracks"),
            "release_date": _release_date(album.get("release_date"), precision),
            "release_date_precision": precision,
            "label": album.get("label"),
            "popularity": album.get("popularity"),
            "upc": _object(album.get("external_ids")).get("upc"),
            "available_markets": album.get("available_markets"),
            "markets": markets,
            "spotify_url": _object(album.get("external_urls")).get("spotify"),
            "source": etl.get("source"),
            "extracted_at": timestamp(etl.get("extracted_at")),
        },
    )
    for market in markets:
        yield "album_markets", {"album_id": album_id, "market": market}
    for position, artist_id in _credits(album):
        yield "album_artists", {"album_id": album_id, "position": position, "artist_id": artist_id}
    for track in tracks:
        yield from track_rows(track)


def track_rows(track: Mapping[str, Any]) -> Iterator[tuple[str, Row]]:
    """(table, row) for a track line (it names its ``album_id``) and its credits."""
    track_id, album_id = track.get("id"), track.get("album_id")
    if not isinstance(track_id, str) or not isinstance(album_id, str):
        return
    yield (
        "tracks",
        {
            "track_id": track_id,
            "album_id": album_id,
            "name": track.get("name"),
            "disc_number": track.get("disc_number"),
            "track_number": track.get("track_number"),
            "duration_ms": track.get("duration_ms"),
            "explicit": track.get("explicit"),
            "is_playable": track.get("is_playable"),
            "is_local": track.get("is_local"),
            "spotify_url": _object(track.get("external_urls")).get("spotify"),
        },
    )
    for position, artist_id in _credits(track):
        yield "track_artists", {"track_id": track_id, "position": position, "artist_id": artist_id}


def artist_rows(artist: Mapping[str, Any], run_id: str) -> Iterator[tuple[str, Row]]:
    """(table, row) for an artist line: the artist, its genres, and the run's snapshot."""
    artist_id = artist.get("id")
    if not isinstance(artist_id, str):
        return
    genres = artist.get("genres")
    genres = [g for g in genres if isinstance(g, str)] if isinstance(genres, list) else None
    followers = _object(artist.get("followers")).get("total")
    fetched_at = timestamp(_object(artist.get("_etl")).get("extracted_at"))
    yield (
        "artists",
        {
            "artist_id": artist_id,
            "name": artist.get("name"),
            "popularity": artist.get("popularity"),
            "followers": followers,
            "genres": genres,
            "image_url": _widest_image(artist.get("images")),
            "spotify_url": _object(artist.get("external_urls")).get("spotify"),
            "fetched_at": fetched_at,
        },
    )
    for genre in sorted(set(genres or ())):
        yield "artist_genres", {"artist_id": artist_id, "genre": genre}
    yield (
        "artist_snapshots",
        {
            "run_id": run_id,
            "artist_id": artist_id,
            "popularity": artist.get("popularity"),
            "followers": followers,
            "genres": genres,
            "fetched_at": fetched_at,
        },
    )


def error_row(record: Mapping[str, Any], run_id: str) -> Row:
    """An errors.ndjson record as a row of ``errors``."""
    album_id, artist_id = record.get("album_id"), record.get("artist_id")
    return {
        "run_id": run_id,
        "subject_id": str(album_id if album_id is not None else artist_id),
        "album_id": album_id,
        "artist_id": artist_id,
        "stage": str(record.get("stage")),
        "error": record.get("error"),
        "status": record.get("status"),
        "message": record.get("message"),
        "failed_at": timestamp(record.get("at")),
    }


def listing_rows(run_id: str, observed_at: str, listing: Mapping[str, Sequence[str]]) -> list[Row]:
    """One row per market, position (from 1) and album of a run's listing."""
    at = timestamp(observed_at)
    return [
        {"run_id": run_id, "observed_at": at, "market": market, "position": n, "album_id": a}
        for market, ids in listing.items()
        for n, a in enumerate(ids, 1)
    ]


def event_rows(
    run_id: str,
    at: str,
    listing: Mapping[str, Sequence[str]],
    previous: Mapping[str, Sequence[str]],
) -> list[Row]:
    """What entered (``listed``) and left (``delisted``) each market since ``previous``,
    by the dataset's own rule (:func:`~async_spotify_etl.output.dataset.listing_events`):
    a market not listed this run has no events."""

    def positions(ids: Sequence[str]) -> dict[str, int]:
        return {a: n for n, a in enumerate(ids, 1)}

    now = {m: positions(ids) for m, ids in listing.items()}
    before = {m: positions(ids) for m, ids in previous.items()}
    return [
        {**event, "at": timestamp(event["at"])} for event in listing_events(run_id, at, now, before)
    ]


def event_row(run_id: str, record: Mapping[str, Any]) -> Row:
    """An events.ndjson record as a row of ``events``."""
    return _event(
        run_id,
        timestamp(record.get("at")),
        str(record.get("market")),
        str(record.get("album_id")),
        str(record.get("event")),
        record.get("position"),
        record.get("previous_position"),
    )


def run_row(
    run_id: str,
    *,
    started_at: str | None,
    finished_at: str | None,
    status: str,
    markets: Sequence[str],
    counts: Mapping[str, Any],
    requests: int | None,
) -> Row:
    """The row of ``runs``: when a run went, how it ended and what it added."""
    return {
        "run_id": run_id,
        "started_at": timestamp(started_at),
        "finished_at": timestamp(finished_at),
        "status": status,
        "markets": list(markets),
        **{k: counts.get(k) for k in ("albums", "tracks", "failed", "artists", "artists_failed")},
        "requests": requests,
    }


def timestamp(stamp: object) -> dt.datetime | None:
    """A stamp of the pull's files (ISO-8601, ``Z``) as an aware datetime; None if unreadable."""
    if not isinstance(stamp, str):
        return None
    try:
        value = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _event(
    run_id: str,
    at: dt.datetime | None,
    market: str,
    album_id: str,
    event: str,
    position: int | None,
    previous: int | None,
) -> Row:
    return {
        "run_id": run_id,
        "at": at,
        "market": market,
        "album_id": album_id,
        "event": event,
        "position": position,
        "previous_position": previous,
    }


def _credits(record: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    artists = record.get("artists")
    for position, artist in enumerate(artists if isinstance(artists, list) else (), 1):
        if isinstance(artist, dict) and isinstance(artist.get("id"), str):
            yield position, artist["id"]


def _precision(given: object, release_date: object) -> str:
    if isinstance(given, str) and given.strip():
        return given.strip().lower()
    length = len(release_date) if isinstance(release_date, str) else 0
    return {4: "year", 7: "month"}.get(length, "day")


def _release_date(value: object, precision: str) -> dt.date | None:
    """The release date; the first day of its year or month for coarser precisions."""
    if not isinstance(value, str):
        return None
    pattern = {"year": "%Y", "month": "%Y-%m"}.get(precision, "%Y-%m-%d")
    try:
        return dt.datetime.strptime(value, pattern).date()
    except ValueError:
        return None


def _widest_image(images: object) -> str | None:
    candidates = [
        i
        for i in (images if isinstance(images, list) else ())
        if isinstance(i, dict) and i.get("url")
    ]
    if not candidates:
        return None
    widest = max(candidates, key=_width)
    url = widest.get("url")
    return url if isinstance(url, str) else None


def _width(image: JSONObject) -> int:
    width = image.get("width")
    return width if isinstance(width, int) else -1


def _object(value: object) -> JSONObject:
    return value if isinstance(value, dict) else {}
