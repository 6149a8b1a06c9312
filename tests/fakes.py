"""Shared values and fakes for the client tests: a clock whose sleep only moves time forward,
and a server counting requests over a rolling window."""

from __future__ import annotations

import asyncio
import math
import re

from async_spotify_etl.core.settings import ClientSettings, Credentials

API = "https://api.spotify.com/v1"
TOKEN_URL = "https://accounts.spotify.com/api/token"
SECRET = "s3cr3t-Client-Secret-value"
TOKEN = "BQD-access-token-never-shown"
CREDENTIALS = Credentials("client-id-123", SECRET)
ALBUM_ID = "4aawyAB9vmqN3uQ7FjRGTy"


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


class RollingServer:
    """A server counting arrivals over a rolling window, answering Retry-After in whole
    seconds rounded up, as Spotify and the sandbox do."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.counted: list[float] = []
        self.throttled = 0

    def admit(self, now: float) -> int | None:
        self.counted = [t for t in self.counted if t > now - self.window]
        if len(self.counted) < self.limit:
            self.counted.append(now)
            return None
        self.throttled += 1
        return max(1, math.ceil(self.counted[0] + self.window - now))
