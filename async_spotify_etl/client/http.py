"""The HTTP boundary: one GET for JSON, with a token, pacing, bounded retries and safety.

What to request is the planner's business; this module only decides how bytes move and
what each answer means. Every attempt passes the :class:`Pacer` (bucket, rolling window
if set, in-flight bound, shared 429 gate); faults are retried under the :class:`RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random as _random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from ..core.errors import (
    BudgetSpentError,
    QuotaExceededError,
    ResponseTooLargeError,
    ResumableStop,
    TransportError,
)
from ..core.settings import ClientSettings, Credentials
from .auth import TokenProvider
from .learning import AutoRate
from .memory import Memory, cache_dir
from .pacing import Pacer, Ticket
from .responses import Answer, Retry, interpret, read_body
from .retry import RetryPolicy
from .urls import check_base_url, resolve, transport_error

logger = logging.getLogger(__name__)

Params = Mapping[str, str | int]


@dataclass(frozen=True)
class ClientStats:
    """What a client did so far: attempts per endpoint, retries, 429s, waits, tokens.

    ``waited_seconds`` is the time the 429 gate was closed (Retry-After, counted once
    however many tasks waited); ``backoff_seconds`` the sleeps before retrying a fault
    (5xx, timeout, broken body) here or at the token endpoint.
    """

    requests: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0
    backoff_seconds: float = 0.0
    token_refreshes: int = 0
    #: How the requests were paced: see :meth:`SpotifyClient.pacing`.
    pacing: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (for the manifest)."""
        return {
            "requests": dict(self.requests),
            "retries": self.retries,
            "throttled": self.throttled,
            "waited_seconds": round(self.waited_seconds, 3),
            "backoff_seconds": round(self.backoff_seconds, 3),
            "token_refreshes": self.token_refreshes,
            "pacing": dict(self.pacing),
        }


class SpotifyClient:
    """An async context manager that GETs JSON from the Spotify Web API.

    Owns an aiohttp session unless one is passed in. ``sleep``, ``clock`` and
    ``random`` are injectable so tests need no real waiting.
    """

    def __init__(
        self,
        credentials: Credentials,
        settings: ClientSettings | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else ClientSettings()
        self._api = check_base_url(self.settings.api_url, "API URL")
        self._token_url = check_base_url(self.settings.token_url, "token URL")
        self._credentials = credentials
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = None
        self._sleep = sleep
        self._clock = clock
        s = self.settings
        uniform = random if random is not None else _random.random
        self._retry = RetryPolicy(s.max_retries, s.backoff_base, s.backoff_cap, random=uniform)
        self._pacer: Pacer | None = None
        self._tokens: TokenProvider | None = None
        #: What earlier runs of this app learned (None: not remembered).
        self.memory: Memory | None = None
        if s.remember:
            self.memory = Memory(cache_dir(s.cache_dir), credentials.client_id, s.api_url)
            if s.forget_limit:
                self.memory.forget_limit()
        self._requests: Counter[str] = Counter()
        self._retries = 0
        self._throttled = 0
        self._backoff_waited = 0.0
        self._state = "new"

    def __repr__(self) -> str:
        return f"<SpotifyClient {self._api} [{self._state}] {self.stats.as_dict()}>"

    @property
    def stats(self) -> ClientStats:
        """A snapshot of what this client did so far."""
        tokens = self._tokens
        return ClientStats(
            requests=dict(self._requests),
            retries=self._retries,
            throttled=self._throttled,
            waited_seconds=self._pacer.waited_seconds if self._pacer else 0.0,
            backoff_seconds=self._backoff_waited + (tokens.waited_seconds if tokens else 0.0),
            token_refreshes=tokens.refreshes if tokens else 0,
            pacing=self.pacing(),
        )

    def pacing(self) -> dict[str, Any]:
        """The rate given (a number or ``auto``), the window, and with ``auto`` the limit
        paced by and whether it was ``learned`` this run or ``remembered``."""
        s = self.settings
        window = None if s.window is None else {"requests": s.window[0], "seconds": s.window[1]}
        info: dict[str, Any] = {"rate": s.rate if s.auto_rate else s.start_rate, "window": window}
        if self._pacer is not None:
            info["throttle_episodes"] = self._pacer.episodes
        auto = self._pacer.auto if self._pacer is not None else None
        if auto is not None:
            limit = auto.limit
            info["limit"] = (
                None
                if limit is None
                else {
                    "requests": limit.requests,
                    "seconds": round(limit.seconds, 3),
                }
            )
            info["limit_source"] = auto.source
            info["fastest_clean_rate"] = round(auto.fastest_clean, 2)
        return info

    @property
    def pacer(self) -> Pacer:
        """The pacer (rate, gate); exists while the client is open."""
        if self._pacer is None:
            raise RuntimeError("the client is not open: use 'async with SpotifyClient(...)'")
        return self._pacer

    async def __aenter__(self) -> SpotifyClient:
        if self._state != "new":
            raise RuntimeError("a SpotifyClient can be opened only once")
        s = self.settings
        if self._borrowed is not None:
            self._session = self._borrowed
        else:
            connector = aiohttp.TCPConnector(limit=s.concurrency + 2)
            self._session = aiohttp.ClientSession(connector=connector)
        clock = self._clock if self._clock is not None else time.monotonic
        self._tokens = TokenProvider(
            self._credentials,
            self._session,
            self._token_url,
            refresh_margin=s.refresh_margin,
            retry=self._retry,
            timeout=s.timeout,
            clock=clock,
            sleep=self._sleep,
        )
        auto = self._auto_rate() if s.auto_rate else None
        self._pacer = Pacer(
            s.start_rate,
            s.burst,
            s.concurrency,
            window=s.window,
            auto=auto,
            clock=self._clock,
            sleep=self._sleep,
        )
        self._state = "open"
        return self

    def _auto_rate(self) -> AutoRate:
        """``--rate auto`` from what memory holds: a fresh limit paces from the first
        request, a fresh clean rate starts the slow start there; a stale one is re-learned."""
        s, remembered = self.settings, self.memory.data if self.memory is not None else None
        if remembered is None:
            return AutoRate(s.start_rate, s.burst)
        return AutoRate(
            s.start_rate,
            s.burst,
            remembered=remembered.fresh_limit(),
            clean_rate=remembered.fresh_clean_rate(),
            clean_burst=remembered.fresh_clean_burst(),
        )

    def _remember(self) -> None:
        """Write back what this run learned about the rate; a run that learned nothing
        new leaves the file as it was."""
        memory, pacer = self.memory, self._pacer
        if memory is None:
            return
        auto = pacer.auto if pacer is not None else None
        changed = memory.changed
        if auto is not None:
            now, data = dt.datetime.now(dt.UTC), memory.data
            if auto.source == "learned" and auto.limit is not None:
                data.limit, data.limit_at, changed = auto.limit, now, True
            burst, known = auto.clean_burst, data.fresh_clean_burst()
            larger = burst is not None and (known is None or burst.requests > known.requests)
            if larger or (auto.fastest_clean > 0 and auto.fastest_clean != data.fresh_clean_rate()):
                data.clean_burst = burst if larger else known
                fastest = auto.fastest_clean or (data.clean_burst.rate if data.clean_burst else 0)
                data.clean_rate, data.clean_at, changed = fastest, now, True
        if changed:
            memory.save()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the owned session; safe to call twice; a borrowed session stays open."""
        if self._state == "closed":
            return
        was_open, self._state = self._state == "open", "closed"
        if was_open:
            self._remember()
        if self._session is not None and self._borrowed is None:
            await self._session.close()
        self._session = None

    async def get_json(
        self, target: str, params: Params | None = None, *, endpoint: str = "other"
    ) -> Any:
        """GET ``target`` (a path under the API URL, or an absolute link on its origin)
        and return the decoded JSON body. ``endpoint`` labels the attempt in the stats."""
        url = resolve(self._api, target)
        if self._state != "open" or self._tokens is None:
            raise RuntimeError("the client is not open: use 'async with SpotifyClient(...)'")
        tokens, pacer = self._tokens, self.pacer
        refreshed = False
        faults = throttles = 0
        while True:
            async with pacer.slot() as ticket:
                # Taken once the pacer lets the request go: a token taken before a long
                # wait at the 429 gate or the bucket could expire before it is sent.
                token = await tokens.token()
                self._spend()
                self._requests[endpoint] += 1
                outcome = await self._attempt(url, params, token, endpoint)
                if not isinstance(outcome, Retry):
                    pacer.record_success(ticket)
                    return outcome
                if outcome.kind == "auth":
                    if refreshed:
                        raise outcome.error
                    refreshed = True
                    tokens.invalidate(token)
                    self._retries += 1
                    continue
                if outcome.kind == "throttle":
                    throttles = self._throttle(ticket, outcome, throttles)
                    continue
            if not self._retry.can_retry(faults):
                raise outcome.error
            # a 503's Retry-After is honoured, but never beyond max_wait
            delay = min(self._retry.delay(faults, outcome.retry_after), self.settings.max_wait)
            faults += 1
            self._retries += 1
            self._backoff_waited += delay
            logger.info("%s: %s; retry %d in %.2f s", endpoint, outcome.error, faults, delay)
            await self._sleep(delay)

    def _spend(self) -> None:
        """Count one more API request against the budget: past it, stop every request."""
        budget = self.settings.budget
        if budget is not None and sum(self._requests.values()) >= budget:
            stop = BudgetSpentError(budget)
            self.pacer.stop(stop)
            raise stop

    async def _attempt(self, url: URL, params: Params | None, token: str, endpoint: str) -> Any:
        """One exchange: the decoded JSON, a :class:`Retry` saying why not, or raise."""
        try:
            answer = await self._send(url, params, token)
            return interpret(answer, str(url), endpoint, token)
        except ResponseTooLargeError:
            raise
        except TransportError as exc:
            return Retry("fault", exc)

    def _throttle(self, ticket: Ticket, outcome: Retry, throttles: int) -> int:
        """Handle a 429: stop resumably, or close the shared gate and count the retry."""
        self._throttled += 1
        wait = outcome.retry_after if outcome.retry_after is not None else 0.0
        if outcome.quota_exceeded or wait > self.settings.max_wait:
            resume_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            stop: ResumableStop
            if outcome.quota_exceeded:
                stop = QuotaExceededError("API quota exceeded", wait, resume_at)
            else:
                stop = ResumableStop("Retry-After exceeds max_wait", wait, resume_at)
            self.pacer.stop(stop)
            raise stop
        # The gate closes for every task even when this request has run out of retries.
        delay = self._retry.delay(throttles, outcome.retry_after)
        self.pacer.record_throttle(ticket, delay, outcome.retry_after)
        if not self._retry.can_retry(throttles):
            raise outcome.error
        self._retries += 1
        return throttles + 1

    async def _send(self, url: URL, params: Params | None, token: str) -> Answer:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        # An owned session sends each attempt once: aiohttp's own silent retry of a GET on
        # a dropped connection would bypass the pacer, the budget and the counts (#23.8).
        once = None if self._borrowed is not None else (_one_attempt(),)
        try:
            async with self._session.get(
                url,
                params=params,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                middlewares=once,
            ) as response:
                body = await read_body(response, self.settings.max_body_bytes)
                return Answer(response.status, response.headers, body)
        except TimeoutError:
            raise TransportError(f"timed out after {self.settings.timeout:g} s: {url}") from None
        except aiohttp.ClientError as exc:
            failed = f"{type(exc).__name__} from {url}"
            raise transport_error("the API URL", str(url), exc, failed) from None


def _one_attempt() -> aiohttp.ClientMiddlewareType:
    """A middleware that lets one request reach the server once.

    aiohttp resends an idempotent request once, unseen, when the connection drops
    (``ClientOSError``, ``ServerDisconnectedError``); aiohttp 3.14 has no public switch
    for it. The resend passes through the middleware again: it gets the first failure
    instead, so the retry is the client's own, paced, budgeted and counted.
    """
    failed: BaseException | None = None

    async def middleware(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        nonlocal failed
        if failed is not None:
            raise failed
        try:
            return await handler(request)
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
            failed = exc
            raise

    return middleware
