"""The token bucket every Spotify request pays: aiolimiter's leaky bucket, retunable, on the
pacer's clock.

aiolimiter's :class:`~aiolimiter.AsyncLimiter` holds ``max_rate`` tokens that drain at
``max_rate / time_period`` per second; a request may go while the level leaves room for
it. The pacer keeps one for the client's whole life and changes what it allows instead
of replacing it: a fixed ``--rate`` after a 429's cut and while it climbs back,
``--rate auto`` at each slow-start step and once it knows the window (:meth:`retune`).

Two things differ from ``async with limiter``, both so that a test's fake clock paces
exactly as the loop's does: the level drains on the clock the pacer is given, and the
wait for room is the pacer's own sleep (:meth:`take`), computed from the level, not a
loop timer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiolimiter import AsyncLimiter

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Bucket(AsyncLimiter):
    """``burst`` tokens refilled at ``rate`` per second; :meth:`take` pays for a request."""

    __slots__ = ("_clock", "_sleep")

    def __init__(self, rate: float, burst: int, *, clock: Clock, sleep: Sleep) -> None:
        super().__init__(burst, burst / rate)
        self._clock = clock
        self._sleep = sleep
        self._last_check = clock()

    def __repr__(self) -> str:
        return f"<Bucket {self.rate:g}/s burst {self.max_rate:g}, level {self.level():.2f}>"

    @property
    def rate(self) -> float:
        """Tokens refilled per second: the most requests per second it lets go, unburst."""
        return self._rate_per_sec

    def _leak(self) -> None:
        """Drain the level for the time since it was last read, on the pacer's clock."""
        now = self._clock()
        if self._level:
            self._level = max(self._level - (now - self._last_check) * self._rate_per_sec, 0.0)
        self._last_check = now

    def level(self) -> float:
        """Tokens taken and not yet refilled."""
        self._leak()
        return self._level

    def retune(self, rate: float, burst: int) -> None:
        """Refill at ``rate`` from now on and hold ``burst`` tokens. What was taken stays
        owed for as long as it was (the level is scaled with the rate): a doubled rate
        does not let the requests of the last spell go again at once, and a halved one
        does not hold the next back for twice as long."""
        if rate == self._rate_per_sec and burst == self.max_rate:
            return
        self._leak()  # what drained so far drained at the old rate
        self._level *= rate / self._rate_per_sec
        self.max_rate, self.time_period, self._rate_per_sec = burst, burst / rate, rate

    def room_in(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` tokens fit (0: now)."""
        needed = self.level() + amount - self.max_rate
        return max(0.0, needed / self._rate_per_sec)

    async def take(self, tune: Callable[[], tuple[float, int]], *, drain: bool = False) -> bool:
        """Wait for room for one request (the whole bucket when ``drain``), retuning to
        ``tune()`` (rate, burst) before each look, then take it through aiolimiter's
        ``acquire``, which no longer waits. True when the bucket made the caller wait."""
        waited = False
        while True:
            self.retune(*tune())
            amount = self.max_rate if drain else 1.0
            if self.has_capacity(amount):
                break
            waited = True
            await self._sleep(max(self.room_in(amount), 1e-6))
        await self.acquire(amount)
        return waited
