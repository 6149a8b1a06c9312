"""The sandbox catalogue: which albums each market lists, and lookup by id.

Ground truth holds, besides the listings and every album's tracks, the artists credited
on each album or its tracks (``credits``) and the facts of each (``artists``: name,
genres, and popularity and followers where the access mode has them).

Which albums each market lists on the configured ``day`` is :mod:`.listings`'s
business; the catalogue's now is ``today`` plus ``day`` days, so search ``tag:new``
moves with the lists. Albums are rendered lazily and kept in a bounded LRU cache, so a
50,000-album catalogue starts instantly and its memory stays flat while a pull walks
through it.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from .artists import render_artist
from .config import SandboxConfig
from .listings import Listings
from .names import make_id
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
#: Albums kept parsed for the Deezer and MusicBrainz emulators, which build their own
#: objects from the Spotify ones.
PARSED_CACHE_SIZE = 64
#: Search ``tag:new`` returns albums released this many days before the catalogue's now.
NEW_DAYS = 14
#: Search paging stops at this offset, as Spotify's does.
SEARCH_CAP = 1000
#: How Get Artist's Albums orders an artist's albums: by group, then newest first.
GROUPS = ("album", "single", "compilation", "appears_on")


@dataclass(frozen=True, slots=True)
class Release:
    """One album of an artist's discography: the album's index, the artist's group on it
    (``album_group``), its age in days and the markets it is available in."""

    index: int
    group: str
    age: int
    markets: frozenset[str]


class Catalogue:
    """Deterministic albums for a :class:`SandboxConfig`, with hrefs under ``base``."""

    def __init__(self, config: SandboxConfig, base: str) -> None:
        self.config = config
        self.base = base
        self._listings = Listings(config)
        self.album_count = self._listings.album_count
        #: The catalogue's now: ``today`` moved on by ``day`` days.
        self.today = config.today_date + dt.timedelta(days=config.day)
        self._by_id: dict[str, int] | None = None
        self._artists: dict[str, int | None] | None = None
        self._cache: OrderedDict[int, RenderedAlbum] = OrderedDict()
        self._parsed: OrderedDict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = OrderedDict()
        self._search: list[int] | None = None
        self._discographies: dict[str, list[Release]] | None = None
        self._truth: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"<Catalogue seed={self.config.seed} day={self.config.day}"
            f" markets={len(self.config.markets)} albums={self.album_count}"
            f" cached={len(self._cache)}>"
        )

    def listing_length(self, market: str) -> int:
        """How many albums ``market`` lists (0 for a market the sandbox does not serve)."""
        return self._listings.length(market)

    def listing_index(self, market: str, position: int) -> int:
        """Global index of the album at ``position`` in ``market``'s new-releases list."""
        return self._listings.index(market, position)

    def listing(self, market: str) -> list[int]:
        """Global indices of ``market``'s whole listing, in order."""
        return self._listings.listing(market)

    def index_of(self, album_id: str) -> int | None:
        """Global index of an album id, or None if the catalogue has no such album."""
        if self._by_id is None:
            seed = self.config.seed
            self._by_id = {make_id(seed, "album", i): i for i in range(self.album_count)}
        return self._by_id.get(album_id)

    @property
    def artist_count(self) -> int:
        """How many artists (numbered from 0) the catalogue's albums may credit."""
        return artist_pool(self.album_count - 1)

    def artist_number(self, ident: str) -> int | None:
        """The number of the artist with id ``ident``, or None (unknown or Various Artists)."""
        return self._artist_numbers().get(ident)

    def _artist_numbers(self) -> dict[str, int | None]:
        if self._artists is None:
            pool = self.artist_count
            numbers: dict[str, int | None] = {
                artist_id(self.config.seed, n): n for n in range(pool)
            }
            self._artists = {**numbers, VARIOUS_ARTISTS: None}
        return self._artists

    def artist(self, ident: str) -> bytes | None:
        """The full Artist object with id ``ident``, serialized, or None if no album of the
        catalogue credits such an artist."""
        numbers = self._artist_numbers()
        if ident not in numbers:
            return None
        return orjson.dumps(render_artist(self.config, self.base, numbers[ident]))

    def album(self, index: int) -> RenderedAlbum:
        """Album ``index`` rendered and serialized (cached)."""
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        rendered = render_album(self.config, self.base, index, self._listings.born(index))
        self._cache[index] = rendered
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return rendered

    def parsed(self, index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Album ``index`` (without ``tracks``) and its tracks as plain data (cached;
        treat them as read-only)."""
        found = self._parsed.get(index)
        if found is not None:
            self._parsed.move_to_end(index)
            return found
        rendered = self.album(index)
        album: dict[str, Any] = orjson.loads(rendered.full_prefix + b"null}")
        del album["tracks"]
        found = album, [orjson.loads(t) for t in rendered.tracks]
        self._parsed[index] = found
        if len(self._parsed) > PARSED_CACHE_SIZE:
            self._parsed.popitem(last=False)
        return found

    def shape(self, index: int) -> AlbumShape:
        """Cheap facts about album ``index`` (no rendering)."""
        cached = self._cache.get(index)
        if cached is not None:
            return cached.shape
        return album_shape(self.config.seed, index, self._listings.born(index))

    def age(self, index: int) -> int:
        """Days between album ``index``'s release and the catalogue's now."""
        return self.shape(index).days_old + self.config.day

    def search_new(self) -> list[int]:
        """Indices that search ``tag:new`` finds: listed albums released in the 14 days
        before the catalogue's now, in order of first appearance across the markets. Its
        ``total`` is all of them; paging reaches the first :data:`SEARCH_CAP`, as Spotify's."""
        if self._search is None:
            seen: dict[int, None] = {}
            for market in self.config.markets:
                for index in self.listing(market):
                    if index not in seen and self.age(index) < NEW_DAYS:
                        seen[index] = None
            self._search = list(seen)
        return self._search

    def discography(self, ident: str) -> list[Release]:
        """Every album of the catalogue that credits artist ``ident``, as Get Artist's
        Albums lists it (by group, then newest first); empty for an unknown artist.

        The group is the album's type (an EP files as a single) where the album credits
        the artist, else ``appears_on`` (credited on a track only). The index of every
        artist is built on first use, by rendering each album once."""
        if self._discographies is None:
            self._discographies = self._index_discographies()
        return self._discographies.get(ident, [])

    def _index_discographies(self) -> dict[str, list[Release]]:
        found: dict[str, dict[int, Release]] = {}
        for index in range(self.album_count):
            born = self._listings.born(index)
            rendered = render_album(self.config, self.base, index, born)  # not cached
            album = orjson.loads(rendered.simplified)
            kind = str(album["album_type"]).lower()
            group = kind if kind in ("album", "compilation") else "single"
            markets = frozenset(rendered.markets)
            age = rendered.shape.days_old + self.config.day
            credited = {a["id"]: group for a in album["artists"]}
            for track in rendered.tracks:
                for artist in orjson.loads(track)["artists"]:
                    credited.setdefault(artist["id"], "appears_on")
            for artist, its_group in credited.items():
                found.setdefault(artist, {})[index] = Release(index, its_group, age, markets)
        return {
            artist: sorted(releases.values(), key=lambda r: (GROUPS.index(r.group), r.age, r.index))
            for artist, releases in found.items()
        }

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
        search = [self.shape(i).id for i in self.search_new()[:SEARCH_CAP]]
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
            "search_new_total": len(self.search_new()),
            "credits": credits,
            "artists": artists,
        }

    def credits(self, index: int) -> list[str]:
        """Every artist credited on album ``index`` or on one of its tracks, sorted."""
        born = self._listings.born(index)
        rendered = render_album(self.config, self.base, index, born)  # not cached: truth reads all
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
