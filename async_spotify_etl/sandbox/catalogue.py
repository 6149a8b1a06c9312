"""The sandbox catalogue: which albums each market lists, and lookup by id.

Ground truth holds, besides the listings and every album's tracks, the artists credited
on each album or its tracks (``credits``) and the facts of each (``artists``: name,
genres, and popularity and followers where the access mode has them).

Market ``k`` lists a window of the global album index space that overlaps its
neighbour's by a third, in its own permuted order. Albums are rendered lazily and
kept in a bounded LRU cache, so a 50,000-album catalogue starts instantly and its
memory stays flat while a pull walks through it.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from typing import Any

import orjson

from .artists import render_artist
from .config import SandboxConfig
from .objects import (
    VARIOUS_ARTISTS,
    AlbumShape,
    RenderedAlbum,
    album_shape,
    artist_id,
    artist_pool,
    render_album,
    track_id,
)

#: Rendered albums kept in memory; a pull touches each album a few times in a row.
CACHE_SIZE = 2048
#: Search ``tag:new`` returns albums released this many days before the sandbox's today.
NEW_DAYS = 14
#: Search paging stops at this offset, as Spotify's does.
SEARCH_CAP = 1000


class Catalogue:
    """Deterministic albums for a :class:`SandboxConfig`, with hrefs under ``base``."""

    def __init__(self, config: SandboxConfig, base: str) -> None:
        self.config = config
        self.base = base
        size = config.albums_per_market
        self._size = size
        self._stride = max(1, size - size // 3)
        self.album_count = self._stride * (len(config.markets) - 1) + size
        rng = random.Random(f"{config.seed}/listing")
        self._step = self._coprime(rng, size)
        self._shift = {m: rng.randrange(size) for m in config.markets}
        self._slot = {m: k for k, m in enumerate(config.markets)}
        self._by_id: dict[str, int] | None = None
        self._artists: dict[str, int | None] | None = None
        self._cache: OrderedDict[int, RenderedAlbum] = OrderedDict()
        self._search: list[int] | None = None
        self._truth: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"<Catalogue seed={self.config.seed} markets={len(self.config.markets)}"
            f" albums={self.album_count} cached={len(self._cache)}>"
        )

    @staticmethod
    def _coprime(rng: random.Random, size: int) -> int:
        step = rng.randrange(1, size + 1)
        while math.gcd(step, size) != 1:
            step += 1
        return step

    def listing_length(self, market: str) -> int:
        """How many albums ``market`` lists (0 for a market the sandbox does not serve)."""
        return self._size if market in self._slot else 0

    def listing_index(self, market: str, position: int) -> int:
        """Global index of the album at ``position`` in ``market``'s new-releases list."""
        permuted = (self._step * position + self._shift[market]) % self._size
        return self._slot[market] * self._stride + permuted

    def listing(self, market: str) -> list[int]:
        """Global indices of ``market``'s whole listing, in order."""
        return [self.listing_index(market, p) for p in range(self.listing_length(market))]

    def index_of(self, album_id: str) -> int | None:
        """Global index of an album id, or None if the catalogue has no such album."""
        if self._by_id is None:
            seed = self.config.seed
            self._by_id = {album_shape(seed, i).id: i for i in range(self.album_count)}
        return self._by_id.get(album_id)

    def artist(self, ident: str) -> bytes | None:
        """The full Artist object with id ``ident``, serialized, or None if no album of the
        catalogue credits such an artist."""
        if self._artists is None:
            pool = artist_pool(self.album_count - 1)
            numbers: dict[str, int | None] = {
                artist_id(self.config.seed, n): n for n in range(pool)
            }
            self._artists = {**numbers, VARIOUS_ARTISTS: None}
        if ident not in self._artists:
            return None
        return orjson.dumps(render_artist(self.config, self.base, self._artists[ident]))

    def album(self, index: int) -> RenderedAlbum:
        """Album ``index`` rendered and serialized (cached)."""
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        rendered = render_album(self.config, self.base, index)
        self._cache[index] = rendered
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return rendered

    def shape(self, index: int) -> AlbumShape:
        """Cheap facts about album ``index`` (no rendering)."""
        cached = self._cache.get(index)
        return cached.shape if cached is not None else album_shape(self.config.seed, index)

    def search_new(self) -> list[int]:
        """Indices that search ``tag:new`` returns: listed albums released in the last
        14 days, in order of first appearance across the markets, capped like Spotify."""
        if self._search is None:
            seen: dict[int, None] = {}
            for market in self.config.markets:
                for index in self.listing(market):
                    if index not in seen and self.shape(index).days_old < NEW_DAYS:
                        seen[index] = None
            self._search = list(seen)[:SEARCH_CAP]
        return self._search

    def truth(self) -> dict[str, Any]:
        """What a complete pull of this configuration must produce (computed once;
        treat it as read-only)."""
        if self._truth is None:
            self._truth = self._compute_truth()
        return self._truth

    def _compute_truth(self) -> dict[str, Any]:
        seed = self.config.seed
        markets = {m: [self.shape(i).id for i in self.listing(m)] for m in self.config.markets}
        albums: dict[str, list[str]] = {}
        for market in self.config.markets:
            for index in self.listing(market):
                shape = self.shape(index)
                if shape.id not in albums:
                    albums[shape.id] = [track_id(seed, index, n) for n in range(shape.total_tracks)]
        search = [self.shape(i).id for i in self.search_new()]
        credits = {
            shape.id: self.credits(shape.index)
            for shape in (self.shape(i) for m in self.config.markets for i in self.listing(m))
        }
        artists = {}
        for ident in sorted({a for ids in credits.values() for a in ids}):
            body = self.artist(ident)
            assert body is not None
            artists[ident] = _artist_facts(orjson.loads(body))
        return {
            "markets": markets,
            "albums": albums,
            "search_new": search,
            "credits": credits,
            "artists": artists,
        }

    def credits(self, index: int) -> list[str]:
        """Every artist credited on album ``index`` or on one of its tracks, sorted."""
        rendered = render_album(self.config, self.base, index)  # not cached: truth reads all
        album = orjson.loads(rendered.simplified)
        credited = {a["id"] for a in album["artists"]}
        for track in rendered.tracks:
            credited.update(a["id"] for a in orjson.loads(track)["artists"])
        return sorted(credited)


def _artist_facts(artist: dict[str, Any]) -> dict[str, Any]:
    """What truth records of an artist: name and genres, popularity and followers (total)
    where the access mode has them; no hrefs, which depend on the sandbox's address."""
    facts = {"name": artist["name"], "genres": artist["genres"]}
    if "popularity" in artist:
        facts["popularity"] = artist["popularity"]
        facts["followers"] = artist["followers"]["total"]
    return facts
