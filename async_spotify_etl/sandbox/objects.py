"""One album of the sandbox catalogue: its shape, its Spotify objects and their bytes.

Everything derives from ``(seed, index)``, so any album can be built on demand, in any
order, without building the rest of the catalogue. Each object is serialized once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass

import orjson

from .config import SandboxConfig
from .names import (
    album_name,
    artist_name,
    draw_isrc,
    draw_upc,
    isrc_of,
    make_id,
    track_name,
    upc_of,
)

#: One album in this many is a compilation (51 to 300 tracks), so track paging always runs.
COMPILATION_EVERY = 20
#: Share of day 0's albums released within the last 14 days (what search ``tag:new``
#: returns).
NEW_SHARE = 0.45
#: An album new on a later day was released at most this many days before that day.
FRESH_DAYS = 7
_OTHER_MARKETS = ("CA", "DE", "FR", "JP", "MX", "BR", "SE", "AU")
_IMAGE_SIZES = (640, 300, 64)
_LABELS = ("Sandbox Records", "Nordlicht Musik", "Discos Olé", "Blue Room", "Kōyō Sound")
_DEV_REMOVED_ALBUM = ("available_markets", "label", "popularity", "album_group")
_DEV_REMOVED_TRACK = ("available_markets", "linked_from", "popularity")
VARIOUS_ARTISTS = "0LyfQWJT6nXafLPZqxe9Of"


@dataclass(frozen=True, slots=True)
class AlbumShape:
    """What ground truth needs about an album, cheap to compute: kind, size, age.

    ``days_old`` counts from the configured ``today`` (day 0); it is negative for an album
    released after it, one that is new on a later day."""

    index: int
    id: str
    kind: str
    total_tracks: int
    days_old: int


@dataclass(frozen=True, slots=True)
class RenderedAlbum:
    """An album's serialized pieces: the simplified object, the full object without its
    closing ``"tracks"`` page, and each track object."""

    shape: AlbumShape
    simplified: bytes
    full_prefix: bytes
    tracks: tuple[bytes, ...]
    track_ids: tuple[str, ...]
    #: Where the album is available (in every access mode, whether or not it is shown).
    markets: tuple[str, ...] = ()


def _rng(seed: int, *parts: int | str) -> random.Random:
    return random.Random(f"{seed}/{'/'.join(map(str, parts))}")


def album_shape(seed: int, index: int, born: int = 0) -> AlbumShape:
    """Kind, track count and age of album ``index``, new on day ``born``; the first draws
    of its generator."""
    rng = _rng(seed, "album", index)
    roll = rng.random()
    if index % COMPILATION_EVERY == 3:
        kind, total = "compilation", 51 + int(rng.random() ** 2 * 250)
    elif roll < 0.40:
        kind, total = "single", rng.choice((1, 1, 2, 2, 3, 4))
    elif roll < 0.55:
        kind, total = "ep", rng.randint(4, 7)
    else:
        kind, total = "album", rng.randint(8, 25)
    if born:  # released in the days before it entered the lists
        days_old = rng.randint(0, FRESH_DAYS - 1) - born
    else:
        days_old = rng.randint(0, 13) if rng.random() < NEW_SHARE else rng.randint(14, 400)
    return AlbumShape(index, make_id(seed, "album", index), kind, total, days_old)


def track_id(seed: int, album_index: int, number: int) -> str:
    """Id of track ``number`` (0-based) of album ``album_index``."""
    return make_id(seed, "track", album_index, number)


def artist_id(seed: int, number: int) -> str:
    """Id of artist ``number`` of the catalogue."""
    return make_id(seed, "artist", number)


def _artist(config: SandboxConfig, base: str, number: int) -> dict[str, object]:
    ident = artist_id(config.seed, number)
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{ident}"},
        "href": f"{base}/artists/{ident}",
        "id": ident,
        "name": artist_name(_rng(config.seed, "artist", number)),
        "type": "artist",
        "uri": f"spotify:artist:{ident}",
    }


def _various(base: str) -> dict[str, object]:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{VARIOUS_ARTISTS}"},
        "href": f"{base}/artists/{VARIOUS_ARTISTS}",
        "id": VARIOUS_ARTISTS,
        "name": "Various Artists",
        "type": "artist",
        "uri": f"spotify:artist:{VARIOUS_ARTISTS}",
    }


def _images(rng: random.Random) -> list[dict[str, object]]:
    digest = "".join(rng.choice("0123456789abcdef") for _ in range(40))
    prefix = {640: "ab67616d0000b273", 300: "ab67616d00001e02", 64: "ab67616d00004851"}
    sizes = list(_IMAGE_SIZES)
    if rng.random() < 0.3:  # real responses do not always list the widest image first
        rng.shuffle(sizes)
    return [
        {"height": s, "url": f"https://i.scdn.co/image/{prefix[s]}{digest[:24]}", "width": s}
        for s in sizes
    ]


def _release(rng: random.Random, today: dt.date, days_old: int) -> tuple[str, str]:
    day = today - dt.timedelta(days=days_old)
    roll = rng.random()
    if days_old >= 14 and roll < 0.05:
        return str(day.year), "year"
    if days_old >= 14 and roll < 0.12:
        return f"{day.year}-{day.month:02d}", "month"
    return day.isoformat(), "day"


def _album_type(rng: random.Random, kind: str) -> str:
    value = kind
    if kind == "ep" and rng.random() < 0.5:  # Spotify files many EPs as singles
        value = "single"
    if rng.random() < 0.04:  # upper case values have been seen in real responses
        value = value.upper()
    return value


@dataclass(frozen=True, slots=True)
class _Album:
    """What rendering one album needs to share between the album and its tracks."""

    config: SandboxConfig
    base: str
    shape: AlbumShape
    artists: list[dict[str, object]]
    markets: list[str]
    year: int = 0

    @property
    def artist_pool(self) -> int:
        return artist_pool(self.shape.index)


def artist_pool(index: int) -> int:
    """Album ``index`` credits artists numbered below this."""
    return max(20, index // 3 + 20)


def render_album(config: SandboxConfig, base: str, index: int, born: int = 0) -> RenderedAlbum:
    """Build and serialize album ``index``, new on day ``born``, with all its tracks, for
    ``config.access``. Nothing depends on ``config.day``: an id is one album on every day."""
    shape = album_shape(config.seed, index, born)
    rng = _rng(config.seed, "album-details", index)
    album = _Album(config, base, shape, [], [])
    if shape.kind == "compilation":
        album.artists.append(_various(base))
    else:
        count = 1 if rng.random() < 0.75 else rng.choice((2, 2, 3))
        album.artists.extend(
            _artist(config, base, rng.randrange(album.artist_pool)) for _ in range(count)
        )
    album.markets.extend(sorted({*config.markets, *rng.sample(_OTHER_MARKETS, 3)}))
    simplified = _simplified(album, rng)
    full = _full(simplified, rng, upc_of(config.seed, index))
    album = dataclasses.replace(album, year=int(str(simplified["release_date"])[:4]))
    track_rng = _rng(config.seed, "tracks", index)
    tracks = [_track(album, track_rng, n) for n in range(shape.total_tracks)]
    if config.access == "development":
        for key in _DEV_REMOVED_ALBUM:
            simplified.pop(key, None)
            full.pop(key, None)
    return RenderedAlbum(
        shape=shape,
        simplified=orjson.dumps(simplified),
        full_prefix=orjson.dumps(full)[:-1] + b',"tracks":',
        tracks=tuple(orjson.dumps(t) for t in tracks),
        track_ids=tuple(str(t["id"]) for t in tracks),
        markets=tuple(album.markets),
    )


def _simplified(album: _Album, rng: random.Random) -> dict[str, object]:
    """The SimplifiedAlbumObject listings and search return."""
    shape, ident = album.shape, album.shape.id
    date, precision = _release(rng, album.config.today_date, shape.days_old)
    return {
        "album_type": _album_type(rng, shape.kind),
        "artists": album.artists,
        "available_markets": album.markets,
        "external_urls": {"spotify": f"https://open.spotify.com/album/{ident}"},
        "href": f"{album.base}/albums/{ident}",
        "id": ident,
        "images": _images(rng),
        "name": album_name(rng),
        "release_date": date,
        "release_date_precision": precision,
        "total_tracks": shape.total_tracks,
        "type": "album",
        "uri": f"spotify:album:{ident}",
    }


def _full(simplified: dict[str, object], rng: random.Random, barcode: str) -> dict[str, object]:
    """The AlbumObject fields beyond the simplified ones, except ``tracks``."""
    year = str(simplified["release_date"])[:4]
    label = rng.choice(_LABELS)
    draw_upc(rng)
    return {
        **simplified,
        "copyrights": [
            {"text": f"© {year} {label}", "type": "C"},
            {"text": f"℗ {year} {label}", "type": "P"},
        ],
        "external_ids": {"upc": barcode},
        "genres": [],
        "label": label,
        "popularity": rng.randint(0, 100),
    }


def _track(album: _Album, rng: random.Random, number: int) -> dict[str, object]:
    """Track ``number`` (0-based) of ``album``; discs of 50 on long compilations."""
    config, base, shape = album.config, album.base, album.shape
    ident = track_id(config.seed, shape.index, number)
    per_disc = 50 if shape.total_tracks > 60 else shape.total_tracks
    if shape.kind == "compilation" or rng.random() < 0.1:
        credited = [_artist(config, base, rng.randrange(album.artist_pool))]
    else:
        credited = list(album.artists)
    draws = (rng.randint(90_000, 420_000), rng.random() < 0.15)
    draw_isrc(rng)
    track: dict[str, object] = {
        "artists": credited,
        "available_markets": album.markets,
        "disc_number": number // per_disc + 1,
        "duration_ms": draws[0],
        "explicit": draws[1],
        "external_ids": {"isrc": isrc_of(config.seed, shape.index, number, album.year)},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{ident}"},
        "href": f"{base}/tracks/{ident}",
        "id": ident,
        "is_local": False,
        "name": track_name(rng),
        "preview_url": None,
        "track_number": number % per_disc + 1,
        "type": "track",
        "uri": f"spotify:track:{ident}",
    }
    if rng.random() < 0.02:  # track relinking: the requested track was replaced
        other = make_id(config.seed, "relinked", shape.index, number)
        track["linked_from"] = {
            "external_urls": {"spotify": f"https://open.spotify.com/track/{other}"},
            "href": f"{base}/tracks/{other}",
            "id": other,
            "type": "track",
            "uri": f"spotify:track:{other}",
        }
    if config.access == "development":
        for key in _DEV_REMOVED_TRACK:
            track.pop(key, None)
    return track
