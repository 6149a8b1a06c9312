"""A rolling-window cap: at most ``limit`` requests per rolling ``seconds``, counted so that
a server stamping each request's arrival never sees more.

Spotify counts an app's requests over a rolling 30 s window; a user who knows the limit
can say so (``--window N/SECONDS``) and the pacer then sends as fast as that window
allows, rather than at the steady rate a token bucket must keep to stay under it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
#: Waits shorter than this are none: a clock that ticks in microseconds (a test's loop)
#: would never reach a deadline a rounding error away.
EPSILON = 1e-9


class Window:
    """At most ``limit`` requests per rolling ``seconds``, safe against a server that stamps
    each request's arrival.

    A request holds a place from the moment it is let go until ``seconds`` after its
    answer came back; one may go only while fewer than ``limit`` places are held. Why
    that is enough: in any ``seconds`` of arrivals at the server, take the request ``m``
    let go last. Every other one was let go before it and was then either still
    unanswered (a place held), or answered after it arrived, which is after the start of
    that span, itself after ``m`` left minus ``seconds`` (a place still held). So ``m``
    saw them all, and at most ``limit`` requests arrive in any ``seconds``. Retries and
    429s hold places like any request. The one blind spot is an attempt that ends without
    an answer (a timeout or a cancellation) yet reaches the server later still.
    """

    def __init__(self, limit: int, seconds: float, *, clock: Clock, sleep: Sleep) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._sleep = sleep
        self._in_flight = 0
        self._answered: deque[float] = deque()  # answer times, oldest first
        self._answer: asyncio.Event | None = None  # set on the next answer or release

    def __repr__(self) -> str:
        return f"<Window {self.held()}/{self.limit} per {self.seconds:g} s>"

    def held(self) -> int:
        """Places held now: requests in flight plus answers younger than ``seconds``."""
        now, answered = self._clock(), self._answered
        # the same sum as acquire()'s wait, so a place kept here is always a wait > 0 there
        while answered and answered[0] + self.seconds - now <= EPSILON:
            answered.popleft()
        return self._in_flight + len(answered)

    def free_at(self) -> float:
        """When the next place frees: now if one is free, else the oldest answer's time
        plus ``seconds`` (infinity while every place is in flight)."""
        if self.held() < self.limit:
            return self._clock()
        if not self._answered:
            return float("inf")
        return self._answered[0] + self.seconds

    async def acquire(self) -> None:
        """Wait for a free place and take it; release it with :meth:`answered` or
        :meth:`release`."""
        while self.held() >= self.limit:
            if self._answered:  # the oldest answer frees a place at a known time
                await self._sleep(self._answered[0] + self.seconds - self._clock())
                continue
            if self._answer is None:  # every place is in flight: wait for an answer
                self._answer = asyncio.Event()
            await self._answer.wait()
        self._in_flight += 1

    def seed(self, answers: list[float]) -> None:
        """Count earlier answers (times, oldest first) as if this window had let them go."""
        self._answered.extend(answers)

    def adopt(self) -> None:
        """Count a request already in flight as if this window had let it go."""
        self._in_flight += 1

    def answered(self) -> None:
        """The request came back (whatever its status): its place frees ``seconds`` later."""
        self._in_flight -= 1
        self._answered.append(self._clock())
        self._wake()

    def release(self) -> None:
        """The request never left: its place frees now."""
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        if self._answer is not None:
            self._answer.set()
            self._answer = None
