"""What an in-process client put on the wire: every request it started and when it ended,
every 429 it received and every time its pacer closed the 429 gate, on one clock (the
loop's). The storm and hostile scenarios judge the client by it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.client.pacing import Pacer, Ticket
from async_spotify_etl.core.settings import ClientSettings

__all__ = ["Sent", "Wire"]


@dataclass(frozen=True)
class Sent:
    """One request the client started: when (loop clock), where, with which headers."""

    at: float
    method: str
    url: str
    headers: dict[str, str]


class Wire:
    """Records a client's requests, the 429s it received and its gate closings."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        #: When each request of ``sent`` ended (answered or failed), by index.
        self.ended: dict[int, float] = {}
        self.throttled: list[tuple[float, float]] = []  # (received at, Retry-After)
        self.gates: list[float] = []

    def client(self, credentials: Any, settings: ClientSettings) -> SpotifyClient:
        """A client whose session reports to this wire; ``watch`` its pacer once open."""
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._start)
        trace.on_request_end.append(self._end)
        trace.on_request_exception.append(self._failed)
        session = aiohttp.ClientSession(trace_configs=[trace])
        self._session = session
        return SpotifyClient(credentials, settings, session=session)

    async def aclose(self) -> None:
        await self._session.close()

    def watch(self, pacer: Pacer) -> None:
        """Note each time ``pacer`` closes its gate."""
        original = pacer.record_throttle

        def record_throttle(ticket: Ticket, delay: float, retry_after: float | None = None) -> None:
            self.gates.append(asyncio.get_running_loop().time())
            original(ticket, delay, retry_after)

        pacer.record_throttle = record_throttle  # type: ignore[method-assign]

    async def _start(self, _s: Any, ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        ctx.wire_index = len(self.sent)
        now = asyncio.get_running_loop().time()
        self.sent.append(Sent(now, params.method, str(params.url), dict(params.headers)))

    async def _end(self, _s: Any, ctx: Any, params: aiohttp.TraceRequestEndParams) -> None:
        now = asyncio.get_running_loop().time()
        self.ended[ctx.wire_index] = now
        if params.response.status == 429:
            retry_after = float(params.response.headers.get("Retry-After", "0"))
            self.throttled.append((now, retry_after))

    async def _failed(self, _s: Any, ctx: Any, _p: aiohttp.TraceRequestExceptionParams) -> None:
        self.ended[ctx.wire_index] = asyncio.get_running_loop().time()

    def sent_during_retry_after(self, api_prefix: str) -> int:
        """API requests started after a 429 had reached the client and before that 429's
        Retry-After ran out, whether or not the client acted on the 429. Requests already
        on their way when the 429 arrived are not counted: the client could not have known."""
        return sum(
            1
            for s in self.sent
            if s.url.startswith(api_prefix)
            and any(received < s.at < received + wait for received, wait in self.throttled)
        )

    def in_flight_at_429s(self, api_prefix: str) -> int:
        """API requests that had left and were not yet answered when some 429 reached the
        client: the only ones a well-behaved client lets arrive inside a Retry-After."""
        return sum(
            1
            for i, s in enumerate(self.sent)
            if s.url.startswith(api_prefix)
            and any(
                s.at < received < self.ended.get(i, float("inf")) for received, _ in self.throttled
            )
        )

    def ungated(self) -> int:
        """429s after which another request started before the client closed its gate."""
        starts = sorted(s.at for s in self.sent)
        missing = 0
        for received, _ in self.throttled:
            following = next((t for t in starts if t > received), float("inf"))
            if not any(received <= g <= following for g in self.gates):
                missing += 1
        return missing
