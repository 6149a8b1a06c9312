"""Which albums a pull expands: the ``--ids`` file, and de-duplication across markets.

:class:`Dedupe` is the pure core of the dedupe stage. It keeps one small record per
album id seen and releases an album as soon as its set of markets is final: at once with
one market, when every market has listed it, or else when all discovery has finished.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, InvalidIdError
from .ids import is_spotify_id, parse_album_ref

__all__ = ["Candidate", "Dedupe", "IdsInput", "Sighting", "album_id_of", "load_ids"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdsInput:
    """The albums an ``--ids`` file names, in order, plus its junk lines and content hash."""

    ids: tuple[str, ...]
    junk: tuple[tuple[int, str], ...]
    digest: str


def load_ids(path: Path) -> IdsInput:
    """Read album ids, URIs or URLs, one a line (``-`` is stdin); junk lines are reported."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read --ids {path}: {exc.strerror}") from exc
    text = data.decode("utf-8", errors="replace")
    ids: list[str] = []
    junk: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            ids.append(parse_album_ref(line))
        except InvalidIdError:
            junk.append((number, line.strip()[:80]))
    for number, line in junk[:20]:
        log.warning("--ids line %d is not an album id, URI or URL; skipped: %r", number, line)
    if len(junk) > 20:
        log.warning("--ids: %d more junk lines skipped", len(junk) - 20)
    return IdsInput(tuple(ids), tuple(junk), hashlib.sha256(data).hexdigest())


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


@dataclass
class _Seen:
    markets: int  # bit i set: market i listed the album
    rank: tuple[int, int]
    album: dict[str, Any] | None
    released: bool = False


class Dedupe:
    """Album ids in, each unique album out once, with its exact markets.

    ``done`` holds ids an earlier run committed: they count toward ``max_albums`` but are
    never released. With ``max_albums`` and several markets the selection must not depend
    on which listing answered first, so albums are held until discovery ends and the
    first ``max_albums`` by rank are taken.
    """

    def __init__(
        self,
        markets: Sequence[str],
        *,
        done: Collection[str] = frozenset(),
        max_albums: int | None = None,
        by_market: bool = True,
    ) -> None:
        self.markets = tuple(markets)
        self._all = (1 << len(self.markets)) - 1
        self._done = done
        self._max = max_albums
        self._by_market = by_market
        self._hold = max_albums is not None and by_market and len(self.markets) > 1
        self._seen: dict[str, _Seen] = {}
        self.skipped_done = 0
        self.released = 0

    @property
    def found(self) -> int:
        """Unique albums admitted to the pull so far."""
        return len(self._seen)

    def see(self, sighting: Sighting) -> list[Candidate]:
        """Record a sighting; return the albums it made ready."""
        bit = 0 if sighting.market is None else 1 << sighting.market
        seen = self._seen.get(sighting.album_id)
        if seen is not None:
            seen.markets |= bit
            seen.rank = min(seen.rank, sighting.rank)
            if seen.album is None:
                seen.album = sighting.album
        else:
            if self._max is not None and not self._hold and len(self._seen) >= self._max:
                return []
            seen = _Seen(bit, sighting.rank, sighting.album)
            self._seen[sighting.album_id] = seen
        complete = not self._by_market or seen.markets == self._all
        if complete and not self._hold and not seen.released:
            return self._release([(sighting.album_id, seen)])
        return []

    def finish(self) -> list[Candidate]:
        """Discovery has ended: every album not yet released is final now."""
        waiting = [(album_id, s) for album_id, s in self._seen.items() if not s.released]
        if self._hold and self._max is not None:
            chosen = sorted(self._seen.items(), key=lambda item: item[1].rank)[: self._max]
            keep = {album_id for album_id, _ in chosen}
            waiting = [(album_id, s) for album_id, s in waiting if album_id in keep]
        return self._release(waiting)

    def _release(self, albums: list[tuple[str, _Seen]]) -> list[Candidate]:
        ready = []
        for album_id, seen in albums:
            seen.released = True
            album, seen.album = seen.album, None  # only the pending keep their object
            if album_id in self._done:
                self.skipped_done += 1
                continue
            self.released += 1
            markets = tuple(m for i, m in enumerate(self.markets) if seen.markets >> i & 1)
            ready.append(Candidate(album_id, markets, album))
        return ready


def album_id_of(item: object) -> str | None:
    """The id of a listed album, or None for a null or malformed item."""
    if isinstance(item, dict) and is_spotify_id(album_id := item.get("id")):
        return str(album_id)
    return None
