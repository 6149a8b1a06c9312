"""The emulated Deezer API under ``/deezer``: routing, the quota and Deezer's error bodies.

Every answer is HTTP 200, errors included: ``{"error": {"type", "message", "code"}}``
with 800 "no data" for a miss, 600 for an unknown path and, with ``deezer_throttle``,
4 "Quota limit exceeded" once a client has sent 50 requests in the last 5 seconds
(throttled requests count too, so hammering keeps a client locked out; no Retry-After).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from .behaviours import Clock
from .catalogue import Catalogue
from .config import DEEZER_QUOTA, DEEZER_WINDOW
from .deezer import DeezerCatalogue
from .deezer_genres import language
from .handlers import Reply
from .stats import SandboxStats

#: ``/album/{id}/tracks`` pages: 25 by default, a larger ``limit`` capped at this.
PAGE = 25
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class DeezerError(Exception):
    """An API error as Deezer sends it, in an HTTP 200 body."""

    type: str
    message: str
    code: int

    def body(self) -> bytes:
        """The ``{"error": ...}`` body."""
        error = {"type": self.type, "message": self.message, "code": self.code}
        return orjson.dumps({"error": error})


NO_DATA = DeezerError("DataException", "no data", 800)
QUOTA = DeezerError("Exception", "Quota limit exceeded", 4)


def unknown_path(rest: str) -> DeezerError:
    """Code 600 for a path Deezer has no service for."""
    return DeezerError("InvalidQueryException", f"Unknown path components : {rest}", 600)


class SlidingQuota:
    """At most ``limit`` requests per client in any ``window`` seconds; refused requests
    are counted as well, as Deezer's cooldown outlasts its window."""

    def __init__(self, limit: int = DEEZER_QUOTA, window: float = DEEZER_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._times: dict[str, deque[float]] = {}

    def __repr__(self) -> str:
        return f"<SlidingQuota {self.limit} per {self.window}s clients={len(self._times)}>"

    def admit(self, client: str, now: float) -> bool:
        """Record a request from ``client`` at ``now``; whether it is within the quota."""
        times = self._times.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        times.append(now)
        return len(times) <= self.limit


Handler = Callable[[DeezerCatalogue, Mapping[str, str], str, str], Any]


class DeezerEmulator:
    """Answers the ``/deezer`` paths from the catalogue ``spotify()`` returns (the one of
    the day served, as extended access renders it), links under ``base``."""

    def __init__(
        self,
        spotify: Callable[[], Catalogue],
        base: str,
        clock: Clock,
        stats: SandboxStats,
        *,
        throttle: bool,
    ) -> None:
        self._spotify = spotify
        self.base = base
        self._clock = clock
        self._stats = stats
        self.quota = SlidingQuota() if throttle else None
        self._catalogue: DeezerCatalogue | None = None

    def __repr__(self) -> str:
        return f"<DeezerEmulator {self.base} quota={self.quota!r}>"

    @property
    def catalogue(self) -> DeezerCatalogue:
        """The Deezer catalogue of the day served now."""
        spotify = self._spotify()
        if self._catalogue is None or self._catalogue.spotify is not spotify:
            self._catalogue = DeezerCatalogue(spotify, self.base)
        return self._catalogue

    def answer(
        self, path: str, query: Mapping[str, str], headers: Mapping[str, str], client: str
    ) -> tuple[str, Reply]:
        """The route name and the reply for ``path`` (without the ``/deezer`` prefix)."""
        rest = path.removeprefix("/2.0") or "/"
        route, handler, arg = _route(rest)
        try:
            if self.quota is not None and not self.quota.admit(client, self._clock()):
                self._stats.api_throttled("deezer")
                raise QUOTA
            if handler is None:
                raise unknown_path(rest)
            lang = language(headers.get("Accept-Language"))
            body = orjson.dumps(handler(self.catalogue, query, arg, lang))
        except DeezerError as exc:
            self._stats.api_error("deezer", exc.code)
            return route, Reply(200, exc.body())
        return route, Reply(200, body)


def _route(rest: str) -> tuple[str, Handler | None, str]:
    parts = rest.strip("/").split("/")
    match parts:
        case ["album", ident] if ident.startswith("upc:"):
            return "deezer-album-upc", _album_upc, ident[4:]
        case ["album", ident]:
            return "deezer-album", _album, ident
        case ["album", ident, "tracks"]:
            return "deezer-album-tracks", _album_tracks, ident
        case ["track", ident] if ident.startswith("isrc:"):
            return "deezer-track-isrc", _track_isrc, ident[5:]
        case ["track", ident]:
            return "deezer-track", _track, ident
        case ["artist", ident]:
            return "deezer-artist", _artist, ident
        case ["genre"]:
            return "deezer-genre", _genres, ""
    return "deezer-other", None, ""


def _number(text: str) -> int:
    if not text.isdigit():
        raise NO_DATA
    return int(text)


def _album_upc(dz: DeezerCatalogue, query: Mapping[str, str], upc: str, lang: str) -> Any:
    index = dz.by_upc(upc)
    if index is None:
        raise NO_DATA
    return dz.album(index, lang)


def _album(dz: DeezerCatalogue, query: Mapping[str, str], ident: str, lang: str) -> Any:
    index = dz.by_id(_number(ident))
    if index is None:
        raise NO_DATA
    return dz.album(index, lang)


def _album_tracks(dz: DeezerCatalogue, query: Mapping[str, str], ident: str, lang: str) -> Any:
    album = _number(ident)
    index = dz.by_id(album)
    if index is None:
        raise NO_DATA
    items = dz.tracks(index)
    start = _param(query, "index", 0, 0, len(items) + 10**6)
    limit = _param(query, "limit", PAGE, 1, None)
    limit = min(limit, MAX_LIMIT)
    page: dict[str, Any] = {"data": items[start : start + limit], "total": len(items)}
    url = f"{dz.base}/album/{album}/tracks"
    if start > 0:
        page["prev"] = _link(url, query, limit, max(0, start - limit))
    if start + limit < len(items):
        page["next"] = _link(url, query, limit, start + limit)
    return page


def _param(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    """An integer parameter; a missing, malformed or too small one reads as ``default``."""
    raw = query.get(name, "")
    if not raw.lstrip("-").isdigit() or int(raw) < low:
        return default
    return int(raw) if high is None else min(int(raw), high)


def _link(url: str, query: Mapping[str, str], limit: int, index: int) -> str:
    """A paging link as Deezer writes it: the query kept, ``limit`` if given, ``index`` last."""
    pairs = [(k, v) for k, v in query.items() if k not in ("index", "limit")]
    if "limit" in query:
        pairs.append(("limit", str(limit)))
    pairs.append(("index", str(index)))
    return f"{url}?{urlencode(pairs, quote_via=quote)}"


def _track_isrc(dz: DeezerCatalogue, query: Mapping[str, str], code: str, lang: str) -> Any:
    found = dz.by_isrc(code)
    if found is None:
        raise NO_DATA
    return dz.track(*found)


def _track(dz: DeezerCatalogue, query: Mapping[str, str], ident: str, lang: str) -> Any:
    found = dz.by_track_id(_number(ident))
    if found is None:
        raise NO_DATA
    return dz.track(*found)


def _artist(dz: DeezerCatalogue, query: Mapping[str, str], ident: str, lang: str) -> Any:
    spotify_id = dz.artist_ident(_number(ident))
    if spotify_id is None:
        raise NO_DATA
    return dz.artist(spotify_id)


def _genres(dz: DeezerCatalogue, query: Mapping[str, str], arg: str, lang: str) -> Any:
    return dz.genre_list(lang)
