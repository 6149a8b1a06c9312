"""An outage in front of the sandbox: a proxy that goes silent (or drops every connection)
for the album and artist endpoints once they have served a given number of requests, until
the test brings it back.

The proxy forwards every request to the sandbox as it came and rewrites the sandbox's own
address in the answers (paging links) to its own, so the client only ever talks to it.
The outage is switched by request counts and by the test, never by a timer.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Literal

import aiohttp
from aiohttp import web

from async_spotify_etl.sandbox import Sandbox

Mode = Literal["hang", "drop"]
#: The paths an outage silences: expansion's and the artists stage's, not the listing's.
OUTAGE_PATHS = ("/v1/albums", "/v1/artists")
_FORWARDED = ("Authorization", "Accept", "Content-Type")
_ANSWERED = ("Content-Type", "Retry-After")


class OutageProxy:
    """A proxy on 127.0.0.1 port 0 in front of ``sandbox``; an async context manager."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.served = 0  # requests on OUTAGE_PATHS answered by the sandbox
        self.refused = 0  # requests on OUTAGE_PATHS met by the outage
        self._after: int | None = None
        self._mode: Mode = "hang"
        self._back = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    def __repr__(self) -> str:
        state = "down" if self.down else "up"
        return f"<OutageProxy {state} served={self.served} refused={self.refused}>"

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def token_url(self) -> str:
        return f"{self.url}/api/token"

    @property
    def down(self) -> bool:
        return self._after is not None and self.served >= self._after

    def fail_after(self, served: int, mode: Mode = "hang") -> None:
        """Go down once the album and artist endpoints have served ``served`` requests:
        ``hang`` answers nothing until :meth:`restore`, ``drop`` drops each connection."""
        self._after, self._mode = served, mode
        self._back.clear()

    def restore(self) -> None:
        """End the outage; requests still hanging get a 503 (their client left long ago)."""
        self._after = None
        self._back.set()

    async def __aenter__(self) -> OutageProxy:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        watched = request.path.startswith(OUTAGE_PATHS)
        if watched and self.down:
            self.refused += 1
            if self._mode == "drop":
                assert request.transport is not None
                request.transport.abort()
                return web.Response(status=503)
            await self._back.wait()
            return web.Response(status=503)
        assert self._session is not None
        upstream = self.sandbox.url
        headers = {k: request.headers[k] for k in _FORWARDED if k in request.headers}
        async with self._session.request(
            request.method,
            upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            if watched:
                self.served += 1
        answered = {k: answer.headers[k] for k in _ANSWERED if k in answer.headers}
        body = body.replace(upstream.encode(), self.url.encode())
        return web.Response(status=answer.status, body=body, headers=answered)
