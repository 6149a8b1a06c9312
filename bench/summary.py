"""Medians per scenario and contender, and the ratios between them."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from .runner import Run

__all__ = ["Summary", "ratio", "summarize"]


@dataclass
class Summary:
    """One contender on one scenario, over its repetitions.

    Times, CPU and requests are medians of the correct runs; peak RSS, 429s and requests
    sent during a Retry-After are the worst run's, since the targets bound them.
    """

    scenario: str
    contender: str
    status: str
    detail: str
    runs: int
    wall: float | None = None
    cpu: float | None = None
    server_cpu: float | None = None
    other_cpu: float | None = None
    peak_rss_mb: float | None = None
    requests: float | None = None
    minimum: int | None = None
    throttled: int | None = None
    during_retry_after: int | None = None
    #: 403s from new-releases, several-albums and several-artists: the probes of ``auto``.
    probes: float | None = None
    albums: int | None = None
    tracks: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _worst(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _one(runs: list[Run]) -> Summary:
    first = runs[0]
    bad = [r for r in runs if r.status != "ok"]
    status = bad[0].status if bad else "ok"
    summary = Summary(first.scenario, first.contender, status, bad[0].detail if bad else "", 0)
    if status == "n/a":
        return summary
    good = [r for r in runs if r.status == "ok"] if status == "ok" else runs
    summary.runs = len(runs)
    summary.wall = _median([r.wall for r in good])
    summary.cpu = _median([r.cpu for r in good])
    summary.server_cpu = _median([r.server_cpu for r in good])
    summary.other_cpu = _median([r.other_cpu for r in good])
    summary.requests = _median([r.requests for r in good])
    summary.probes = _median([_probes(r) for r in good])
    summary.peak_rss_mb = _worst([r.peak_rss_mb for r in runs])
    summary.throttled = _worst([r.throttled for r in runs])
    summary.during_retry_after = _worst([r.during_retry_after for r in runs])
    summary.minimum, summary.albums, summary.tracks = first.minimum, first.albums, first.tracks
    return summary


def _probes(run: Run) -> int:
    routes = ("new-releases", "several-albums", "several-artists")
    return sum(run.by_route.get(route, {}).get("403", 0) for route in routes)


def summarize(runs: list[Run]) -> list[Summary]:
    """One summary per (scenario, contender), in the order they first ran; the memory
    scenario keeps one per catalogue size."""
    groups: dict[tuple[str, str, int | None], list[Run]] = {}
    for run in runs:
        size = run.albums if run.scenario == "memory" else None
        groups.setdefault((run.scenario, run.contender, size), []).append(run)
    return [_one(group) for group in groups.values()]


def ratio(numerator: Summary | None, denominator: Summary | None) -> float | None:
    """Wall-time ratio of two correct results, else None."""
    if numerator is None or denominator is None:
        return None
    if numerator.status != "ok" or denominator.status != "ok":
        return None
    if not numerator.wall or not denominator.wall:
        return None
    return numerator.wall / denominator.wall
