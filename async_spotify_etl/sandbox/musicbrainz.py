"""MusicBrainz's view of the sandbox catalogue: releases, release groups, recordings, artists.

MusicBrainz knows a share (``SandboxConfig.musicbrainz_share``) of the albums, chosen
from ``(seed, album id)`` whatever the markets: each has one digital release carrying the
album's barcode, in a release group with community genres and tags (none for some), and
every track of it a recording under its ISRC; one ISRC in eight maps to two or three
recordings (an edit, a live take), as real data does. MBIDs encode what they name, so a
lookup needs no index. Credited artists have MBIDs, genres and tags of their own.

The truth API, for tests: :func:`expected_release` (the search hit a barcode finds),
:func:`expected_release_group`, :func:`expected_recordings` and :func:`expected_artist`,
each the body the emulator serves (with ``inc=genres+tags``), or None on a miss.
"""

from __future__ import annotations

import functools
import random
import zlib
from typing import Any

from .catalogue import Catalogue
from .config import SandboxConfig
from .names import artist_name, index_of_upc, mbid, number_of_mbid, track_of_isrc, uniform
from .objects import VARIOUS_ARTISTS

VARIOUS_MBID = "89ad4ac3-39f7-470e-963a-56509c546377"
#: Share of ISRCs that map to more than one recording.
SHARED_ISRC_SHARE = 0.125
#: Share of release groups and artists with no genres and no tags.
UNTAGGED_SHARE = 0.2
_TRACK_SLOTS, _TAKES = 300, 4
_TYPES = {
    "Album": "f529b476-6e62-324f-b0aa-1f3e33d313fc",
    "Single": "d6038452-8ee0-3f68-affc-2de9a1ede0b9",
    "EP": "6d0c5bf6-7a33-3420-a519-44fc63eedebf",
}
_COMPILATION = "dd2a21e1-0c00-3729-a7a0-de60b84eb5d1"
_KINDS = {"album": "Album", "single": "Single", "ep": "EP", "compilation": "Album"}
_WORLD = {
    "id": "525d4e18-3d00-31b9-a58b-a146a916de8f",
    "name": "[Worldwide]",
    "sort-name": "[Worldwide]",
    "iso-3166-1-codes": ["XW"],
}
_COUNTRIES = ("US", "GB", "DE", "FR", "SE", "JP", "BR", "KR", "NG", "MX")
_PERSON = ("Person", "b6e035f4-3ce9-331c-97df-83397230b0df")
_GROUP = ("Group", "e431f5f6-b5d2-343d-8b36-72607fffb74b")
_OTHER = ("Other", "ac897045-5043-3294-8b51-3d7f6b5d4c88")
_MORE_GENRES = (
    *("hip hop", "rock", "dance-pop", "r&b", "indie pop", "trap", "alternative rock"),
    *("country", "reggaeton", "latin pop", "soul", "jazz", "folk", "metal", "punk"),
    *("ambient", "techno", "afrobeats", "synth-pop", "singer-songwriter"),
)
#: MusicBrainz genres (ids from its genre list where the server's fixtures show them).
GENRES: dict[str, str] = {
    "pop": "911c7bbb-172d-4df8-9478-dbff4296e791",
    "electronic": "89255676-1f14-4dd8-bbad-fca839d6aff4",
    "house": "a2782cb6-1cd0-477c-a61d-b3f8b42dd1b3",
    "j-pop": "eba7715e-ee26-4989-8d49-9db382955419",
    "k-pop": "b74b3b6c-0700-46b1-aa55-1f2869a3bd1a",
    "dubstep": "1b50083b-1afa-4778-82c8-548b309af783",
    "electronica": "53a3cea3-17af-4421-a07a-5824b540aeb5",
    "grime": "51cfaac4-6696-480b-8f1b-27cfc789109c",
    **{name: mbid(0, "genre", n) for n, name in enumerate(_MORE_GENRES)},
}
_GENRE_NAMES = tuple(GENRES)
_FREE_TAGS = ("seen live", "2026", "favorites", "bandcamp", "debut", "female vocalists")


def _sorted_tags(pairs: dict[str, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``genres`` and ``tags`` as the server lists them: by name, no zero counts."""
    names = sorted(n for n, c in pairs.items() if c > 0)
    genres = [
        {"count": pairs[n], "disambiguation": "", "id": GENRES[n], "name": n}
        for n in names
        if n in GENRES
    ]
    return genres, [{"count": pairs[n], "name": n} for n in names]


class MusicBrainzCatalogue:
    """The MusicBrainz entities of one sandbox catalogue."""

    def __init__(self, spotify: Catalogue) -> None:
        #: The Spotify catalogue as extended access renders it.
        self.spotify = spotify
        self.config = spotify.config
        self.created = f"{self.config.simulated_date.isoformat()}T00:00:00.000Z"

    def __repr__(self) -> str:
        return f"<MusicBrainzCatalogue share={self.config.musicbrainz_share} {self.spotify!r}>"

    # -- what MusicBrainz knows --------------------------------------------------------

    def knows(self, index: int) -> bool:
        """Whether MusicBrainz has a release of album ``index``."""
        if not 0 <= index < self.spotify.album_count:
            return False
        album_id = self.spotify.shape(index).id
        return uniform(self.config.seed, "musicbrainz", album_id) < self.config.musicbrainz_share

    def by_barcode(self, digits: str) -> int | None:
        """The known album whose barcode equals ``digits`` once both lose their leading
        zeros (as MusicBrainz's search index compares them), or None."""
        key = digits.replace(" ", "").lstrip("0")
        if not key.isdigit() or len(key) > 13:
            return None
        index = index_of_upc(self.config.seed, key.zfill(12) if len(key) <= 12 else key)
        if index is None or not self.knows(index) or self._barcode(index).lstrip("0") != key:
            return None
        return index

    def by_isrc(self, code: str) -> tuple[int, int] | None:
        """(album index, track number) of the known track with upper-case ISRC ``code``."""
        found = track_of_isrc(self.config.seed, code)
        if found is None or not self.knows(found[0]):
            return None
        tracks = self._tracks(found[0])
        if found[1] >= len(tracks) or tracks[found[1]]["external_ids"]["isrc"] != code:
            return None
        return found

    def entity(self, kind: str, value: str) -> int | None:
        """The number an MBID of ``kind`` names if MusicBrainz has it, else None."""
        number = number_of_mbid(self.config.seed, kind, value)
        if number is None:
            return None
        if kind in ("release", "release-group"):
            return number if self.knows(number) else None
        if kind == "recording":
            key, take = divmod(number, _TAKES)
            index, track = divmod(key, _TRACK_SLOTS)
            known = self.knows(index) and track < len(self._tracks(index))
            return number if known and take < self.takes(index, track) else None
        return number if number < self.spotify.artist_count else None

    def takes(self, index: int, number: int) -> int:
        """How many recordings the ISRC of track ``number`` of album ``index`` maps to."""
        roll = uniform(self.config.seed, "mb-takes", index, number)
        return 1 if roll >= SHARED_ISRC_SHARE else 2 + int(roll / SHARED_ISRC_SHARE * 2)

    # -- entities --------------------------------------------------------------------------

    def release(self, index: int) -> dict[str, Any]:
        """The search hit of album ``index``'s release (``score`` 100)."""
        album = self._album(index)
        group = self.release_group(index, ())
        date = str(album["release_date"])
        total = len(self._tracks(index))
        return {
            "id": mbid(self.config.seed, "release", index),
            "score": 100,
            "status-id": "4e304316-386d-3409-af2e-78857eec5cfe",
            "packaging-id": "119eba76-b343-3e02-a292-f0f00644bb9b",
            "artist-credit-id": mbid(self.config.seed, "artist-credit", index),
            "count": 1,
            "title": album["name"],
            "status": "Official",
            "packaging": "None",
            "text-representation": {"language": "eng", "script": "Latn"},
            "artist-credit": [
                {
                    "name": c["name"],
                    "artist": {k: c["artist"][k] for k in ("id", "name", "sort-name")},
                }
                for c in self._credit(album["artists"])
            ],
            "release-group": {
                "id": group["id"],
                "type-id": group["primary-type-id"],
                "primary-type-id": group["primary-type-id"],
                "title": group["title"],
                "primary-type": group["primary-type"],
                **(
                    {"secondary-types": group["secondary-types"]}
                    if group["secondary-types"]
                    else {}
                ),
            },
            "date": date,
            "country": "XW",
            "release-events": [{"date": date, "area": _WORLD}],
            "barcode": self._barcode(index),
            "label-info": [
                {
                    "catalog-number": f"SBX{index:06d}",
                    "label": {"id": _label_mbid(album["label"]), "name": album["label"]},
                }
            ],
            "track-count": total,
            "media": [
                {
                    "id": mbid(self.config.seed, "medium", index),
                    "format": "Digital Media",
                    "disc-count": 0,
                    "track-count": total,
                }
            ],
        }

    def release_group(
        self, index: int, inc: tuple[str, ...] = ("genres", "tags")
    ) -> dict[str, Any]:
        """The release group of album ``index`` with the parts ``inc`` asks for."""
        album = self._album(index)
        kind = self.spotify.shape(index).kind
        primary = _KINDS[kind]
        group: dict[str, Any] = {
            "id": mbid(self.config.seed, "release-group", index),
            "title": album["name"],
            "disambiguation": "",
            "first-release-date": album["release_date"],
            "primary-type": primary,
            "primary-type-id": _TYPES[primary],
            "secondary-types": ["Compilation"] if kind == "compilation" else [],
            "secondary-type-ids": [_COMPILATION] if kind == "compilation" else [],
        }
        if "artists" in inc or "artist-credits" in inc:
            group["artist-credit"] = self._credit(album["artists"])
        return group | self._tagging(inc, "rg", index)

    def recordings(
        self, index: int, number: int, inc: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """Every recording the ISRC of track ``number`` of album ``index`` maps to."""
        return [
            self.recording(index, number, take, inc) for take in range(self.takes(index, number))
        ]

    def recording(
        self, index: int, number: int, take: int, inc: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Recording ``take`` of track ``number`` of album ``index``; take 0 is the one on
        the album, the others an edit or a live take, shorter or longer and released earlier."""
        seed = self.config.seed
        track = self._tracks(index)[number]
        date = str(self._album(index)["release_date"])
        length = int(track["duration_ms"])
        disambiguation = ""
        if take:
            length += int((uniform(seed, "mb-length", index, number, take) - 0.5) * 60_000)
            disambiguation = ("radio edit", "live")[take % 2]
            date = f"{int(date[:4]) - take}{date[4:]}"
        recording: dict[str, Any] = {
            "id": mbid(seed, "recording", (index * _TRACK_SLOTS + number) * _TAKES + take),
            "title": track["name"],
            "length": length,
            "disambiguation": disambiguation,
            "video": False,
            "first-release-date": date,
        }
        if "artists" in inc or "artist-credits" in inc:
            recording["artist-credit"] = self._credit(track["artists"])
        if "isrcs" in inc:
            recording["isrcs"] = [track["external_ids"]["isrc"]]
        return recording | self._tagging(inc, "rec", index, number)

    def recording_by_number(self, number: int, inc: tuple[str, ...]) -> dict[str, Any]:
        """The recording an MBID's number names (see :meth:`entity`)."""
        key, take = divmod(number, _TAKES)
        index, track = divmod(key, _TRACK_SLOTS)
        return self.recording(index, track, take, inc)

    def artist(
        self, number: int | None, inc: tuple[str, ...] = ("genres", "tags")
    ) -> dict[str, Any]:
        """Artist ``number`` (None: Various Artists) with the parts ``inc`` asks for."""
        seed = self.config.seed
        if number is None:
            name, ident, kind = "Various Artists", VARIOUS_MBID, _OTHER
        else:
            name = artist_name(random.Random(f"{seed}/artist/{number}"))
            ident = mbid(seed, "artist", number)
            kind = (
                _GROUP if " " not in name or name.startswith(("The ", "Los ", "Les ")) else _PERSON
            )
        person = kind == _PERSON
        artist: dict[str, Any] = {
            "id": ident,
            "name": name,
            "sort-name": _sort_name(name, person),
            "type": kind[0],
            "type-id": kind[1],
            "disambiguation": "",
            "country": None if number is None else _COUNTRIES[number % len(_COUNTRIES)],
            "area": None,
            "begin-area": None,
            "end-area": None,
            "gender": None,
            "gender-id": None,
            "life-span": {"begin": _begin(seed, number), "end": None, "ended": False},
            "ipis": [],
            "isnis": [],
        }
        return artist | self._tagging(inc, "artist", -1 if number is None else number)

    # -- pieces --------------------------------------------------------------------------------

    def _tagging(self, inc: tuple[str, ...], *key: object) -> dict[str, Any]:
        seed = self.config.seed
        pairs: dict[str, int] = {}
        if uniform(seed, "mb-untagged", *key) >= UNTAGGED_SHARE:
            for n in range(1 + int(uniform(seed, "mb-genres", *key) * 3)):
                name = _GENRE_NAMES[int(uniform(seed, "mb-genre", *key, n) * len(_GENRE_NAMES))]
                pairs[name] = 1 + int(uniform(seed, "mb-count", *key, n) * 8)
            if uniform(seed, "mb-free", *key) < 0.4:
                tag = _FREE_TAGS[int(uniform(seed, "mb-free-tag", *key) * len(_FREE_TAGS))]
                pairs[tag] = 1 + int(uniform(seed, "mb-free-count", *key) * 3)
        genres, tags = _sorted_tags(pairs)
        out: dict[str, Any] = {}
        if "genres" in inc:
            out["genres"] = genres
        if "tags" in inc:
            out["tags"] = tags
        if "ratings" in inc:
            votes = int(uniform(seed, "mb-votes", *key) * 4)
            value = round(uniform(seed, "mb-rating", *key) * 5, 2) if votes else None
            out["rating"] = {"value": value, "votes-count": votes}
        return out

    def _credit(self, artists: list[dict[str, Any]]) -> list[dict[str, Any]]:
        credits = []
        artists = list({a["id"]: a for a in artists}.values())  # each artist credited once
        for i, spotify in enumerate(artists):
            number = (
                None
                if spotify["id"] == VARIOUS_ARTISTS
                else self.spotify.artist_number(spotify["id"])
            )
            artist = self.artist(number, ())
            last = i == len(artists) - 1
            credits.append(
                {
                    "name": artist["name"],
                    "joinphrase": "" if last else (" & " if i == len(artists) - 2 else ", "),
                    "artist": {
                        k: artist[k]
                        for k in (
                            "id",
                            "name",
                            "sort-name",
                            "type",
                            "type-id",
                            "country",
                            "disambiguation",
                        )
                    },
                }
            )
        return credits

    def _barcode(self, index: int) -> str:
        barcode = str(self._album(index)["external_ids"]["upc"])
        return barcode[1:] if len(barcode) == 13 and barcode[0] == "0" else barcode

    def _album(self, index: int) -> dict[str, Any]:
        return self.spotify.parsed(index)[0]

    def _tracks(self, index: int) -> list[dict[str, Any]]:
        return self.spotify.parsed(index)[1]


def _label_mbid(label: str) -> str:
    return mbid(0, "label", zlib.crc32(label.encode()))


def _begin(seed: int, number: int | None) -> str | None:
    """When an artist began: a year, a month or a day (MusicBrainz's partial dates)."""
    if number is None:
        return None
    year = 1960 + int(uniform(seed, "mb-begin", number) * 60)
    return (str(year), f"{year}-05", f"{year}-05-17")[number % 3]


def _sort_name(name: str, person: bool) -> str:
    if person and " " in name:
        first, _, last = name.rpartition(" ")
        return f"{last}, {first}"
    for article in ("The ", "Los ", "Les "):
        if name.startswith(article):
            return f"{name[len(article) :]}, {article.strip()}"
    return name


# -- the truth API -------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def truth_catalogue(config: SandboxConfig) -> MusicBrainzCatalogue:
    """The MusicBrainz catalogue of ``config`` (cached), as the emulator serves it."""
    return MusicBrainzCatalogue(Catalogue(config.replace(access="extended"), ""))


def _known(config: SandboxConfig, album_id: str) -> tuple[MusicBrainzCatalogue, int] | None:
    mb = truth_catalogue(config)
    index = mb.spotify.index_of(album_id)
    return None if index is None or not mb.knows(index) else (mb, index)


def expected_release(config: SandboxConfig, album_id: str) -> dict[str, Any] | None:
    """The release hit ``release?query=barcode:`` finds for Spotify album ``album_id``."""
    found = _known(config, album_id)
    return None if found is None else found[0].release(found[1])


def expected_release_group(config: SandboxConfig, album_id: str) -> dict[str, Any] | None:
    """The ``release-group/{mbid}?inc=genres+tags`` body of Spotify album ``album_id``."""
    found = _known(config, album_id)
    return None if found is None else found[0].release_group(found[1])


def expected_recordings(config: SandboxConfig, isrc: str) -> list[dict[str, Any]] | None:
    """The recordings ``isrc/{isrc}`` lists (no ``inc``), or None when it answers 404."""
    mb = truth_catalogue(config)
    found = mb.by_isrc(isrc)
    return None if found is None else mb.recordings(*found)


def expected_artist(config: SandboxConfig, artist_id: str) -> dict[str, Any] | None:
    """The ``artist/{mbid}?inc=genres+tags`` body of Spotify artist ``artist_id``."""
    mb = truth_catalogue(config)
    if artist_id == VARIOUS_ARTISTS:
        return mb.artist(None)
    number = mb.spotify.artist_number(artist_id)
    return None if number is None else mb.artist(number)
