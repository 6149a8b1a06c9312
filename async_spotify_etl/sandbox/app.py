"""The sandbox's aiohttp application: routing, then auth, quota, rate limit and faults.

One catch-all route dispatches by path (with or without a trailing slash), so every
request, even to an unknown path, is counted and answered with a Spotify-shaped body.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from . import handlers
from .behaviours import Clock, Fault, FaultPlan, Quota, RollingWindow, TokenStore
from .catalogue import Catalogue
from .config import SandboxConfig
from .deezer_api import DeezerEmulator
from .handlers import Reply
from .hostile import Hostility
from .musicbrainz_api import HELP, MusicBrainzEmulator
from .pages import BadParam, error_body
from .stats import BATCH_ROUTES, SandboxStats
from .token import issue_token

log = logging.getLogger(__name__)

_JSON = "application/json; charset=utf-8"
_UNAUTHORIZED = Reply(
    401,
    error_body(401, "Missing/invalid/expired access token"),
    {"WWW-Authenticate": 'Bearer realm="spotify", error="invalid_token"'},
)
_NO_SERVICE = Reply(404, error_body(404, "Service not found"))
_NOT_ALLOWED = Reply(405, error_body(405, "Method not allowed"))
_SERVER_ERRORS = {
    Fault.STATUS_500: Reply(500, error_body(500, "Server error.")),
    Fault.STATUS_502: Reply(502, error_body(502, "Something went wrong")),
    Fault.STATUS_503: Reply(503, error_body(503, "Service unavailable")),
}


class SandboxState:
    """Everything one running sandbox remembers between requests."""

    def __init__(self, config: SandboxConfig, api_url: str, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._api_url = api_url
        #: The clock's reading when the sandbox started: day ``config.day`` began then.
        self.started = clock()
        self._catalogue = Catalogue(config, api_url)
        self.tokens = TokenStore(config.token_lifetime, clock)
        self.stats = SandboxStats()
        self.faults = FaultPlan(config)
        self.window = (
            RollingWindow(config.rate_limit, config.rate_window) if config.rate_limit else None
        )
        self.quota = (
            Quota(config.quota, config.quota_retry_after) if config.quota is not None else None
        )
        self.hostility = (
            Hostility(self._catalogue, config.hostile_body_bytes) if config.hostile else None
        )
        self._retry_until: dict[str, float] = {}
        self._full: Catalogue | None = None
        url = api_url.removesuffix("/v1")
        self.deezer = DeezerEmulator(
            lambda: self.full_catalogue,
            f"{url}/deezer",
            clock,
            self.stats,
            throttle=config.deezer_throttle,
        )
        self.musicbrainz = MusicBrainzEmulator(
            lambda: self.full_catalogue, config, clock, self.stats
        )

    def __repr__(self) -> str:
        return f"<SandboxState {self._catalogue!r} {self.stats!r}>"

    @property
    def day(self) -> int:
        """The day served now: ``config.day``, plus the day lengths elapsed since start
        when ``config.day_seconds`` is set."""
        if self.config.day_seconds is None:
            return self.config.day
        elapsed = max(0.0, self.clock() - self.started)
        return self.config.day + int(elapsed // self.config.day_seconds)

    def day_begins(self, day: int) -> float:
        """The clock reading at which ``day`` begins (``started`` for ``config.day``)."""
        if self.config.day_seconds is None or day <= self.config.day:
            return self.started
        return self.started + (day - self.config.day) * self.config.day_seconds

    @property
    def catalogue(self) -> Catalogue:
        """The catalogue of the day served now; a new day's is built on its first use."""
        day = self.day
        if day != self._catalogue.config.day:
            config = self.config.replace(day=day)
            self._catalogue = Catalogue(config, self._api_url)
            if self.hostility is not None:
                self.hostility = Hostility(self._catalogue, config.hostile_body_bytes)
        return self._catalogue

    @property
    def full_catalogue(self) -> Catalogue:
        """The catalogue of the day served now as extended access renders it: what the
        Deezer and MusicBrainz emulators read (they see labels whatever the access mode)."""
        catalogue = self.catalogue
        if catalogue.config.access == "extended":
            return catalogue
        if self._full is None or self._full.config.day != catalogue.config.day:
            self._full = Catalogue(catalogue.config.replace(access="extended"), self._api_url)
        return self._full

    def truth(self) -> dict[str, Any]:
        """Ground truth; in hostile mode with a ``"hostile"`` key naming sabotaged albums."""
        truth = self.catalogue.truth()
        if self.hostility is None:
            return truth
        return {**truth, "hostile": self.hostility.truth()}

    def admit(self, client: str) -> Reply | None:
        """Apply quota and rate limit for one request from ``client``; a 429 or None."""
        now = self.clock()
        if now < self._retry_until.get(client, float("-inf")):
            self.stats.during_retry_after += 1
        reply: Reply | None = None
        wait = self.quota.admit() if self.quota is not None else None
        if wait is not None:
            body = error_body(429, "Too many requests", "QUOTA_EXCEEDED")
            reply = Reply(429, body, {"Retry-After": str(wait)})
        elif self.window is not None and (wait := self.window.admit(now)) is not None:
            reply = Reply(
                429, error_body(429, "API rate limit exceeded"), {"Retry-After": str(wait)}
            )
        if reply is not None and wait is not None:
            self.stats.throttled += 1
            self._retry_until[client] = max(self._retry_until.get(client, now), now + wait)
        return reply


STATE = web.AppKey("sandbox_state", SandboxState)


def _route(path: str) -> tuple[str, Callable[..., Reply] | None, tuple[str, ...]]:
    """Route name, handler and path arguments for a path without trailing slash."""
    if not path.startswith("/v1/"):
        return "other", None, ()
    rest = path[4:]
    if rest == "browse/new-releases":
        return "new-releases", handlers.new_releases, ()
    if rest == "albums":
        return "several-albums", handlers.several_albums, ()
    if rest == "search":
        return "search", handlers.search, ()
    if rest == "artists":
        return "several-artists", handlers.several_artists, ()
    parts = rest.split("/")
    if parts[0] == "albums" and len(parts) == 2:
        return "album", handlers.album, (parts[1],)
    if parts[0] == "artists" and len(parts) == 2:
        return "artist", handlers.artist, (parts[1],)
    if parts[0] == "albums" and len(parts) == 3 and parts[2] == "tracks":
        return "album-tracks", handlers.album_tracks, (parts[1],)
    if parts[0] == "artists" and len(parts) == 3 and parts[2] == "albums":
        return "artist-albums", handlers.artist_albums, (parts[1],)
    return "other", None, ()


def _corrupt(reply: Reply, fault: Fault) -> Reply:
    body = reply.body
    if fault is Fault.TRUNCATED:
        return Reply(reply.status, body[: len(body) // 2], reply.headers)
    cut = len(body) // 3
    return Reply(reply.status, body[:cut] + b'\x00"}{,' + body[cut:], reply.headers)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _api(
    state: SandboxState,
    request: web.Request,
    route: str,
    handler: Callable[..., Reply],
    args: tuple[str, ...],
) -> Reply | None:
    """Latency, auth, quota, rate limit, faults and the handler, in Spotify's order.
    None means the connection is to be dropped."""
    fault: Fault | None = None
    if state.faults.active:
        key = request.method + " " + request.path_qs
        fault, delay = state.faults.decide(key)
        if fault is not None:
            log.debug("injecting %s into %s", fault.name, key)
        if delay:
            await asyncio.sleep(delay)
    token = _bearer(request)
    client = state.tokens.client_of(token) if token else None
    if client is None:
        return _UNAUTHORIZED
    if (limited := state.admit(client)) is not None:
        return limited
    if fault is Fault.DROP:
        return None
    if fault in _SERVER_ERRORS:
        return _SERVER_ERRORS[fault]
    try:
        reply = handler(state.catalogue, request.query, *args)
    except BadParam as exc:
        reply = handlers.bad_request(exc)
    if state.hostility is not None:
        reply = state.hostility.rewrite(route, args, request.query, reply)
    if fault is Fault.CUT_OFF:
        return dataclasses.replace(reply, cut_off=True)
    if fault is not None and reply.status == 200:
        reply = _corrupt(reply, fault)
    return reply


async def _dispatch(
    state: SandboxState,
    request: web.Request,
    route: str,
    handler: Callable[..., Reply] | None,
    args: tuple[str, ...],
) -> Reply | None:
    if route == "token":
        if request.method != "POST":
            return _NOT_ALLOWED
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        reply = issue_token(
            state.config, state.tokens, request.headers.get("Authorization"), fields
        )
        if reply.status == 200:
            state.stats.tokens_issued += 1
        return reply
    if handler is None:
        return _NO_SERVICE
    if request.method != "GET":
        return _NOT_ALLOWED
    return await _api(state, request, route, handler, args)


async def _handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    path = request.path.rstrip("/") or "/"
    if path.startswith("/_sandbox/"):
        return _inspect(state, path)
    if path == "/deezer" or path.startswith(("/deezer/", "/musicbrainz/")):
        return await _other_api(state, request, path)
    route, handler, args = ("token", None, ()) if path == "/api/token" else _route(path)
    state.stats.enter()
    status: int | str = "dropped"
    size = 0
    try:
        reply = await _dispatch(state, request, route, handler, args)
        if reply is None:
            _abort(request)
            return web.Response(status=500)
        headers = {"Content-Type": _JSON, **reply.headers}
        if reply.cut_off:
            size = len(reply.body) // 2
            return await _cut_off(request, reply, headers, size)
        status, size = reply.status, len(reply.body)
        if route in BATCH_ROUTES and status == 200:
            state.stats.batch(route, len(request.query.get("ids", "").split(",")))
        return web.Response(status=reply.status, body=reply.body, headers=headers)
    finally:
        state.stats.leave(route, status, size)


async def _other_api(state: SandboxState, request: web.Request, path: str) -> web.StreamResponse:
    """Deezer's or MusicBrainz's answer, counted under its own routes; the configured
    faults and latency apply as they do to ``/v1``, a server error as an HTML page."""
    state.stats.enter()
    route, size = "other", 0
    status: int | str = "dropped"
    try:
        fault, delay = None, 0.0
        if state.faults.active:
            fault, delay = state.faults.decide(request.method + " " + request.path_qs)
        if delay:
            await asyncio.sleep(delay)
        route, reply = _other_reply(state, request, path)
        if fault is Fault.DROP:
            _abort(request)
            return web.Response(status=500)
        if fault in _SERVER_ERRORS:
            page = f"<html><body><h1>{fault.value} Server Error</h1></body></html>".encode()
            reply = Reply(int(fault.value), page, {"Content-Type": "text/html"})
        elif fault is not None and fault is not Fault.CUT_OFF and reply.status == 200:
            reply = _corrupt(reply, fault)
        headers = {"Content-Type": _JSON, **reply.headers}
        if fault is Fault.CUT_OFF:
            size = len(reply.body) // 2
            return await _cut_off(request, reply, headers, size)
        status, size = reply.status, len(reply.body)
        return web.Response(status=reply.status, body=reply.body, headers=headers)
    finally:
        state.stats.leave(route, status, size)


def _other_reply(state: SandboxState, request: web.Request, path: str) -> tuple[str, Reply]:
    client = request.remote or ""
    if path.startswith("/deezer"):
        rest = path.removeprefix("/deezer")
        return state.deezer.answer(rest, request.query, request.headers, client)
    if path.startswith("/musicbrainz/ws/2/"):
        rest = path.removeprefix("/musicbrainz/ws/2")
        key = request.method + " " + request.path_qs
        return state.musicbrainz.answer(rest, request.query, request.headers, client, key)
    return "musicbrainz-other", Reply(404, orjson.dumps({"error": "Not Found", "help": HELP}))


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _cut_off(
    request: web.Request, reply: Reply, headers: dict[str, str], size: int
) -> web.StreamResponse:
    """Send the headers and the first ``size`` bytes of the body, then drop the connection."""
    response = web.StreamResponse(status=reply.status, headers=headers)
    response.content_length = len(reply.body)
    await response.prepare(request)
    await response.write(reply.body[:size])
    _abort(request)
    return response


def _inspect(state: SandboxState, path: str) -> web.Response:
    data: dict[str, Any]
    if path == "/_sandbox/stats":
        data = state.stats.snapshot()
    elif path == "/_sandbox/truth":
        data = state.truth()
    else:
        return web.Response(
            status=404, body=error_body(404, "Service not found"), content_type="application/json"
        )
    return web.Response(body=orjson.dumps(data), content_type="application/json")


def build_app(state: SandboxState) -> web.Application:
    """The aiohttp application serving ``state``."""
    app = web.Application()
    app[STATE] = state
    app.router.add_route("*", "/{tail:.*}", _handle)
    return app
