"""Full Artist objects of the sandbox catalogue: genres, popularity, followers, images.

Artist ``number`` is the one albums credit (see :mod:`.objects`); its details derive
from ``(seed, number)`` alone. Genres come from a vocabulary of real Spotify genre
names: most artists have two to four, some one, about one in eight none (Spotify's
"not yet classified"). Followers grow with popularity, a decade per 14 points, within
a factor of two either way, as they do on Spotify; on each later ``day`` of the sandbox they
grow by up to 3%, each artist at its own pace. Development-mode apps get no
``followers`` and no ``popularity`` (February 2026).
"""

from __future__ import annotations

import math
import random

from .config import SandboxConfig
from .names import artist_name
from .objects import VARIOUS_ARTISTS, artist_id

#: Real Spotify genre names, the common first, with the weight each is drawn with.
GENRES: dict[str, int] = {
    "pop": 14,
    "dance pop": 9,
    "rap": 9,
    "hip hop": 8,
    "trap": 6,
    "r&b": 6,
    "rock": 6,
    "indie pop": 5,
    "edm": 5,
    "latin pop": 5,
    "reggaeton": 5,
    "k-pop": 4,
    "modern rock": 4,
    "alternative rock": 4,
    "indie rock": 4,
    "house": 4,
    "country": 4,
    "afrobeats": 3,
    "urban contemporary": 3,
    "pop rap": 3,
    "singer-songwriter": 3,
    "soul": 3,
    "electropop": 3,
    "tech house": 2,
    "j-pop": 2,
    "german hip hop": 2,
    "french hip hop": 2,
    "uk drill": 2,
    "metal": 2,
    "punk": 2,
    "folk": 2,
    "jazz": 2,
    "lo-fi beats": 2,
    "ambient": 1,
    "classical": 1,
    "drum and bass": 1,
    "bossa nova": 1,
    "synthwave": 1,
    "shoegaze": 1,
    "city pop": 1,
}
_NAMES = list(GENRES)
_WEIGHTS = list(GENRES.values())
#: Share of artists Spotify has not classified: an empty ``genres``.
UNCLASSIFIED = 0.12
_DEV_REMOVED = ("followers", "popularity")
#: Largest daily growth of an artist's followers (``day`` of the sandbox config).
MAX_GROWTH = 0.03
_IMAGE_SIZES = (640, 320, 160)


def followers_for(popularity: int, rng: random.Random) -> int:
    """Followers consistent with ``popularity``: 10 ** (popularity / 14), times 0.5 to 2."""
    return int(10 ** (popularity / 14) * 2 ** rng.uniform(-1.0, 1.0))


def _genres(rng: random.Random) -> list[str]:
    if rng.random() < UNCLASSIFIED:
        return []
    wanted = rng.choice((1, 2, 2, 3, 3, 4))
    chosen: dict[str, None] = {}
    while len(chosen) < wanted:
        chosen[rng.choices(_NAMES, _WEIGHTS)[0]] = None
    return list(chosen)


def _images(rng: random.Random) -> list[dict[str, object]]:
    if rng.random() < 0.05:  # artists without a picture exist
        return []
    digest = "".join(rng.choice("0123456789abcdef") for _ in range(24))
    prefix = {640: "ab6761610000e5eb", 320: "ab67616100005174", 160: "ab6761610000f178"}
    return [
        {"height": s, "url": f"https://i.scdn.co/image/{prefix[s]}{digest}", "width": s}
        for s in _IMAGE_SIZES
    ]


def render_artist(config: SandboxConfig, base: str, number: int | None) -> dict[str, object]:
    """The full Artist object of artist ``number`` (None: Various Artists), for
    ``config.access``."""
    if number is None:
        ident, name = VARIOUS_ARTISTS, "Various Artists"
        rng = random.Random(f"{config.seed}/artist-details/various")
        genres: list[str] = []
        popularity = 0
    else:
        ident = artist_id(config.seed, number)
        name = artist_name(random.Random(f"{config.seed}/artist/{number}"))
        rng = random.Random(f"{config.seed}/artist-details/{number}")
        genres = _genres(rng)
        popularity = min(100, max(0, round(rng.betavariate(2.2, 2.8) * 100)))
    followers = followers_for(popularity, rng)
    if config.day:  # they grow a little every day, each artist at its own pace
        growth = random.Random(f"{config.seed}/artist-growth/{number}").uniform(0.0, MAX_GROWTH)
        followers = int(followers * (1 + growth) ** config.day)
    artist: dict[str, object] = {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{ident}"},
        "followers": {"href": None, "total": followers},
        "genres": genres,
        "href": f"{base}/artists/{ident}",
        "id": ident,
        "images": _images(rng),
        "name": name,
        "popularity": popularity,
        "type": "artist",
        "uri": f"spotify:artist:{ident}",
    }
    if config.access == "development":
        for key in _DEV_REMOVED:
            del artist[key]
    return artist


def popularity_band(popularity: int) -> tuple[float, float]:
    """The followers an artist of ``popularity`` may have (what the sandbox promises)."""
    centre = 10 ** (popularity / 14)
    return math.floor(centre / 2) - 1, math.ceil(centre * 2) + 1
