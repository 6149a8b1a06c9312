"""The sandbox's switchable misbehaviours: rate limit, quota, faults, latency, tokens.

Each is a small object holding its own state, driven by an injected clock, so tests
can move time forward instead of sleeping. Random decisions are keyed by the request
and how often it has been seen, so one seed replays the same faults even when
concurrent requests arrive in a different order.
"""

from __future__ import annotations

import enum
import math
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .config import SandboxConfig
from .names import uniform

Clock = Callable[[], float]


class RollingWindow:
    """At most ``limit`` requests in any ``window`` seconds (Spotify's rolling window)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def __repr__(self) -> str:
        return f"<RollingWindow {len(self._times)}/{self.limit} per {self.window}s>"

    def admit(self, now: float) -> int | None:
        """Record a request and return None, or return the whole seconds until a slot frees."""
        cutoff = now - self.window
        times = self._times
        while times and times[0] <= cutoff:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            return None
        return max(1, math.ceil(times[0] + self.window - now))


class Quota:
    """A total request budget; once spent, every request is refused for hours."""

    def __init__(self, limit: int, retry_after: int) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.used = 0

    def __repr__(self) -> str:
        return f"<Quota {self.used}/{self.limit}>"

    def admit(self) -> int | None:
        """Count a request and return None, or return Retry-After seconds once exhausted."""
        if self.used >= self.limit:
            return self.retry_after
        self.used += 1
        return None


class Fault(enum.Enum):
    """What can go wrong with one answer."""

    STATUS_500 = 500
    STATUS_502 = 502
    STATUS_503 = 503
    TRUNCATED = "truncated"
    MALFORMED = "malformed"
    DROP = "drop"
    CUT_OFF = "cut-off"


@dataclass
class FaultPlan:
    """Seeded decisions per request: fault or not, and how much latency to add."""

    config: SandboxConfig

    def __post_init__(self) -> None:
        self._seen: dict[str, int] = {}

    @property
    def active(self) -> bool:
        """Whether any fault or latency is configured at all."""
        c = self.config
        return bool(c.error_rate or c.corrupt_rate or c.drop_rate or c.latency)

    def decide(self, key: str) -> tuple[Fault | None, float]:
        """The fault (or None) and the latency for the next occurrence of request ``key``."""
        n = self._seen.get(key, 0)
        self._seen[key] = n + 1
        c = self.config
        roll = uniform(c.seed, "fault", key, n)
        pick = uniform(c.seed, "kind", key, n)
        fault: Fault | None = None
        if roll < c.error_rate:
            fault = (Fault.STATUS_500, Fault.STATUS_502, Fault.STATUS_503)[int(pick * 3)]
        elif roll < c.error_rate + c.corrupt_rate:
            fault = Fault.TRUNCATED if pick < 0.5 else Fault.MALFORMED
        elif roll < c.error_rate + c.corrupt_rate + c.drop_rate:
            fault = Fault.DROP if pick < 0.5 else Fault.CUT_OFF
        delay = 0.0
        if c.latency:
            spread = (2.0 * uniform(c.seed, "latency", key, n) - 1.0) * c.latency_jitter
            delay = max(0.0, c.latency + spread)
        return fault, delay


class TokenStore:
    """Access tokens issued by the token endpoint and when each expires."""

    def __init__(self, lifetime: float, clock: Clock) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        #: Every token ever issued, expired ones included, so tests can check none leaked.
        self.issued: list[str] = []

    def __repr__(self) -> str:
        return f"<TokenStore tokens={len(self._tokens)} lifetime={self.lifetime}s>"

    def issue(self, client_id: str) -> tuple[str, int]:
        """A new token for ``client_id`` and its ``expires_in`` in whole seconds."""
        token = secrets.token_urlsafe(48)
        self._tokens[token] = (client_id, self._clock() + self.lifetime)
        self.issued.append(token)
        return token, max(1, math.ceil(self.lifetime))

    def client_of(self, token: str) -> str | None:
        """The client a live token belongs to, or None if unknown or expired."""
        entry = self._tokens.get(token)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            del self._tokens[token]
            return None
        return entry[0]
