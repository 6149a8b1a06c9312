"""Pacing of one client's requests: one token bucket, an optional rolling-window cap, a
bound on requests in flight and one 429 gate shared by every task.

* The bucket (:class:`.bucket.Bucket`, aiolimiter's) paces every attempt, retries
  included, in every mode: ``burst`` tokens refilled at the rate. The pacer keeps one
  for its whole life and retunes it; nothing else spaces requests.
* The window (``N`` requests per rolling ``seconds``, off unless given) mirrors a server
  that counts the requests arriving in any ``seconds``: a request leaves only while fewer
  than ``N`` are in flight or were answered within the last ``seconds``. An answer comes
  after its request arrived, so this never under-counts what the server saw (see
  :mod:`.window`). It is a cap beside the bucket, not a second bucket.
* After a 429 a fixed rate drops (the bucket is retuned lower, its burst in proportion):
  at least by half, and down to what the server evidently sustains, the requests it
  accepted since the gate last opened over that time plus the Retry-After. It then
  climbs back additively with time, never above the configured rate; so a ``rate`` set
  far too high settles under the server's limit after one or two 429s.
* A 429 closes the gate for every task until its Retry-After plus jitter (a missing one
  stands for the window's length: :meth:`Pacer.silent_wait`). When it reopens
  one probe request goes first; the others follow only if the probe was not throttled,
  so a reopened gate never releases a burst into a window that is still full.
* With ``rate="auto"`` an :class:`.learning.AutoRate` sets the bucket's rate and burst:
  the slow start's, then those of the window it learned from the first 429 (or was
  given from memory), which is then also the cap, lowered by a later 429. While a short
  learned window is narrowed, a *trial* (:meth:`.learning.AutoRate.trial_time`) may
  leave before the window frees a place; it goes alone, every other request held back
  until it is answered.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ResumableStop
from .bucket import Bucket
from .learning import ASSUMED_WINDOW, AutoRate, Limit
from .window import EPSILON, Window

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Multiplicative decrease of the rate on a 429.
DECREASE = 0.5
#: Additive increase per second without a 429, as a fraction of the rate after the cut:
#: the rate doubles back in 50 s, slower than Spotify's 30 s window forgets.
CLIMB = 0.02
#: Successes needed before they are trusted as an estimate of the server's rate.
MIN_SAMPLE = 4
#: The rate never drops below this fraction of the configured rate.
FLOOR = 1 / 64


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
    #: A trial narrowing a learned window: the record it is measured from.
    trial: Any = field(default=None, repr=False)
    #: The Retry-After of a 429 to it, if any.
    retry_after: float | None = None


class Pacer:
    """Decides when each request may leave. Create it inside the running loop's lifetime;
    the limiter binds to the loop lazily, on first use."""

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
        self._in_flight = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._sleep = sleep
        self._bucket = Bucket(rate, burst, clock=self._now, sleep=sleep)
        self.window = None if window is None else Window(*window, clock=self._now, sleep=sleep)
        #: ``--rate auto``'s state, or None for a fixed rate.
        self.auto = auto
        self._live: set[Ticket] = set()
        if auto is not None and auto.limit is not None:
            self.window = self._window_for(auto.pacing)
        self._gate_until = float("-inf")
        self._half_open = False
        self._probe_done: asyncio.Event | None = None
        self._trial: asyncio.Event | None = None  # set when the trial out comes back
        self._returned: asyncio.Event | None = None  # set when any request comes back
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

    def now(self) -> float:
        """The pacer's clock (the loop's unless a test injects one)."""
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

    def silent_wait(self) -> float:
        """What a 429 without Retry-After stands for: the window's length (``auto``'s
        learned one, the given ``window``'s, else Spotify's 30 s)."""
        if self.auto is not None:
            return self.auto.window_seconds
        return self.window.seconds if self.window is not None else ASSUMED_WINDOW

    def gate_closed(self) -> bool:
        """True while a Retry-After is running."""
        return self._gate_until - self._now() > EPSILON

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
                if self._returned is not None:
                    self._returned.set()
                    self._returned = None
                if ticket.window is not None:
                    ticket.window.answered()
                if self.auto is not None:
                    self.auto.answered(ticket.record, self._now(), throttled=ticket.throttled)
                    if ticket.trial is not None:
                        self._end_trial(ticket)
                if ticket.probe:
                    self._end_probe(ticket)

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
        """Take a place in the window, then pay the bucket; None (and no place kept) if the
        gate closed or the window changed meanwhile. The window goes first so the bucket
        still spaces out the requests it lets go together."""
        self._settle()
        window = self.window
        trial = None
        if window is not None:
            auto = self.auto
            if auto is not None and auto.window_bound(self._now(), window.held() >= window.limit):
                self._adopt_limit()  # a limit not trusted, raised: pace by the new window
                window = self.window
                assert window is not None
            trial = await self._trial_for(window)
            if trial is not None:
                window.adopt()  # the trial goes before the full window frees a place
            else:
                await window.acquire()
                if self._trial is not None:  # a trial went meanwhile: it goes alone
                    window.release()
                    return None
        try:
            # The probe drains the bucket, so those following it are paced, not a burst
            # (with --rate auto a learned window paces them instead).
            drain = probe and (self.auto is None or window is None)
            if await self._bucket.take(self._tuning, drain=drain) and self.auto is not None:
                self.auto.held_back()
            if self._stopped is not None:
                raise self._stopped
        except BaseException:
            if window is not None:
                window.release()
            if trial is not None:
                self._release_trial()
            raise
        # a new window (a limit learned meanwhile) must count this request: wait in it
        if self.gate_closed() or window is not self.window:
            if window is not None:
                window.release()
            if trial is not None:
                self._release_trial()
            return None
        now = self._now()
        if self._epoch is None:
            self._epoch = now
        self.last_sent = now
        record = self.auto.sent(now) if self.auto is not None else None
        return Ticket(now, probe, window=window, record=record, trial=trial)

    async def _pass_gate(self) -> bool:
        """Wait for the gate; True when this task is the probe of a reopened gate."""
        while True:
            if self._stopped is not None:
                raise self._stopped
            if self._trial is not None:  # a trial goes alone
                await self._trial.wait()
                continue
            remaining = self._gate_until - self._now()
            if remaining > EPSILON:
                await self._sleep(remaining)
                continue
            if not self._half_open:
                return False
            if self._probe_done is None:
                self._probe_done = asyncio.Event()
                return True
            await self._probe_done.wait()

    def _tuning(self) -> tuple[float, int]:
        """What the bucket allows now: ``--rate auto``'s rate and burst, else the current
        rate (lowered by a 429, climbing back) with the burst lowered in proportion."""
        if self.auto is not None:
            return self.auto.rate_at(self._now()), self.auto.burst
        rate = self.rate
        return rate, max(1, math.floor(self._burst * rate / self.configured_rate))

    def _settle(self) -> None:
        """Apply what a teaching 429 showed once it is measured: a new window, seeded with
        the answers it would still count and the requests still in flight."""
        auto = self.auto
        if auto is not None and auto.settle():
            self._adopt_limit()

    def _adopt_limit(self) -> None:
        """Pace by ``auto``'s new limit: a new window, seeded with the answers it would
        still count and the requests still in flight."""
        auto = self.auto
        if auto is None or auto.limit is None:
            return
        window = self._window_for(auto.pacing)
        for ticket in self._live:
            window.adopt()
            ticket.window = window
        self.window = window
        logger.info(
            "rate auto: the limit is %s (%s), pacing %s", auto.limit, auto.source, auto.pacing
        )

    def _window_for(self, paced: Limit) -> Window:
        window = Window(paced.requests, paced.seconds, clock=self._now, sleep=self._sleep)
        assert self.auto is not None
        window.seed(self.auto.answers_since(self._now() - paced.seconds))
        return window

    async def _trial_for(self, window: Window) -> Any:
        """Make this request a trial narrowing ``auto``'s learned window, if one is due:
        the window is full and the trial's time comes before it frees a place. Holds
        every other request back, waits for those out to come back and for that time,
        and returns the record the trial is measured from; None (and no trial) if none
        is due."""
        auto = self.auto
        if (
            auto is None
            or self._trial is not None
            or not auto.refining
            or window.held() < window.limit  # a place is free: no need to try
        ):
            return None
        self._trial = asyncio.Event()  # from now on no other request leaves first
        try:
            while True:
                found = auto.trial_time(self._now())
                if (
                    found is None
                    or window is not self.window
                    or window.held() < window.limit  # a place is free: no need to try
                    or found[0] >= window.free_at()  # one frees by then anyway
                    or self.gate_closed()
                    or self._stopped is not None
                ):
                    self._release_trial()
                    return None
                at, oldest = found
                if self._live:  # a trial goes alone
                    self._returned = self._returned or asyncio.Event()
                    await self._returned.wait()
                    continue
                wait = at - self._now()
                if wait <= EPSILON:
                    return oldest
                await self._sleep(wait)
        except BaseException:
            self._release_trial()
            raise

    def _end_trial(self, ticket: Ticket) -> None:
        auto = self.auto
        assert auto is not None
        if auto.trial_answered(ticket.record, ticket.trial, ticket.retry_after):
            self._adopt_limit()
        bounds = auto.bounds
        logger.info(
            "rate auto: trial %s, window between %s s",
            "429" if ticket.throttled else "accepted",
            bounds and f"{bounds[0]:.2f} and {bounds[1]:.2f}",
        )
        self._release_trial()

    def _release_trial(self) -> None:
        if self._trial is not None:
            self._trial.set()
            self._trial = None

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

    def record_throttle(
        self, ticket: Ticket, delay: float, retry_after: float | None = None
    ) -> None:
        """A rolling-window 429: close the gate for ``delay`` seconds and lower the rate
        once per episode; with ``--rate auto`` its ``retry_after`` teaches the window."""
        ticket.throttled = True
        ticket.retry_after = retry_after
        now = self._now()
        until = now + delay
        self.waited_seconds += max(0.0, until - max(now, self._gate_until))
        self._gate_until = max(self._gate_until, until)
        self._half_open = True
        # Requests sent before the last decrease saw the old rate; one cut per episode.
        if ticket.sent_at <= self._last_decrease:
            return
        self.episodes += 1
        if ticket.trial is not None:  # a trial's 429 narrows the window (its answer does)
            self._last_decrease = now
            logger.info("429 to a trial: gate closed for %.2f s", delay)
            return
        if self.auto is not None:
            self.auto.throttled(ticket.sent_at, now, retry_after, ticket.record)
            self._last_decrease = now
            logger.info("429: gate closed for %.2f s (Retry-After %s)", delay, retry_after)
            return
        cut = self.rate * DECREASE
        if self._epoch is not None and self._accepted >= MIN_SAMPLE:
            cut = min(cut, self._accepted / (now - self._epoch + delay))
        self._base_rate = max(FLOOR * self.configured_rate, cut)
        self._epoch, self._accepted = until, 0
        self._climb_since = now
        self._last_decrease = now
        logger.info("429: gate closed for %.2f s, rate now %.2f/s", delay, self._base_rate)

    def stop(self, error: ResumableStop) -> None:
        """Refuse every later request with ``error`` (quota spent, or a wait too long)."""
        if self._stopped is None:
            self._stopped = error
