"""Which albums a pull expands: de-duplication of the listed albums across markets.

:class:`Dedupe` is the pure core of the dedupe stage. It keeps one small entry per album
id seen (an int in a dict) and releases an album as soon as its set of markets is final:
at once with one market, when every market has listed it, or else when all discovery has
finished.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sighting:
    """One album in one listing: ``rank`` is (market index, position in that listing)."""

    album_id: str
    market: int | None
    rank: tuple[int, int]
    album: dict[str, Any] | None = None


@dataclass(frozen=True)
class Candidate:
    """An album ready to expand, with the final list of markets whose listing showed it."""

    album_id: str
    markets: tuple[str, ...]
    album: dict[str, Any] | None = None


#: The dedupe's value for an album already released (or committed by an earlier run).
_RELEASED = -1


class Dedupe:
    """Album ids in, each unique album out once, with its exact markets.

    ``done`` holds ids an earlier run committed: they count toward ``max_albums`` but are
    never released. With ``max_albums`` and several markets the selection must not depend
    on which listing answered first, so albums are held until discovery ends and the
    first ``max_albums`` by rank are taken (``ranked``: so are a watchlist's, whose
    listings are its artists, in one market).

    Memory is the point: a pull may see tens of thousands of albums, so each costs one
    dict entry, id to an int (the market bits while pending, ``-1`` once released), and
    the int is one of CPython's cached small ones for up to eight markets. Ranks are
    kept only while they decide something (``max_albums`` over several markets), and a
    pending album's listing object only with ``keep_albums`` (``--expand tracks``, whose
    album line is that object), serialized, which is several times smaller than the
    parsed object.
    """

    def __init__(
        self,
        markets: Sequence[str],
        *,
        done: Collection[str] = frozenset(),
        max_albums: int | None = None,
        by_market: bool = True,
        keep_albums: bool = False,
        ranked: bool = False,
    ) -> None:
        self.markets = tuple(markets)
        self._all = (1 << len(self.markets)) - 1
        self._done = done
        self._max = max_albums
        self._by_market = by_market
        # several listings answer in any order: hold, then take the first by rank (a
        # watchlist's listings are ``ranked`` by artist, in one market)
        several = (by_market and len(self.markets) > 1) or ranked
        self._hold = max_albums is not None and several
        self._keep = keep_albums
        self._seen: dict[str, int] = {}
        self._rank: dict[str, tuple[int, int]] = {}  # only while holding
        self._albums: dict[str, bytes] = {}  # only with keep_albums, only while pending
        self._names: dict[int, tuple[str, ...]] = {}
        self.skipped_done = 0
        self.released = 0

    def __repr__(self) -> str:
        pending = sum(1 for state in self._seen.values() if state != _RELEASED)
        return f"<Dedupe found={self.found} pending={pending} released={self.released}>"

    @property
    def found(self) -> int:
        """Unique albums admitted to the pull so far."""
        return len(self._seen)

    def see(self, sighting: Sighting) -> list[Candidate]:
        """Record a sighting; return the albums it made ready."""
        album_id = sighting.album_id
        bit = 0 if sighting.market is None else 1 << sighting.market
        state = self._seen.get(album_id)
        if state is None:
            if self._max is not None and not self._hold and len(self._seen) >= self._max:
                return []
            state = 0
        elif state == _RELEASED:
            return []
        state |= bit
        self._seen[album_id] = state
        if self._hold:
            rank = self._rank.get(album_id)
            self._rank[album_id] = sighting.rank if rank is None else min(rank, sighting.rank)
        if self._keep and sighting.album is not None and album_id not in self._albums:
            self._albums[album_id] = orjson.dumps(sighting.album)
        complete = not self._by_market or state == self._all
        if complete and not self._hold:
            return self._release([album_id])
        return []

    def finish(self) -> list[Candidate]:
        """Discovery has ended: every album not yet released is final now."""
        waiting = [album_id for album_id, state in self._seen.items() if state != _RELEASED]
        if self._hold and self._max is not None:
            chosen = sorted(self._rank.items(), key=lambda item: item[1])[: self._max]
            keep = {album_id for album_id, _ in chosen}
            waiting = [album_id for album_id in waiting if album_id in keep]
            self._rank.clear()
        return self._release(waiting)

    def _release(self, album_ids: list[str]) -> list[Candidate]:
        ready = []
        for album_id in album_ids:
            bits, self._seen[album_id] = self._seen[album_id], _RELEASED
            listed = self._albums.pop(album_id, None)
            if album_id in self._done:
                self.skipped_done += 1
                continue
            self.released += 1
            album = None if listed is None else orjson.loads(listed)
            ready.append(Candidate(album_id, self._market_names(bits), album))
        return ready

    def _market_names(self, bits: int) -> tuple[str, ...]:
        names = self._names.get(bits)
        if names is None:
            names = tuple(m for i, m in enumerate(self.markets) if bits >> i & 1)
            self._names[bits] = names
        return names
