"""What the sandbox saw: requests by route and status, tokens, 429s, concurrency, bytes."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

ROUTES = ("token", "new-releases", "several-albums", "album", "album-tracks", "search", "other")


class SandboxStats:
    """Counters behind ``GET /_sandbox/stats``."""

    def __init__(self) -> None:
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.tokens_issued = 0
        self.throttled = 0
        self.during_retry_after = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bytes_sent = 0

    def __repr__(self) -> str:
        total = sum(sum(c.values()) for c in self.requests.values())
        return f"<SandboxStats requests={total} in_flight={self.in_flight}>"

    def enter(self) -> None:
        """A request started."""
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def leave(self, route: str, status: int | str, size: int) -> None:
        """A request finished with ``status`` (or "dropped") after sending ``size`` bytes."""
        self.in_flight -= 1
        self.requests[route][str(status)] += 1
        self.bytes_sent += size

    def snapshot(self) -> dict[str, Any]:
        """The stats as plain JSON-ready data."""
        return {
            "requests": {route: dict(counts) for route, counts in self.requests.items()},
            "tokens_issued": self.tokens_issued,
            "throttled": self.throttled,
            "during_retry_after": self.during_retry_after,
            "max_in_flight": self.max_in_flight,
            "bytes_sent": self.bytes_sent,
        }
