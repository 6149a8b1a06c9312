"""The enrichment stage: each pulled album looked up on Deezer and MusicBrainz by its UPC.

Per album, Deezer: ``/album/upc:{upc}`` as given, then with leading zeros stripped one at
a time, until one matches; on a match ``/album/{id}/tracks`` (pages of 100) gives every
track's ISRC, matched to Spotify's without a request per track; then ``/artist/{id}``
once per distinct Deezer artist the pull's Spotify artists match by case-folded name.
MusicBrainz: one release search by barcode, and on a hit one release-group lookup with
``inc=genres+tags``. A miss is a line with null, not a failure. :func:`minimum` says the
fewest requests; docs/enrich.md the rules.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..client.deezer import TRACKS_PAGE, DeezerClient, upc_forms
from ..client.musicbrainz import MusicBrainzClient, barcode_key
from ..core.errors import HTTPStatusError, SpotifyETLError, TransportError, is_transient
from ..core.timestamps import now_iso
from ..core.types import JSONObject

#: Errors that end one album's (or artist's) enrichment; anything else stops the pull.
ENRICH_ERRORS = (HTTPStatusError, TransportError)


def deezer_key(album_id: str) -> str:
    return f"deezer:{album_id}"


def musicbrainz_key(album_id: str) -> str:
    return f"musicbrainz:{album_id}"


def artist_key(artist_id: str) -> str:
    return f"deezer-artist:{artist_id}"


def spotify_upc(album: Mapping[str, Any]) -> str | None:
    """The album's UPC as Spotify gives it (``external_ids.upc``), or None."""
    ids = album.get("external_ids")
    upc = ids.get("upc") if isinstance(ids, dict) else None
    return upc if isinstance(upc, str) and upc.strip() else None


def spotify_isrc(track: Mapping[str, Any]) -> str | None:
    ids = track.get("external_ids")
    isrc = ids.get("isrc") if isinstance(ids, dict) else None
    return isrc.strip().upper() if isinstance(isrc, str) and isrc.strip() else None


def spotify_credits(
    album: Mapping[str, Any], tracks: Iterable[Mapping[str, Any]]
) -> dict[str, str]:
    """Spotify artist id -> name for every artist credited on the album or its tracks."""
    credits: dict[str, str] = {}
    for item in (album, *tracks):
        for artist in item.get("artists") or ():
            if isinstance(artist, dict) and isinstance(artist.get("id"), str):
                credits.setdefault(artist["id"], str(artist.get("name") or ""))
    return credits


def deezer_names(album: Mapping[str, Any]) -> dict[str, int]:
    """Case-folded name -> Deezer artist id of the album's ``artist`` and ``contributors``."""
    names: dict[str, int] = {}
    for artist in (album.get("artist"), *(album.get("contributors") or ())):
        if isinstance(artist, dict) and isinstance(artist.get("id"), int) and artist.get("name"):
            names.setdefault(str(artist["name"]).casefold(), artist["id"])
    return names


@dataclass(frozen=True)
class DeezerAlbum:
    """One album's Deezer lines: its ``deezer_albums`` line and ``deezer_tracks`` lines."""

    album: JSONObject
    tracks: list[JSONObject]


@dataclass
class EnrichStats:
    """Albums looked up and matched per API, tracks matched, artists fetched."""

    looked_up: dict[str, int] = field(default_factory=lambda: {"deezer": 0, "musicbrainz": 0})
    matched: dict[str, int] = field(default_factory=lambda: {"deezer": 0, "musicbrainz": 0})
    tracks: int = 0
    tracks_matched: int = 0
    artists: int = 0
    #: Deezer artist ids fetched (one request each) and the track pages read.
    deezer_artists: int = 0
    track_pages: int = 0
    failed: int = 0
    #: Steps a transient failure left due for a resume.
    still_due: int = 0
    #: The fewest requests that would have found what this run found (docs/enrich.md).
    minimum: Counter[str] = field(default_factory=Counter)
    #: Seconds each API's part took, from its first request to its last line.
    seconds: dict[str, float] = field(default_factory=dict)
    last_error: SpotifyETLError | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "looked_up": dict(self.looked_up),
            "matched": dict(self.matched),
            "tracks": self.tracks,
            "tracks_matched": self.tracks_matched,
            "artists": self.artists,
            "failed": self.failed,
            "still_due": self.still_due,
            "minimum_requests": dict(self.minimum),
            "seconds": {api: round(t, 3) for api, t in self.seconds.items()},
        }

    def count_deezer(self, upc: str | None, found: JSONObject | None) -> None:
        """Add the fewest Deezer requests for one album: one lookup and its track pages
        where Deezer has it, every form where it has not."""
        if found is None:
            self.minimum["deezer-album-upc"] += len(upc_forms(upc or ""))
            return
        self.minimum["deezer-album-upc"] += 1
        total = found.get("nb_tracks")
        pages = math.ceil(total / TRACKS_PAGE) if isinstance(total, int) else 1
        self.minimum["deezer-album-tracks"] += max(1, pages)

    def count_musicbrainz(self, line: JSONObject) -> None:
        if line["_etl"]["barcode"]:
            self.minimum["musicbrainz-release-search"] += 1
        if line["release"] is not None and line["release_group"] is not None:
            self.minimum["musicbrainz-release-group"] += 1


async def deezer_album(
    client: DeezerClient, album: Mapping[str, Any], tracks: Sequence[Mapping[str, Any]]
) -> DeezerAlbum:
    """Look the album up by UPC and match its tracks by ISRC (see the module docstring).

    ``_etl.artists`` maps each credited Spotify artist to the Deezer artist its name
    matched on this album (or null), so the artists step needs no second look."""
    album_id = str(album.get("id"))
    upc = spotify_upc(album)
    found, form = await client.album_by_upc(upc)
    stamp = now_iso()
    credits = spotify_credits(album, tracks)
    lines: list[JSONObject] = []
    matches: dict[str, int | None] = dict.fromkeys(credits)
    if found is not None:
        names = deezer_names(found)
        matches = {sid: names.get(name.casefold()) for sid, name in credits.items()}
        items = await client.album_tracks(found["id"]) if isinstance(found.get("id"), int) else []
        by_isrc: dict[str, JSONObject] = {}
        for item in items:
            isrc = item.get("isrc")
            if isinstance(isrc, str):
                by_isrc.setdefault(isrc.upper(), item)
        for track in tracks:
            isrc = spotify_isrc(track)
            lines.append(
                {
                    "track_id": track.get("id"),
                    "album_id": album_id,
                    "isrc": isrc,
                    "deezer": by_isrc.get(isrc) if isrc else None,
                    "_etl": {"extracted_at": stamp},
                }
            )
    line: JSONObject = {
        "album_id": album_id,
        "upc": upc,
        "deezer": None if found is None else {k: v for k, v in found.items() if k != "tracks"},
        "_etl": {"extracted_at": stamp, "lookup": form, "artists": matches},
    }
    return DeezerAlbum(line, lines)


async def deezer_artist(
    client: DeezerClient,
    artist_id: str,
    deezer_id: int | None,
    cache: dict[int, asyncio.Future[JSONObject | None]],
) -> JSONObject:
    """The ``deezer_artists`` line of one Spotify artist; each Deezer id is fetched once,
    however many Spotify artists (and workers) ask for it at the same time."""
    found: JSONObject | None = None
    if deezer_id is not None:
        if deezer_id not in cache:
            cache[deezer_id] = asyncio.ensure_future(client.artist(deezer_id))
        fetch = cache[deezer_id]
        try:
            found = await asyncio.shield(fetch)
        except BaseException:
            if fetch.done() and not fetch.cancelled() and fetch.exception() is not None:
                del cache[deezer_id]  # a failure is not remembered: the next asks again
            raise
    return {
        "artist_id": artist_id,
        "deezer": found,
        "_etl": {"extracted_at": now_iso(), "deezer_id": deezer_id},
    }


async def musicbrainz_release(client: MusicBrainzClient, album: Mapping[str, Any]) -> JSONObject:
    """The ``musicbrainz_releases`` line of one album: the best barcode hit and its group."""
    upc = spotify_upc(album)
    release = await client.release_by_barcode(upc)
    group: JSONObject | None = None
    if release is not None:
        rg = release.get("release-group")
        if isinstance(rg, dict) and isinstance(rg.get("id"), str):
            group = await client.release_group(rg["id"])
    return {
        "album_id": str(album.get("id")),
        "upc": upc,
        "release": release,
        "release_group": group,
        "_etl": {"extracted_at": now_iso(), "barcode": barcode_key(upc) or None},
    }


def failure_record(stage: str, ident: str, exc: SpotifyETLError, kind: str = "album") -> JSONObject:
    """The errors.ndjson line of a failed enrichment step (stage ``deezer`` or ``musicbrainz``)."""
    record: JSONObject = {
        f"{kind}_id": ident,
        "stage": stage,
        "error": type(exc).__name__,
        "message": str(exc)[:300],
        "transient": is_transient(exc),
        "failed_at": now_iso(),
    }
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        record["status"] = status
    return record


def minimum(
    sources: Sequence[str], track_totals: Iterable[int], deezer_artists: int = 0
) -> dict[str, int]:
    """The fewest requests that enrich albums of ``track_totals`` tracks, each with a UPC
    the first form of which Deezer holds: per album one Deezer UPC lookup and
    ceil(tracks/100) track pages (at least one), ``deezer_artists`` artist requests; one
    MusicBrainz search per album (its release-group lookups are one per hit, counted
    once the hits are known). A Deezer miss costs one lookup per form (:func:`upc_forms`)
    and no track page."""
    totals = list(track_totals)
    out: dict[str, int] = {}
    if "deezer" in sources:
        out["deezer-album-upc"] = len(totals)
        out["deezer-album-tracks"] = sum(max(1, math.ceil(t / TRACKS_PAGE)) for t in totals)
        out["deezer-artist"] = deezer_artists
    if "musicbrainz" in sources:
        out["musicbrainz-release-search"] = len(totals)
    return {k: v for k, v in out.items() if v}
