"""Shared values and fakes for the client tests: a clock whose sleep only moves time forward."""

from __future__ import annotations

import asyncio
import re
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

from async_spotify_etl.core.settings import ClientSettings, Credentials

API = "https://api.spotify.com/v1"
TOKEN_URL = "https://accounts.spotify.com/api/token"
SECRET = "s3cr3t-Client-Secret-value"
TOKEN = "BQD-access-token-never-shown"
CREDENTIALS = Credentials("client-id-123", SECRET)
ALBUM_ID = "4aawyAB9vmqN3uQ7FjRGTy"
T = TypeVar("T")


class FakeClock:
    """Monotonic time that advances only when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def fast_settings(**changes: object) -> ClientSettings:
    """Settings whose bucket never holds a unit test back."""
    base = ClientSettings(api_url=API, token_url=TOKEN_URL, rate=10_000.0, burst=100)
    return base.replace(**changes)


def url(path: str) -> re.Pattern[str]:
    """Match ``API + path`` with any query string."""
    return re.compile(re.escape(API + path) + r"(\?.*)?$")


def token_body(token: str = TOKEN, expires_in: int = 3600) -> dict[str, object]:
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


class _IdleSelector(selectors.DefaultSelector):
    """A selector that, when the loop would sleep until its next timer, moves the loop's
    clock there instead (real I/O still wakes it)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:  # nothing scheduled at all: real I/O, or a deadlock
            events = super().select(10.0)
            if not events:
                raise RuntimeError("virtual time: nothing scheduled and no I/O for 10 s")
            return events
        self._clock.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock is ``clock`` and jumps to the next timer when idle, so
    aiolimiter's bucket, ``asyncio.sleep`` and the pacer share one fake time."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(_IdleSelector(clock))
        self.clock = clock

    def time(self) -> float:
        return self.clock.now


def run_virtual(clock: FakeClock, main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a :class:`VirtualTimeLoop` of ``clock`` (from a plain test)."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(clock)) as runner:
        return runner.run(main)
