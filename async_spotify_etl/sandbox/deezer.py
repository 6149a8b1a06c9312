"""Deezer's view of the sandbox catalogue: which albums it knows, and their Deezer objects.

Deezer knows a share (``SandboxConfig.deezer_share``) of the albums, chosen from
``(seed, album id)``, so the choice is the same whatever the markets. A known album keeps
its Spotify title, label, tracks and artists; its Deezer ids, fans, genres, track ranks
and artist fan counts derive from the seed and the album's index. Deezer stores the
12-digit UPC-A where Spotify shows 13 digits with a leading 0, and an EAN-13 whole.

The truth API (what a correct Deezer enrichment of the sandbox must find), for tests:
:func:`expected_album`, :func:`expected_tracks`, :func:`expected_track` and
:func:`expected_artist`, each returning the body the emulator serves, or None on a miss.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import random
from typing import Any

from .artists import MAX_GROWTH
from .catalogue import Catalogue
from .config import SandboxConfig
from .deezer_genres import ALBUM_GENRES, GENRES, genre_name
from .names import artist_name, index_of_upc, track_of_isrc, uniform
from .objects import VARIOUS_ARTISTS, artist_id

#: What the emulator's links stand for; the sandbox serves them under ``/deezer``.
DEEZER_URL = "https://api.deezer.com"
#: An album object embeds at most this many tracks, with no paging.
EMBEDDED_TRACKS = 25
#: Share of known albums with no genre: ``genre_id`` -1 and an empty ``genres.data``.
NO_GENRE_SHARE = 0.08
#: Deezer's "Various Artists".
VARIOUS_ID = 5080
_ALBUM_BASE, _ALBUM_STEP = 300_000_000, 7
_TRACK_BASE, _TRACK_SLOTS = 3_000_000_000, 1000
_ARTIST_BASE, _ARTIST_STEP = 1_000, 3
_CDN = "https://cdn-images.dzcdn.net/images"
_SIZES = (("small", 56), ("medium", 250), ("big", 500), ("xl", 1000))
#: Where Deezer tracks may be available (each track drops a few).
_COUNTRIES = (
    *("AE", "AR", "AT", "AU", "BE", "BR", "CA", "CH", "DE", "DK", "ES", "FI", "FR"),
    *("GB", "IE", "IT", "JP", "MX", "NL", "NO", "NZ", "PL", "PT", "SE", "US", "ZA"),
)
_RECORD_TYPES = {"album": "album", "single": "single", "ep": "ep", "compilation": "compile"}


def _md5(*parts: object) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _pictures(key: str, folder: str, digest: str) -> dict[str, str]:
    """The four sized image URLs Deezer gives an object: ``{key}_small`` to ``{key}_xl``."""
    return {f"{key}_{n}": f"{_CDN}/{folder}/{digest}/{s}x{s}-000000-80-0-0.jpg" for n, s in _SIZES}


class DeezerCatalogue:
    """The Deezer objects of one sandbox catalogue, with API links under ``base``."""

    def __init__(self, spotify: Catalogue, base: str = DEEZER_URL) -> None:
        #: The Spotify catalogue as extended access renders it (with labels).
        self.spotify = spotify
        self.base = base
        self.config = spotify.config
        seconds = dt.datetime.combine(self.config.simulated_date, dt.time(), dt.UTC).timestamp()
        self._now = int(seconds)

    def __repr__(self) -> str:
        return f"<DeezerCatalogue share={self.config.deezer_share} {self.spotify!r}>"

    # -- which albums, tracks and artists Deezer knows ---------------------------------

    def knows(self, index: int) -> bool:
        """Whether Deezer has album ``index``."""
        if not 0 <= index < self.spotify.album_count:
            return False
        album_id = self.spotify.shape(index).id
        return uniform(self.config.seed, "deezer", album_id) < self.config.deezer_share

    def by_upc(self, digits: str) -> int | None:
        """The known album whose stored barcode is exactly ``digits``, or None."""
        index = index_of_upc(self.config.seed, digits)
        if index is None or not self.knows(index) or self._upc(index) != digits:
            return None
        return index

    def by_id(self, album: int) -> int | None:
        """The known album with Deezer id ``album``, or None."""
        index, rest = divmod(album - _ALBUM_BASE, _ALBUM_STEP)
        return index if rest == 0 and self.knows(index) else None

    def by_isrc(self, code: str) -> tuple[int, int] | None:
        """(album index, track number) of the known track with ISRC ``code`` (any case)."""
        found = track_of_isrc(self.config.seed, code.upper())
        if found is None or not self.knows(found[0]):
            return None
        index, number = found
        tracks = self._spotify_tracks(index)
        if number >= len(tracks) or tracks[number]["external_ids"]["isrc"] != code.upper():
            return None
        return found

    def by_track_id(self, track: int) -> tuple[int, int] | None:
        """(album index, track number) of the known track with Deezer id ``track``."""
        index, number = divmod(track - _TRACK_BASE, _TRACK_SLOTS)
        if not self.knows(index) or number >= self.spotify.shape(index).total_tracks:
            return None
        return index, number

    def artist_ident(self, artist: int) -> str | None:
        """The Spotify id of the artist with Deezer id ``artist``, or None."""
        if artist == VARIOUS_ID:
            return VARIOUS_ARTISTS
        number, rest = divmod(artist - _ARTIST_BASE, _ARTIST_STEP)
        if rest or not 0 <= number < self.spotify.artist_count:
            return None
        return artist_id(self.config.seed, number)

    def artist_id(self, ident: str) -> int:
        """The Deezer id of the artist with Spotify id ``ident``."""
        number = self.spotify.artist_number(ident)
        return VARIOUS_ID if number is None else _ARTIST_BASE + _ARTIST_STEP * number

    # -- the objects -------------------------------------------------------------------

    def album(self, index: int, lang: str = "en") -> dict[str, Any]:
        """The full album object (``GET /album/{id}``, ``/album/upc:``), at most
        :data:`EMBEDDED_TRACKS` tracks embedded."""
        spotify = self._spotify_album(index)
        tracks = self._spotify_tracks(index)
        head = self._album_head(index)
        genres = self._genres(index)
        explicit = any(t["explicit"] for t in tracks)
        album: dict[str, Any] = {
            "id": head["id"],
            "title": head["title"],
            "upc": self._upc(index),
            "link": f"https://www.deezer.com/album/{head['id']}",
            "share": self._share("album", head["id"]),
            **{k: v for k, v in head.items() if k.startswith("cover")},
            "md5_image": head["md5_image"],
            "genre_id": genres[0] if genres else -1,
            "genres": {"data": [self._genre(g, lang) for g in genres]},
            "label": spotify["label"],
            "nb_tracks": len(tracks),
            "duration": sum(round(t["duration_ms"] / 1000) for t in tracks),
            "fans": self.fans(index),
            "release_date": _date(spotify["release_date"]),
            "record_type": _RECORD_TYPES[self.spotify.shape(index).kind],
            "available": True,
            "tracklist": head["tracklist"],
            "explicit_lyrics": explicit,
            "explicit_content_lyrics": 1 if explicit else 0,
            "explicit_content_cover": 2 if explicit else 0,
            "contributors": [self._contributor(a, r) for a, r in _roles(spotify["artists"])],
            "artist": self._artist_lite(spotify["artists"][0]),
            "type": "album",
        }
        shown = min(len(tracks), EMBEDDED_TRACKS)
        embedded = [self._track_lite(index, n, head) for n in range(shown)]
        album["tracks"] = {"data": embedded[:EMBEDDED_TRACKS]}
        return album

    def tracks(self, index: int) -> list[dict[str, Any]]:
        """Every item of ``GET /album/{id}/tracks`` (with ``isrc``, ``track_position``,
        ``disk_number``), in order."""
        head = self._album_head(index)
        items = []
        for number, track in enumerate(self._spotify_tracks(index)):
            item = self._track_lite(index, number, head)
            del item["album"]
            item = _insert_after(item, "title_version", {"isrc": _isrc(track)})
            where = {"track_position": track["track_number"], "disk_number": track["disc_number"]}
            items.append(_insert_after(item, "duration", where))
        return items

    def track(self, index: int, number: int) -> dict[str, Any]:
        """The full track object (``GET /track/{id}``, ``/track/isrc:``)."""
        spotify_album = self._spotify_album(index)
        track = self._spotify_tracks(index)[number]
        head = self._album_head(index)
        lite = self._track_lite(index, number, head)
        ident = lite["id"]
        seed = self.config.seed
        bpm_roll = uniform(seed, "dz-bpm", index, number)
        bpm: float | int = 0 if bpm_roll < 0.3 else round(70 + bpm_roll * 110, 1)
        countries = [c for c in _COUNTRIES if uniform(seed, "dz-c", index, c) < 0.9]
        full: dict[str, Any] = {
            **{k: lite[k] for k in ("id", "readable", "title", "title_short", "title_version")},
            "isrc": _isrc(track),
            "link": lite["link"],
            "share": self._share("track", ident),
            "duration": lite["duration"],
            "track_position": track["track_number"],
            "disk_number": track["disc_number"],
            "rank": lite["rank"],
            "release_date": (
                "1900-01-01"
                if uniform(seed, "dz-placeholder", index, number) < 0.1
                else _date(spotify_album["release_date"])
            ),
            **{k: lite[k] for k in lite if k.startswith("explicit")},
            "preview": lite["preview"],
            "bpm": bpm,
            "gain": round(-4 - uniform(seed, "dz-gain", index, number) * 12, 1),
            "available_countries": countries,
            "contributors": [self._contributor(a, r) for a, r in _roles(track["artists"])],
            "md5_image": head["md5_image"],
            "track_token": "AAAAA" + _md5(seed, "token", ident) * 8,
            "artist": self._artist_track(track["artists"][0]),
            "album": {
                "id": head["id"],
                "title": head["title"],
                "link": f"https://www.deezer.com/album/{head['id']}",
                **{k: v for k, v in head.items() if k.startswith("cover")},
                "md5_image": head["md5_image"],
                "release_date": _date(spotify_album["release_date"]),
                "tracklist": head["tracklist"],
                "type": "album",
            },
            "type": "track",
        }
        if uniform(seed, "dz-no-version", index, number) < 0.1:  # real bodies lack it at times
            del full["title_version"]
        return full

    def artist(self, ident: str) -> dict[str, Any]:
        """The artist object (``GET /artist/{id}``): ``nb_fan``, no genres."""
        lite = self._contributor(ident, "Main")
        del lite["role"]
        number = self.spotify.artist_number(ident)
        seed = self.config.seed
        artist = {k: v for k, v in lite.items() if k not in ("radio", "tracklist", "type")}
        artist["nb_album"] = 1 + int(uniform(seed, "dz-nb-album", number) * 40)
        artist["nb_fan"] = self.nb_fan(ident)
        return {**artist, "radio": True, "tracklist": lite["tracklist"], "type": "artist"}

    def genre_list(self, lang: str = "en") -> dict[str, Any]:
        """``GET /genre``: every genre, 0 "All" first, no ``total``."""
        data = []
        for genre in GENRES:
            digest = "" if genre == 0 else _md5("genre", genre)
            data.append(
                {
                    "id": genre,
                    "name": genre_name(genre, lang),
                    "picture": f"{self.base}/genre/{genre}/image",
                    **_pictures("picture", "misc", digest),
                    "type": "genre",
                }
            )
        return {"data": data}

    # -- the values tests compare --------------------------------------------------------

    def fans(self, index: int) -> int:
        """Album ``index``'s ``fans``."""
        return int(10 ** (1 + 5 * uniform(self.config.seed, "dz-fans", index)))

    def rank(self, index: int, number: int) -> int:
        """The ``rank`` of track ``number`` of album ``index`` (0 to 1,000,000)."""
        return int(uniform(self.config.seed, "dz-rank", index, number) ** 2 * 1_000_000)

    def nb_fan(self, ident: str) -> int:
        """The ``nb_fan`` of the artist with Spotify id ``ident``; it grows a little on
        each later ``day``, like Spotify's followers."""
        seed = self.config.seed
        base = int(10 ** (2 + 5 * uniform(seed, "dz-nb-fan", ident)))
        growth = uniform(seed, "dz-growth", ident) * MAX_GROWTH
        return int(base * (1 + growth) ** self.config.day)

    def _genres(self, index: int) -> list[int]:
        seed = self.config.seed
        if uniform(seed, "dz-no-genre", index) < NO_GENRE_SHARE:
            return []
        first = ALBUM_GENRES[int(uniform(seed, "dz-genre", index) * len(ALBUM_GENRES))]
        second = ALBUM_GENRES[int(uniform(seed, "dz-genre-2", index) * len(ALBUM_GENRES))]
        if second != first and uniform(seed, "dz-two-genres", index) < 0.25:
            return [first, second]
        return [first]

    # -- pieces ----------------------------------------------------------------------------

    def _upc(self, index: int) -> str:
        barcode = str(self._spotify_album(index)["external_ids"]["upc"])
        return barcode[1:] if len(barcode) == 13 and barcode[0] == "0" else barcode

    def _spotify_album(self, index: int) -> dict[str, Any]:
        return self.spotify.parsed(index)[0]

    def _spotify_tracks(self, index: int) -> list[dict[str, Any]]:
        return self.spotify.parsed(index)[1]

    def _album_head(self, index: int) -> dict[str, Any]:
        ident = _ALBUM_BASE + _ALBUM_STEP * index
        digest = _md5(self.config.seed, "cover", index)
        return {
            "id": ident,
            "title": self._spotify_album(index)["name"],
            "cover": f"{self.base}/album/{ident}/image",
            **_pictures("cover", "cover", digest),
            "md5_image": digest,
            "tracklist": f"{self.base}/album/{ident}/tracks",
            "type": "album",
        }

    def _track_lite(self, index: int, number: int, head: dict[str, Any]) -> dict[str, Any]:
        track = self._spotify_tracks(index)[number]
        ident = _TRACK_BASE + _TRACK_SLOTS * index + number
        name = str(track["name"])
        short, _, version = name.partition(" - ")
        preview = _md5(self.config.seed, "preview", ident)
        acl = f"/api/1/1/{preview[0]}/{preview[1]}/{preview[2]}/0/{preview}.mp3"
        hmac = _md5("hmac", preview) + _md5("hmac2", preview)
        return {
            "id": ident,
            "readable": True,
            "title": name,
            "title_short": short,
            "title_version": f"({version})" if version else "",
            "link": f"https://www.deezer.com/track/{ident}",
            "duration": round(track["duration_ms"] / 1000),
            "rank": self.rank(index, number),
            "explicit_lyrics": bool(track["explicit"]),
            "explicit_content_lyrics": 1 if track["explicit"] else 0,
            "explicit_content_cover": 2 if track["explicit"] else 0,
            "preview": f"https://cdnt-preview.dzcdn.net{acl}?hdnea=exp={self._now + 900}"
            f"~acl={acl}*~data=user_id=0,application_id=42~hmac={hmac}",
            "md5_image": head["md5_image"],
            "artist": self._artist_short(track["artists"][0]),
            "album": {k: v for k, v in head.items()},
            "type": "track",
        }

    def _artist_short(self, spotify: dict[str, Any]) -> dict[str, Any]:
        ident = self.artist_id(spotify["id"])
        return {
            "id": ident,
            "name": self._artist_name(spotify["id"]),
            "tracklist": f"{self.base}/artist/{ident}/top?limit=50",
            "type": "artist",
        }

    def _artist_lite(self, spotify: dict[str, Any]) -> dict[str, Any]:
        full = self._contributor(spotify["id"], "Main")
        return {k: v for k, v in full.items() if k not in ("link", "share", "radio", "role")}

    def _artist_track(self, spotify: dict[str, Any]) -> dict[str, Any]:
        full = self._contributor(spotify["id"], "Main")
        del full["role"]
        return full

    def _contributor(self, ident: str | dict[str, Any], role: str) -> dict[str, Any]:
        spotify_id = ident if isinstance(ident, str) else str(ident["id"])
        deezer = self.artist_id(spotify_id)
        digest = _md5(self.config.seed, "artist", deezer)
        return {
            "id": deezer,
            "name": self._artist_name(spotify_id),
            "link": f"https://www.deezer.com/artist/{deezer}",
            "share": self._share("artist", deezer),
            "picture": f"{self.base}/artist/{deezer}/image",
            **_pictures("picture", "artist", digest),
            "radio": True,
            "tracklist": f"{self.base}/artist/{deezer}/top?limit=50",
            "type": "artist",
            "role": role,
        }

    def _artist_name(self, ident: str) -> str:
        number = self.spotify.artist_number(ident)
        if number is None:
            return "Various Artists"
        return artist_name(random.Random(f"{self.config.seed}/artist/{number}"))

    def _genre(self, genre: int, lang: str) -> dict[str, Any]:
        return {
            "id": genre,
            "name": genre_name(genre, lang),
            "picture": f"{self.base}/genre/{genre}/image",
            "type": "genre",
        }

    def _share(self, kind: str, ident: int) -> str:
        return (
            f"https://www.deezer.com/{kind}/{ident}?utm_source=deezer&utm_content={kind}-{ident}"
            f"&utm_term=0_{self._now}&utm_medium=web"
        )


def _roles(artists: list[dict[str, Any]]) -> list[tuple[str, str]]:
    unique = dict.fromkeys(str(a["id"]) for a in artists)  # each artist credited once
    return [(a, "Main" if i == 0 else "Featured") for i, a in enumerate(unique)]


def _isrc(track: dict[str, Any]) -> str:
    return str(track["external_ids"]["isrc"])


def _insert_after(item: dict[str, Any], key: str, extra: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in item.items():
        out[k] = v
        if k == key:
            out.update(extra)
    return out


def _date(release_date: str) -> str:
    """Spotify's release date, of any precision, as Deezer's ``YYYY-MM-DD``."""
    return (release_date + "-01-01")[:10] if len(release_date) == 4 else (release_date + "-01")[:10]


# -- the truth API ---------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def truth_catalogue(config: SandboxConfig, base: str = DEEZER_URL) -> DeezerCatalogue:
    """The Deezer catalogue of ``config`` (cached), as the emulator serves it."""
    return DeezerCatalogue(Catalogue(config.replace(access="extended"), ""), base)


def expected_album(
    config: SandboxConfig, album_id: str, base: str = DEEZER_URL
) -> dict[str, Any] | None:
    """The Deezer album (``/album/upc:``, English genre names) of Spotify album
    ``album_id``, or None when Deezer does not know it."""
    deezer = truth_catalogue(config, base)
    index = deezer.spotify.index_of(album_id)
    return None if index is None or not deezer.knows(index) else deezer.album(index)


def expected_tracks(
    config: SandboxConfig, album_id: str, base: str = DEEZER_URL
) -> list[dict[str, Any]] | None:
    """Every ``/album/{id}/tracks`` item of Spotify album ``album_id``, or None."""
    deezer = truth_catalogue(config, base)
    index = deezer.spotify.index_of(album_id)
    return None if index is None or not deezer.knows(index) else deezer.tracks(index)


def expected_track(
    config: SandboxConfig, isrc: str, base: str = DEEZER_URL
) -> dict[str, Any] | None:
    """The Deezer track ``/track/isrc:{isrc}`` answers with, or None."""
    deezer = truth_catalogue(config, base)
    found = deezer.by_isrc(isrc)
    return None if found is None else deezer.track(*found)


def expected_artist(
    config: SandboxConfig, artist_id: str, base: str = DEEZER_URL
) -> dict[str, Any] | None:
    """The Deezer artist of Spotify artist ``artist_id`` (``nb_fan`` as of ``config.day``),
    or None for an artist the catalogue does not have."""
    deezer = truth_catalogue(config, base)
    if artist_id != VARIOUS_ARTISTS and deezer.spotify.artist_number(artist_id) is None:
        return None
    return deezer.artist(artist_id)
