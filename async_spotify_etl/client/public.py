"""The shared loop of the key-less public API clients (Deezer, MusicBrainz).

Each client paces every attempt through its own aiolimiter bucket, waits out a
throttling signal behind one gate shared by all its tasks, retries transient faults under
a :class:`RetryPolicy`, and names the project in its User-Agent. It sends no credential.
What an answer means (JSON, a miss, a throttle, a fault) is the subclass's ``judge``.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiolimiter import AsyncLimiter
from yarl import URL

from .._version import __version__
from ..core.errors import RateLimitedError, ResponseTooLargeError, SpotifyETLError, TransportError
from .responses import Answer, read_body
from .retry import RetryPolicy
from .urls import check_base_url, resolve, transport_error

log = logging.getLogger(__name__)


def user_agent(contact: str) -> str:
    """Who is asking, as MusicBrainz asks every application to say: ``Name/version ( contact )``."""
    return f"async_spotify_etl/{__version__} ( {contact} )"


#: A miss: the API answered that it holds no such thing (Deezer code 800, MusicBrainz 404).
MISS: Any = None

Params = Mapping[str, str | int]


@dataclass(frozen=True)
class Verdict:
    """What one answer means: ``ok`` (with its JSON), ``miss``, ``throttle`` (wait and ask
    again), or ``fault`` (retry with backoff); ``error`` is raised once retries run out."""

    kind: Literal["ok", "miss", "throttle", "fault"]
    value: Any = None
    error: SpotifyETLError | None = None
    retry_after: float | None = None


@dataclass
class PublicStats:
    """Attempts per endpoint, retries, throttling answers and seconds waited."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "retries": self.retries,
            "throttled": self.throttled,
            "waited_seconds": round(self.waited_seconds, 3),
        }


class PublicClient:
    """An async context manager GETting JSON from one public API; subclasses judge answers.

    ``limiter`` paces every attempt; ``sleep``, ``clock`` and ``random`` are injectable so
    tests need no real waiting.
    """

    #: The API's name, in messages.
    name = "public API"

    def __init__(
        self,
        base_url: str,
        limiter: AsyncLimiter,
        *,
        max_retries: int,
        timeout: float,
        max_body_bytes: int,
        backoff_base: float,
        backoff_cap: float,
        contact: str,
        session: aiohttp.ClientSession | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self._base = check_base_url(base_url, f"{self.name} URL")
        self._limiter = limiter
        self._retry = RetryPolicy(max_retries, backoff_base, backoff_cap, random=random)
        self._timeout = timeout
        self._cap = max_body_bytes
        agent = user_agent(contact)
        self._headers = {"User-Agent": agent, "Accept": "application/json", **(headers or {})}
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = None
        self._sleep = sleep
        self._clock = clock
        self._random = random
        #: No attempt leaves before this moment (on ``clock``): a throttle closes it for all.
        self._gate = 0.0
        self.stats = PublicStats()
        self._state = "new"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._base} [{self._state}] {self.stats.as_dict()}>"

    async def __aenter__(self) -> PublicClient:
        if self._state != "new":
            raise RuntimeError(f"a {type(self).__name__} opens once")
        self._session = self._borrowed or aiohttp.ClientSession()
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session it owns; safe to call twice."""
        if self._state == "open" and self._borrowed is None and self._session is not None:
            await self._session.close()
        self._state = "closed"

    def judge(self, answer: Answer, url: str) -> Verdict:
        raise NotImplementedError

    def throttle_delay(self, throttles: int, retry_after: float | None) -> float:
        """Seconds the gate stays closed after the ``throttles``-th throttling answer."""
        return self.backoff(throttles, retry_after)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """The server's Retry-After or the exponential ceiling of ``attempt``, whichever is
        longer, with up to half of it again as jitter (a Retry-After of 0 means "soon", not
        "now": load shedding answers it to every caller at once)."""
        wait = max(retry_after or 0.0, self._retry.ceiling(attempt))
        return wait * (1.0 + 0.5 * self._random())

    async def get(self, path: str, endpoint: str, params: Params | None = None) -> Any:
        """The JSON at ``path`` (under the base URL), or :data:`MISS`; raises the last
        error once throttles or faults outlast the retries."""
        if self._state != "open":
            raise RuntimeError(f"use 'async with {type(self).__name__}(...)' first")
        url = resolve(self._base, path)
        throttles = faults = 0
        while True:
            await self._pass_gate()
            async with self._limiter:
                self.stats.requests[endpoint] += 1
                verdict = await self._attempt(url, params)
            if verdict.kind == "ok":
                return verdict.value
            if verdict.kind == "miss":
                return MISS
            assert verdict.error is not None
            if verdict.kind == "throttle":
                self.stats.throttled += 1
                delay = self.throttle_delay(throttles, verdict.retry_after)
                self._gate = max(self._gate, self._clock() + delay)
                if not self._retry.can_retry(throttles):
                    raise verdict.error
                throttles += 1
            else:
                if not self._retry.can_retry(faults):
                    raise verdict.error
                delay = self.backoff(faults, verdict.retry_after)
                faults += 1
                log.debug("%s: %s, retrying in %.1f s", self.name, verdict.error, delay)
                self.stats.waited_seconds += delay
                await self._sleep(delay)
            self.stats.retries += 1

    async def _pass_gate(self) -> None:
        while (wait := self._gate - self._clock()) > 0:
            self.stats.waited_seconds += wait
            await self._sleep(wait)

    async def _attempt(self, url: URL, params: Params | None) -> Verdict:
        try:
            answer = await self._send(url, params)
        except ResponseTooLargeError:
            raise  # asking again gets the same body
        except TransportError as exc:
            return Verdict("fault", error=exc)
        return self.judge(answer, str(url))

    async def _send(self, url: URL, params: Params | None) -> Answer:
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with self._session.get(
                url, params=params, headers=self._headers, timeout=timeout, allow_redirects=False
            ) as response:
                body = await read_body(response, self._cap)
                return Answer(response.status, response.headers, body)
        except TimeoutError:
            raise TransportError(f"timed out after {self._timeout:g} s: {url}") from None
        except aiohttp.ClientError as exc:
            failed = f"{type(exc).__name__} from {url}"
            raise transport_error(f"the {self.name} URL", str(url), exc, failed) from None


def throttled(url: str, message: str, retry_after: float | None = None) -> RateLimitedError:
    """The error a throttle that outlasted the retries raises (transient: stays due)."""
    return RateLimitedError(429, url, message, retry_after)
