"""Pacing of one client's requests: one token bucket, an optional rolling-window cap, a
bound on requests in flight and one 429 gate shared by every task.

* The bucket is one aiolimiter ``AsyncLimiter`` (:class:`Bucket`) and every attempt,
  retries and probes included, pays it one token, in every mode. A fixed ``--rate`` is
  its rate and ``--burst`` its size; with ``--rate auto`` an :class:`.learning.AutoRate`
  sets both as it learns (the slow start's doubling, then the learned window's ``N``
  per ``seconds`` with a burst of ``N``), so the bucket is retuned, never replaced.
* The window (``N`` requests per rolling ``seconds``: ``--window``, or the limit ``auto``
  learned or remembered) mirrors a server that counts the requests arriving in any
  ``seconds``: a request leaves only while fewer than ``N`` are in flight or were
  answered within the last ``seconds`` (see :mod:`.window`). It is a cap beside the
  bucket, not a second bucket.
* After a 429 the bucket's rate drops: at least by half, and down to what the server
  evidently sustains (the requests it accepted since the gate last opened over that
  time plus the Retry-After). It then climbs back additively with time, never above the
  configured rate.
* A 429 closes the gate for every task until its Retry-After plus jitter (a missing one
  counts as the window's length). When it reopens one probe request goes first; the
  others follow only if the probe was not throttled, so a reopened gate never releases
  a burst into a window that is still full. While ``auto`` measures a window, the gate
  reopens inside the Retry-After's last second instead, one probe at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiolimiter import AsyncLimiter

from ..core.errors import ResumableStop
from .learning import ASSUMED_WINDOW, CUT, AutoRate, Limit
from .learning import CLIMB as _CLIMB
from .window import Window

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Multiplicative decrease of the rate on a 429, and its additive climb back per second
#: as a fraction of the rate after the cut (the same as ``auto``'s).
DECREASE, CLIMB = CUT, _CLIMB
#: Successes needed before they are trusted as an estimate of the server's rate.
MIN_SAMPLE = 4
#: The rate never drops below this fraction of the configured rate.
FLOOR = 1 / 64


class Bucket(AsyncLimiter):
    """aiolimiter's leaky bucket whose rate and size can change while requests wait.

    aiolimiter sets its rate once, in ``__init__`` (mjpieters/aiolimiter#98 asks for
    more); :meth:`retune` sets the same three attributes it sets there, after draining
    what the old rate let leak, so the level (what was sent lately) carries over and a
    new rate never releases a fresh burst. ``tests/client/test_pacing.py`` pins it.
    """

    __slots__ = ()

    def __init__(self, rate: float, burst: int) -> None:
        super().__init__(burst, burst / rate)

    @property
    def rate(self) -> float:
        """Tokens per second."""
        return self.max_rate / self.time_period

    def retune(self, rate: float, burst: int) -> None:
        """Refill at ``rate`` per second, hold at most ``burst``."""
        if rate == self._rate_per_sec and burst == self.max_rate:
            return
        self._leak()
        self.max_rate, self.time_period, self._rate_per_sec = burst, burst / rate, rate
        self._wake_next()

    def fill(self) -> None:
        """Leave the bucket full: the requests after this one are paced, not a burst."""
        self._leak()
        self._level = float(self.max_rate)

    def waits(self) -> bool:
        """True when a token is not free now."""
        return not self.has_capacity(1)


@dataclass(eq=False)
class Ticket:
    """One request's pass through the pacer: when it left and whether it was the probe."""

    sent_at: float
    probe: bool = False
    throttled: bool = False
    #: The window whose place this request holds, if any.
    window: Window | None = field(default=None, repr=False)
    #: Its record in ``--rate auto``'s history.
    record: Any = field(default=None, repr=False)


class Pacer:
    """Decides when each request may leave. Create it inside the running loop's lifetime;
    the bucket binds to the loop lazily, on first use (it keeps the loop's time, as the
    window and the gate keep ``clock``, the same clock unless a test injects one)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        concurrency: int,
        *,
        window: tuple[int, float] | None = None,
        auto: AutoRate | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.configured_rate = rate
        self._base_rate = rate
        self._climb_since = 0.0
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        #: ``--rate auto``'s state, or None for a fixed rate.
        self.auto = auto
        rate, burst = self._setting()
        self._bucket = Bucket(rate, burst)
        self._in_flight = asyncio.Semaphore(concurrency)
        self.window = None if window is None else Window(*window, clock=self._now, sleep=sleep)
        self._live: set[Ticket] = set()
        if auto is not None and auto.limit is not None:
            self.window = self._window_for(auto.limit)
        self._gate_until = float("-inf")
        self._half_open = False
        self._probe_done: asyncio.Event | None = None
        self._last_decrease = float("-inf")
        self._epoch: float | None = None  # since when accepted requests are counted
        self._accepted = 0
        self._stopped: ResumableStop | None = None
        #: When the last request left (the pacer's clock); None before the first.
        self.last_sent: float | None = None
        #: Seconds the gate has been closed by 429s (once, however many tasks waited).
        self.waited_seconds = 0.0
        #: 429 episodes: the 429s to requests sent after the gate last closed.
        self.episodes = 0

    def __repr__(self) -> str:
        now = self._now()
        gate = f"closed {self._gate_until - now:.1f} s" if self._gate_until > now else "open"
        window = "" if self.window is None else f", window {self.window.held()}/{self.window.limit}"
        return (
            f"<Pacer rate={self.rate:.2f}/{self.configured_rate:g} per s, burst={self._burst}"
            f"{window}, gate {gate}{', probing' if self._half_open else ''}>"
        )

    def describe(self) -> str:
        """The pace in words, for a log line: ``45 requests per 10.4 s`` and the like."""
        if self.auto is not None:
            return str(self.auto)
        pace = f"{self.rate:.3g} requests/s, bursts of {self._burst}"
        if self.window is not None:
            pace += f", at most {self.window.limit} per {self.window.seconds:g} s"
        return pace

    def now(self) -> float:
        """The pacer's clock."""
        return self._now()

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:  # a repr outside the loop; the loop's clock is monotonic too
            return time.monotonic()

    @property
    def rate(self) -> float:
        """The current effective rate in requests per second."""
        if self.auto is not None:
            return self.auto.rate_at(self._now())
        if self._base_rate >= self.configured_rate:
            return self.configured_rate
        climbed = CLIMB * self._base_rate * max(0.0, self._now() - self._climb_since)
        return min(self.configured_rate, self._base_rate + climbed)

    def _setting(self) -> tuple[float, int]:
        """The bucket's rate and size now."""
        if self.auto is not None:
            return self.auto.rate_at(self._now()), self.auto.burst
        return self.rate, self._burst

    def silent_wait(self) -> float:
        """What a 429 without Retry-After stands for: the window's length (the learned or
        given one, else Spotify's 30 s)."""
        if self.auto is not None:
            return self.auto.window_seconds
        return self.window.seconds if self.window is not None else ASSUMED_WINDOW

    def gate_closed(self) -> bool:
        """True while a Retry-After is running."""
        return self._gate_until > self._now()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Ticket]:
        """Wait until a request may leave, then hold an in-flight slot while it runs."""
        async with self._in_flight:
            ticket = await self._admit()
            self._live.add(ticket)
            try:
                yield ticket
            finally:
                self._live.discard(ticket)
                if ticket.window is not None:
                    ticket.window.answered()
                if self.auto is not None:
                    self.auto.answered(ticket.record, self._now(), throttled=ticket.throttled)
                if ticket.probe:
                    self._end_probe(ticket)
                self._settle()  # the last answer a measurement waited for may be this one

    async def _admit(self) -> Ticket:
        while True:
            probe = await self._pass_gate()
            try:
                ticket = await self._leave(probe)
            except BaseException:
                if probe:
                    self._abandon_probe()
                raise
            if ticket is not None:
                return ticket
            # The gate closed while this task waited for the window or bucket: wait again.
            if probe:
                self._abandon_probe()

    async def _leave(self, probe: bool) -> Ticket | None:
        """Take a place in the window, then a token from the bucket; None (and no place
        kept) if the gate closed or the window changed meanwhile. The window goes first
        so the bucket still spaces out the requests it lets go together."""
        self._settle()
        window = self.window
        if window is not None:
            if self.auto is not None and window.held() >= window.limit:
                self.auto.held_back(self._now(), by_window=True)
            await window.acquire()
        try:
            # The probe fills the bucket, so those following it are paced, not a burst;
            # under a learned window the window paces them already.
            await self._take(fill=probe and (self.auto is None or window is None))
            if self._stopped is not None:
                raise self._stopped
        except BaseException:
            if window is not None:
                window.release()
            raise
        # a new window (a limit learned meanwhile) must count this request: wait in it
        if self.gate_closed() or window is not self.window:
            if window is not None:
                window.release()
            return None
        now = self._now()
        if self._epoch is None:
            self._epoch = now
        self.last_sent = now
        record = None
        if self.auto is not None:
            record = self.auto.sent(now)
            self._bucket.retune(*self._setting())  # a slow-start step may have ended
        return Ticket(now, probe, window=window, record=record)

    async def _take(self, *, fill: bool = False) -> None:
        """One token from the bucket, tuned to the rate and burst of this moment."""
        bucket = self._bucket
        bucket.retune(*self._setting())
        waited = bucket.waits()
        await bucket.acquire()
        if waited and self.auto is not None:  # in the step it leaves in, the rate bound
            self.auto.held_back(self._now())
        if fill:
            bucket.fill()

    async def _pass_gate(self) -> bool:
        """Wait for the gate; True when this task is the probe of a reopened gate."""
        while True:
            if self._stopped is not None:
                raise self._stopped
            remaining = self._gate_until - self._now()
            if remaining > 0:
                await self._sleep(remaining)
                continue
            if not self._half_open:
                return False
            if self._probe_done is None:
                self._probe_done = asyncio.Event()
                return True
            await self._probe_done.wait()

    def _settle(self) -> None:
        """Apply what a teaching 429 showed once it is measured: a new window, seeded with
        the answers it would still count and the requests still in flight."""
        auto = self.auto
        if auto is None or not auto.settle() or auto.limit is None:
            return
        window = self._window_for(auto.limit)
        for ticket in self._live:
            window.adopt()
            ticket.window = window
        self.window = window
        self._bucket.retune(*self._setting())
        logger.info("rate auto: the limit is %s (%s), pacing %s", auto.limit, auto.source, auto)

    def _window_for(self, limit: Limit) -> Window:
        paced = limit.paced
        window = Window(paced.requests, paced.seconds, clock=self._now, sleep=self._sleep)
        assert self.auto is not None
        window.seed(self.auto.answers_since(self._now() - paced.seconds))
        return window

    def _end_probe(self, ticket: Ticket) -> None:
        if not ticket.throttled and not self.gate_closed():
            self._half_open = False
        self._abandon_probe()

    def _abandon_probe(self) -> None:
        """Let the next waiting task become the probe (this one was not sent or was 429'd)."""
        if self._probe_done is not None:
            self._probe_done.set()
            self._probe_done = None

    def record_success(self, ticket: Ticket) -> None:
        """The server accepted a request: one more sample of the rate it sustains."""
        if self._epoch is not None and ticket.sent_at >= self._epoch:
            self._accepted += 1

    def _close(self, now: float, until: float) -> None:
        self.waited_seconds += max(0.0, until - max(now, self._gate_until))
        self._gate_until = until
        self._half_open = True

    def record_throttle(
        self, ticket: Ticket, delay: float, retry_after: float | None = None
    ) -> bool:
        """A rolling-window 429: close the gate for ``delay`` seconds and lower the rate
        once per episode; with ``--rate auto`` it may teach the window. Returns False
        when the 429 was a probe of a measurement (no retry of its request to count)."""
        ticket.throttled = True
        now = self._now()
        auto = self.auto
        if auto is not None and auto.reopen_at() is not None:  # a measurement runs
            auto.throttled(ticket.sent_at, now, retry_after)
            self._close(now, max(now, auto.reopen_at() or now))
            return not ticket.probe
        # Requests sent before the last decrease saw the old rate; one cut per episode.
        if ticket.sent_at <= self._last_decrease:
            self._close(now, max(self._gate_until, now + delay))
            return True
        self.episodes += 1
        self._last_decrease = now
        if auto is not None:
            measuring = auto.throttled(ticket.sent_at, now, retry_after)
            reopen = auto.reopen_at() if measuring else None
            self._close(now, max(self._gate_until, now + delay if reopen is None else reopen))
            logger.info("429: gate closed for %.2f s (Retry-After %s)", delay, retry_after)
            return True
        until = now + delay
        self._close(now, max(self._gate_until, until))
        cut = self.rate * DECREASE
        if self._epoch is not None and self._accepted >= MIN_SAMPLE:
            cut = min(cut, self._accepted / (now - self._epoch + delay))
        self._base_rate = max(FLOOR * self.configured_rate, cut)
        self._epoch, self._accepted = until, 0
        self._climb_since = now
        logger.info("429: gate closed for %.2f s, rate now %.2f/s", delay, self._base_rate)
        return True

    def stop(self, error: ResumableStop) -> None:
        """Refuse every later request with ``error`` (quota spent, or a wait too long)."""
        if self._stopped is None:
            self._stopped = error
