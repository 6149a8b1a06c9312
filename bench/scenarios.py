"""The scenarios: what the sandbox serves and how this project's CLI is tuned for it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MARKETS", "Scenario", "scenarios", "window_flags"]

MARKETS = ("US", "GB", "DE", "FR", "JP")
#: The rolling window of the rate-limited scenarios: 30 requests per 5 seconds.
LIMIT = 30
WINDOW = 5.0
#: Latency of the latency-bound scenarios: 50 ms mean, spread +/- 20 ms.
LATENCY = {"latency": 0.05, "latency_jitter": 0.02}
#: A user who knows their app has extended access names the plan (no probing calls).
EXTENDED = ("--source", "new-releases", "--expand", "several")
#: No server limit: pacing out of the way, concurrency as high as the floor finds useful.
UNLIMITED = ("--concurrency", "64", "--rate", "10000", "--burst", "1000", *EXTENDED)
#: No latency either: the sandbox answers one request at a time, so 16 in flight keep it
#: busy; more only hold more parsed bodies in memory.
LOCAL = ("--concurrency", "16", "--rate", "10000", "--burst", "1000", *EXTENDED)


def window_flags(limit: int, window: float) -> tuple[str, ...]:
    """The flags of a user who knows the server allows ``limit`` requests per rolling
    ``window`` seconds: ``--window limit/window``, and a bucket that never binds under it.

    The window lets at most ``limit`` requests go in any ``window`` seconds, so at most
    ``limit * (floor(t / window) + 1) <= limit + limit / window * t`` in any ``t`` seconds:
    what a bucket of rate ``limit / window`` and burst ``limit`` admits. That bucket never
    holds back a request the window lets go, yet keeps ``--rate`` the average rate (what
    ``--dry-run`` times the plan at) and a sane bound should a 429 still come.
    """
    rate = math.ceil(limit / window * 100) / 100  # printed as given: never round down
    return (
        "--concurrency",
        "64",
        "--window",
        f"{limit}/{window:g}",
        "--rate",
        f"{rate:g}",
        "--burst",
        str(limit),
    )


@dataclass(frozen=True)
class Scenario:
    """One situation: the sandbox's configuration and our CLI's tuned flags for it."""

    key: str
    title: str
    sandbox: dict[str, Any]
    tuned: tuple[str, ...]
    reps: int
    #: Contenders to run (None: all); the others are reported n/a.
    only: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def markets(self) -> tuple[str, ...]:
        return tuple(self.sandbox["markets"])

    @property
    def development(self) -> bool:
        return bool(self.sandbox.get("access") == "development")

    @property
    def window(self) -> tuple[int, float] | None:
        limit = self.sandbox.get("rate_limit")
        return (int(limit), float(self.sandbox["rate_window"])) if limit else None


def scenarios(*, quick: bool = False, reps: int = 3) -> list[Scenario]:
    """The five scenarios of the benchmark; ``quick`` shrinks them and runs each once."""
    markets = MARKETS[:2] if quick else MARKETS
    per_market = 50 if quick else 100
    big = 500 if quick else 5000
    reps = 1 if quick else reps
    base = {"seed": 1, "markets": markets, "albums_per_market": per_market}
    # Quick runs are too small to reach 30 per 5 s; a tighter window still exercises it.
    limit, window = (10, 2.0) if quick else (LIMIT, WINDOW)
    limited = {**base, **LATENCY, "rate_limit": limit, "rate_window": window}
    tuned_window = window_flags(limit, window)
    small, large = (big, big * 10)
    ours = ("floor", "spotify-etl defaults", "spotify-etl tuned")
    return [
        Scenario("latency", "latency-bound", {**base, **LATENCY}, UNLIMITED, reps),
        Scenario("rate", "rate-limited", limited, (*tuned_window, *EXTENDED), reps),
        Scenario(
            "cpu",
            "CPU-bound",
            {"seed": 1, "markets": ("US",), "albums_per_market": big},
            LOCAL,
            reps,
        ),
        Scenario(
            "dev",
            "development mode",
            {**limited, "access": "development"},
            # The user knows the app's mode: no probe, and no artist at one request each.
            (*tuned_window, "--source", "search", "--expand", "album", "--artists", "off"),
            # Window-bound and so nearly deterministic; one run is enough, and keeps the
            # whole benchmark within its time budget.
            1,
            only=ours,
        ),
        Scenario(
            "memory",
            "memory at scale",
            {"seed": 1, "markets": ("US",), "albums_per_market": big},
            LOCAL,
            1,
            only=("spotify-etl tuned",),
            extra={"sizes": (_catalogue(small), _catalogue(large))},
        ),
    ]


def _catalogue(albums: int) -> dict[str, object]:
    """Sandbox fields for a one-seed catalogue of ``albums`` albums: one market's listing."""
    return {"seed": 1, "markets": ("US",), "albums_per_market": albums}
