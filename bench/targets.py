"""The issue's targets, checked against a run's summaries (tuned run unless said)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from async_spotify_etl.core.settings import DEFAULT_BURST, POLITE_RATE

from .scenarios import Scenario
from .summary import Summary, ratio

__all__ = ["Target", "evaluate", "pacing_bound"]

TUNED = "spotify-etl tuned"
DEFAULTS = "spotify-etl defaults"


@dataclass(frozen=True)
class Target:
    """One target: what it asks, what was measured, and whether it was met (None: not run)."""

    scenario: str
    goal: str
    measured: str
    met: bool | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: float | None, unit: str = "x") -> str:
    return "n/a" if value is None else f"{value:.2f}{unit}"


class _Check:
    """Collects targets for one set of summaries."""

    def __init__(self, summaries: list[Summary]) -> None:
        self._by = {(s.scenario, s.contender): s for s in summaries if s.scenario != "memory"}
        self._memory = [s for s in summaries if s.scenario == "memory"]
        self.targets: list[Target] = []

    def get(self, scenario: str, contender: str) -> Summary | None:
        return self._by.get((scenario, contender))

    def ratio(
        self, scenario: str, goal: str, num: str, den: str, ok: Callable[[float], bool]
    ) -> None:
        value = ratio(self.get(scenario, num), self.get(scenario, den))
        met = None if value is None else ok(value)
        measured = _fmt(value) if value is None else f"{_fmt(value)} ({num} ÷ {den})"
        self.targets.append(Target(scenario, goal, measured, met))

    def count(self, scenario: str, goal: str, value: int | None) -> None:
        self.add(
            scenario,
            goal,
            "n/a" if value is None else str(value),
            None if value is None else value == 0,
        )

    def add(self, scenario: str, goal: str, measured: str, met: bool | None) -> None:
        self.targets.append(Target(scenario, goal, measured, met))


def _flag(flags: tuple[str, ...], name: str) -> str | None:
    return flags[flags.index(name) + 1] if name in flags else None


def pacing_bound(flags: tuple[str, ...], requests: float) -> tuple[float, str]:
    """The least time ``requests`` can take under the pacing ``flags`` ask for, and how it
    is reckoned: the bucket's ``(requests - burst) / rate``, or with ``--window N/W`` the
    window's ``(ceil(requests / N) - 1) * W`` (the request after each N waits a whole W),
    whichever is longer. Latency and start-up come on top, so it is below the floor's time."""
    rate = float(_flag(flags, "--rate") or POLITE_RATE)
    burst = float(_flag(flags, "--burst") or DEFAULT_BURST)
    bound = max(requests - burst, 0) / rate
    how = f"rate bound ((requests - burst) / rate = {bound:.1f} s)"
    window = _flag(flags, "--window")
    if window is not None:
        limit, seconds = window.split("/")
        windowed = (math.ceil(requests / int(limit)) - 1) * float(seconds)
        if windowed >= bound:
            bound = windowed
            how = f"window bound ((ceil(requests / {limit}) - 1) × {seconds} s = {bound:.1f} s)"
    return bound, how


def _development(check: _Check, scenario: Scenario) -> None:
    tuned = check.get("dev", TUNED)
    if tuned is None or tuned.status != "ok" or tuned.wall is None or tuned.requests is None:
        check.add("dev", "within 1.05x of the pacing bound", "n/a", None)
        check.count("dev", "zero requests during a Retry-After", None)
        return
    bound, how = pacing_bound(scenario.tuned, tuned.requests)
    # The floor knows the window exactly: no correct run beats its time either, and it also
    # pays what the arithmetic leaves out (a round trip per window, start-up).
    floor = check.get("dev", "floor")
    if floor is not None and floor.status == "ok" and floor.wall and floor.wall > bound:
        bound, how = floor.wall, f"floor's time ({floor.wall:.1f} s; the {how})"
    value = tuned.wall / bound if bound else None
    check.add(
        "dev", f"within 1.05x of the {how}", _fmt(value), None if value is None else value <= 1.05
    )
    check.count("dev", "zero requests sent during a Retry-After", tuned.during_retry_after)


def _requests_and_memory(check: _Check, summaries: list[Summary]) -> None:
    ours = [s for s in summaries if s.contender in (TUNED, DEFAULTS) and s.status == "ok"]
    for s in ours:
        if s.scenario == "memory" or s.requests is None or s.minimum is None:
            continue
        # auto (the defaults) asks each endpoint once to learn the access mode: a 403 in
        # development mode, which no plan can avoid without being told the mode
        probes = int(s.probes or 0)
        extra = f" + {probes} probes" if probes else ""
        # --rate auto (the defaults, from a fresh cache every run) learns a limit from
        # one 429 episode: the refused requests are sent again once
        refused = int(s.throttled or 0) if s.contender == DEFAULTS else 0
        extra += f" + {refused} refused by a 429" if refused else ""
        check.add(
            s.scenario,
            f"requests sent equal the minimum ({s.contender})",
            f"{s.requests:g} / {s.minimum}{extra}",
            s.requests == s.minimum + probes + refused,
        )
    peaks = [s.peak_rss_mb for s in ours if s.peak_rss_mb is not None]
    worst = max(peaks) if peaks else None
    check.add(
        "memory",
        "peak RSS under 100 MB (every run of ours)",
        _fmt(worst, " MB"),
        None if worst is None else worst < 100,
    )
    sizes = sorted((s for s in check._memory if s.status == "ok"), key=lambda s: s.albums or 0)
    if len(sizes) >= 2 and sizes[0].peak_rss_mb and sizes[-1].peak_rss_mb:
        growth = sizes[-1].peak_rss_mb / sizes[0].peak_rss_mb
        goal = f"{sizes[-1].albums:,} albums within 1.2x the RSS of {sizes[0].albums:,}"
        check.add("memory", goal, _fmt(growth), growth <= 1.2)
    else:
        check.add("memory", "large pull within 1.2x the RSS of the small one", "n/a", None)


def _reachable(check: _Check, scenario: str, peer: str, factor: float) -> None:
    """Note on the last target when even the floor is not ``factor`` times faster than
    ``peer``: then no client can meet it on this scenario."""
    best = ratio(check.get(scenario, peer), check.get(scenario, "floor"))
    if best is not None and best < factor:
        last = check.targets[-1]
        note = f"; the floor itself is only {best:.2f}x faster: out of any client's reach"
        check.targets[-1] = replace(last, measured=last.measured + note)


def evaluate(summaries: list[Summary], scenarios: list[Scenario]) -> list[Target]:
    """Every target of the issue, met, missed or not measured."""
    check = _Check(summaries)
    check.ratio("latency", "at most 1.15x the floor", TUNED, "floor", lambda v: v <= 1.15)
    for peer in ("spotipy", "requests loop"):
        check.ratio("latency", f"at least 8x faster than {peer}", peer, TUNED, lambda v: v >= 8)
        _reachable(check, "latency", peer, 8)
    check.ratio("latency", "faster than tekore", "tekore", TUNED, lambda v: v > 1)
    rate = check.get("rate", TUNED)
    check.count("rate", "zero 429s", rate.throttled if rate and rate.status == "ok" else None)
    check.ratio("rate", "at most 1.15x the floor", TUNED, "floor", lambda v: v <= 1.15)
    check.ratio("rate", "at least 20x faster than spotipy", "spotipy", TUNED, lambda v: v >= 20)
    _reachable(check, "rate", "spotipy", 20)
    check.ratio(
        "cpu",
        "at most 1.3x the floor (output written and journaled)",
        TUNED,
        "floor",
        lambda v: v <= 1.3,
    )
    by_key = {s.key: s for s in scenarios}
    if "dev" in by_key:
        _development(check, by_key["dev"])
    _requests_and_memory(check, summaries)
    return check.targets
