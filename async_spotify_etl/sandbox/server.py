"""The :class:`Sandbox`: an async context manager that owns the emulator's server."""

from __future__ import annotations

import asyncio
import logging
import socket
from types import TracebackType
from typing import Any

from aiohttp import web

from ..core.settings import Credentials
from .app import SandboxState, build_app
from .behaviours import Clock
from .config import SandboxConfig

log = logging.getLogger(__name__)


class Sandbox:
    """An emulated Spotify Web API and accounts service on ``config.host:config.port``.

    Binds inside the running loop on ``__aenter__`` (port 0 picks a free port) and stops
    on ``__aexit__``/``aclose()``. ``clock`` (default: the loop's monotonic clock) drives
    token expiry and the rate-limit window, so tests can move time by hand.
    """

    def __init__(self, config: SandboxConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config if config is not None else SandboxConfig()
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self._state: SandboxState | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        where = self._url or "not started"
        return f"<Sandbox {where} access={self.config.access} seed={self.config.seed}>"

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Bind the socket and start serving."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        config = self.config
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        sock = socket.create_server((config.host, config.port), family=family)
        port = sock.getsockname()[1]
        host = f"[{config.host}]" if family == socket.AF_INET6 else config.host
        self._url = f"http://{host}:{port}"
        clock = self._clock or asyncio.get_running_loop().time
        self._state = SandboxState(config, self.api_url, clock)
        runner = web.AppRunner(build_app(self._state), handle_signals=False, access_log=None)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        log.debug("sandbox serving %s (seed %s, %s)", self._url, config.seed, config.access)

    async def aclose(self) -> None:
        """Stop serving; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """``http://host:port`` the sandbox listens on."""
        if self._url is None:
            raise RuntimeError("sandbox not started")
        return self._url

    @property
    def api_url(self) -> str:
        """Base URL of the emulated Web API (``.../v1``)."""
        return f"{self.url}/v1"

    @property
    def deezer_url(self) -> str:
        """Base URL of the emulated Deezer API (standing for ``https://api.deezer.com``)."""
        return f"{self.url}/deezer"

    @property
    def musicbrainz_url(self) -> str:
        """Base URL of the emulated MusicBrainz web service (for
        ``https://musicbrainz.org/ws/2``)."""
        return f"{self.url}/musicbrainz/ws/2"

    @property
    def token_url(self) -> str:
        """URL of the emulated accounts token endpoint."""
        return f"{self.url}/api/token"

    @property
    def credentials(self) -> Credentials:
        """The client id and secret the sandbox accepts."""
        return Credentials(self.config.client_id, self.config.client_secret)

    @property
    def state(self) -> SandboxState:
        """The live state (tokens, limits, catalogue); for tests and tools."""
        if self._state is None:
            raise RuntimeError("sandbox not started")
        return self._state

    def stats(self) -> dict[str, Any]:
        """Same as ``GET /_sandbox/stats``."""
        return self.state.stats.snapshot()

    def truth(self) -> dict[str, Any]:
        """Same as ``GET /_sandbox/truth``."""
        return self.state.truth()
