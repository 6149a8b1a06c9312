"""The emulated MusicBrainz web service under ``/musicbrainz/ws/2``.

Checks in MusicBrainz's order: a missing (or a bare HTTP library's) User-Agent gets 403;
with ``musicbrainz_throttle`` a client beyond one request a second (a bucket of three)
gets 503 with ``retry-after: 1``; at ``musicbrainz_shed_rate`` any request may get the
global "busy" 503 with ``retry-after: 0``. Then JSON (``fmt=json`` or an ``Accept`` of
``application/json``; anything else gets an XML stub), and the server's 400/404 bodies
``{"error", "help"}`` in a key order that varies, as Perl's hashes do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .behaviours import Clock
from .catalogue import Catalogue
from .config import MUSICBRAINZ_BURST, MUSICBRAINZ_RATE, SandboxConfig
from .handlers import Reply
from .musicbrainz import VARIOUS_MBID, MusicBrainzCatalogue
from .names import uniform
from .stats import SandboxStats

HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
_NO_UA = (
    "Your requests are being throttled by MusicBrainz because the application you are"
    " using has not identified itself. Please update your application, and see"
    " http://musicbrainz.org/doc/XML_Web_Service/Rate_Limiting for more information."
)
_EXCEEDING = (
    "Your requests are exceeding the allowable rate limit. Please see"
    " http://wiki.musicbrainz.org/XMLWebService for more information."
)
_BUSY = "The MusicBrainz web server is currently busy. Please try again later."
_BLANK = (
    "You submitted a blank search query. You must include a non-blank 'query=' parameter"
    " with your search."
)
#: User-Agents HTTP libraries send by themselves: MusicBrainz wants the application named.
_LIBRARY_UA = re.compile(
    r"^(Python/\S+ )?aiohttp/|^python-requests/|^Python-urllib/|^python-httpx/"
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
_BARCODE = re.compile(r'\bbarcode:\s*"?([0-9 ]+)"?', re.IGNORECASE)
_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><metadata xmlns="http://musicbrainz.org/ns/mmd-2.0#"/>'
)
#: The ``inc`` values each lookup accepts (``user-*`` ones need authentication).
_INCS = {
    "artist": "recordings releases release-groups works aliases annotation tags genres ratings",
    "release-group": "artists releases artist-credits aliases annotation tags genres ratings",
    "recording": "artists releases artist-credits isrcs aliases tags genres ratings"
    " release-groups annotation",
    "isrc": "artists releases puids isrcs artist-credits aliases tags ratings",
}


@dataclass(frozen=True, slots=True)
class MusicBrainzError(Exception):
    """An error answer: status, message, and whether the server's ``help`` goes with it."""

    status: int
    message: str
    help: bool = True
    retry_after: str | None = None


class TokenBucket:
    """``rate`` requests a second per client with a burst of ``burst``; a refused request
    takes nothing."""

    def __init__(self, rate: float = MUSICBRAINZ_RATE, burst: int = MUSICBRAINZ_BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._level: dict[str, tuple[float, float]] = {}

    def __repr__(self) -> str:
        return f"<TokenBucket {self.rate}/s burst={self.burst} clients={len(self._level)}>"

    def admit(self, client: str, now: float) -> bool:
        """Whether ``client`` may make a request at ``now`` (and take a token if so)."""
        tokens, then = self._level.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self._level[client] = (tokens, now)
            return False
        self._level[client] = (tokens - 1.0, now)
        return True


Handler = Callable[[MusicBrainzCatalogue, Mapping[str, str], str], Any]


class MusicBrainzEmulator:
    """Answers the ``/musicbrainz/ws/2`` paths from the catalogue ``spotify()`` returns."""

    def __init__(
        self,
        spotify: Callable[[], Catalogue],
        config: SandboxConfig,
        clock: Clock,
        stats: SandboxStats,
    ) -> None:
        self._spotify = spotify
        self._config = config
        self._clock = clock
        self._stats = stats
        self.bucket = TokenBucket() if config.musicbrainz_throttle else None
        self._seen: dict[str, int] = {}
        self._catalogue: MusicBrainzCatalogue | None = None

    def __repr__(self) -> str:
        return f"<MusicBrainzEmulator bucket={self.bucket!r}>"

    @property
    def catalogue(self) -> MusicBrainzCatalogue:
        """The MusicBrainz catalogue of the day served now."""
        spotify = self._spotify()
        if self._catalogue is None or self._catalogue.spotify is not spotify:
            self._catalogue = MusicBrainzCatalogue(spotify)
        return self._catalogue

    def answer(
        self, path: str, query: Mapping[str, str], headers: Mapping[str, str], client: str, key: str
    ) -> tuple[str, Reply]:
        """The route name and the reply for ``path`` (after ``/musicbrainz/ws/2``); ``key``
        (method, path and query) keys the random shedding and the error bodies' key order."""
        route, handler, arg = _route(path)
        try:
            self._edge(headers, client, key)
            if not _wants_json(query, headers):
                return route, Reply(200, _XML, {"Content-Type": "application/xml; charset=utf-8"})
            if handler is None:
                raise MusicBrainzError(404, "Not Found")
            body = orjson.dumps(handler(self.catalogue, query, arg))
        except MusicBrainzError as exc:
            self._stats.api_error("musicbrainz", exc.status)
            return route, self._error(exc, key)
        return route, Reply(200, body)

    def _edge(self, headers: Mapping[str, str], client: str, key: str) -> None:
        """The openresty edge's checks: User-Agent, the client's rate, global shedding."""
        agent = headers.get("User-Agent", "").strip()
        if not agent or _LIBRARY_UA.match(agent):
            raise MusicBrainzError(403, _NO_UA, help=False)
        if self.bucket is not None and not self.bucket.admit(client, self._clock()):
            self._stats.api_throttled("musicbrainz")
            raise MusicBrainzError(503, _EXCEEDING, help=False, retry_after="1")
        if self._config.musicbrainz_shed_rate:
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            if uniform(self._config.seed, "mb-shed", key, n) < self._config.musicbrainz_shed_rate:
                self._stats.api_shed("musicbrainz")
                raise MusicBrainzError(503, _BUSY, help=False, retry_after="0")

    def _error(self, exc: MusicBrainzError, key: str) -> Reply:
        body: dict[str, str] = {"error": exc.message}
        if exc.help:
            body["help"] = HELP
            if uniform(self._config.seed, "mb-order", key) < 0.5:
                body = {"help": HELP, "error": exc.message}
        headers: dict[str, str] = {}
        if exc.retry_after is not None:
            zone = "global" if exc.retry_after == "0" else "ws ip"
            headers = {"Retry-After": exc.retry_after, "X-RateLimit-Zone": zone}
        if exc.status == 403:
            headers = {"X-RateLimit-Who": "ua-missing"}
        return Reply(exc.status, orjson.dumps(body), headers)


def _wants_json(query: Mapping[str, str], headers: Mapping[str, str]) -> bool:
    """``fmt=json``, or no ``fmt`` and an ``Accept`` of JSON (``fmt`` wins, MBS-9258)."""
    fmt = query.get("fmt") or ("json" if "application/json" in headers.get("Accept", "") else "")
    return fmt == "json"


def _route(path: str) -> tuple[str, Handler | None, str]:
    parts = path.strip("/").split("/")
    match parts:
        case ["release"]:
            return "musicbrainz-release-search", _search, ""
        case ["release-group", ident]:
            return "musicbrainz-release-group", _release_group, ident
        case ["isrc", code]:
            return "musicbrainz-isrc", _isrc, code
        case ["recording", ident]:
            return "musicbrainz-recording", _recording, ident
        case ["artist", ident]:
            return "musicbrainz-artist", _artist, ident
    return "musicbrainz-other", None, ""


def _incs(query: Mapping[str, str], resource: str) -> tuple[str, ...]:
    """The ``inc`` values, each checked against what ``resource`` accepts."""
    values = tuple(v for v in re.split(r"[ +]", query.get("inc", "")) if v)
    allowed = _INCS[resource].split()
    for value in values:
        if value.startswith("user-") and value[5:] in allowed:
            raise MusicBrainzError(401, "You are not authorized to access this resource.")
        if value not in allowed and not value.endswith("-rels"):
            raise MusicBrainzError(
                400, f"{value} is not a valid inc parameter for the {resource} resource."
            )
    return values


def _mbid(mb: MusicBrainzCatalogue, kind: str, ident: str) -> int:
    if not _UUID.fullmatch(ident):
        raise MusicBrainzError(400, "Invalid mbid.")
    number = mb.entity(kind, ident)
    if number is None:
        raise MusicBrainzError(404, "Not Found")
    return number


def _search(mb: MusicBrainzCatalogue, query: Mapping[str, str], arg: str) -> Any:
    text = query.get("query", "").strip()
    if not text:
        raise MusicBrainzError(400, _BLANK)
    raw_limit, raw_offset = query.get("limit", "25"), query.get("offset", "0")
    limit = int(raw_limit) if raw_limit.isdigit() and 1 <= int(raw_limit) <= 100 else 25
    offset = int(raw_offset) if raw_offset.isdigit() else 0
    found = _BARCODE.search(text)
    index = mb.by_barcode(found.group(1)) if found else None
    hits = [] if index is None else [mb.release(index)]
    return {
        "created": mb.created,
        "count": len(hits),
        "offset": offset,
        "releases": hits[offset : offset + limit],
    }


def _release_group(mb: MusicBrainzCatalogue, query: Mapping[str, str], ident: str) -> Any:
    inc = _incs(query, "release-group")
    return mb.release_group(_mbid(mb, "release-group", ident), inc)


def _isrc(mb: MusicBrainzCatalogue, query: Mapping[str, str], code: str) -> Any:
    if not _ISRC.fullmatch(code):
        raise MusicBrainzError(400, "Invalid isrc.")
    inc = _incs(query, "isrc")
    found = mb.by_isrc(code)
    if found is None:
        raise MusicBrainzError(404, "Not Found")
    return {"isrc": code, "recordings": mb.recordings(*found, inc=inc)}


def _recording(mb: MusicBrainzCatalogue, query: Mapping[str, str], ident: str) -> Any:
    inc = _incs(query, "recording")
    return mb.recording_by_number(_mbid(mb, "recording", ident), inc)


def _artist(mb: MusicBrainzCatalogue, query: Mapping[str, str], ident: str) -> Any:
    inc = _incs(query, "artist")
    if ident == VARIOUS_MBID:
        return mb.artist(None, inc)
    return mb.artist(_mbid(mb, "artist", ident), inc)
