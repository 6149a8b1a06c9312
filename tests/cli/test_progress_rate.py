"""The progress display's request rate: the requests sent over the last RATE_WINDOW seconds,
so the bucket's bursts never show as a rate the pacer does not sustain. The tests tick the
reporter by hand on a fake clock (async only for the loop its timer is armed on)."""

from __future__ import annotations

import bisect
import logging

import pytest

from async_spotify_etl.cli.progress import RATE_WINDOW, ProgressReporter
from async_spotify_etl.run.progress import Snapshot

RATE, BURST = 5.0, 5


def bucket_sends(ready: list[float]) -> list[float]:
    """When requests ready at ``ready`` leave a bucket of BURST refilled at RATE a second
    (aiolimiter's leaky bucket: one may go while the level is at most BURST - 1)."""
    level, at, sent = 0.0, 0.0, []
    for t in ready:
        now = max(t, sent[-1] if sent else 0.0)
        level = max(0.0, level - (now - at) * RATE)
        if level + 1 > BURST:
            now += (level + 1 - BURST) / RATE
            level = BURST - 1.0
        level, at = level + 1, now
        sent.append(now)
    return sent


class Run:
    """A fake clock and the requests a pull had sent by its time."""

    def __init__(self, sends: list[float]) -> None:
        self.sends = sends
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def snapshot(self) -> Snapshot:
        requests = bisect.bisect_right(self.sends, self.now)
        return Snapshot(found=0, done=0, tracks=0, failed=0, requests=requests, waited_seconds=0)


def shown_rates(run: Run, until: float, interval: float = 0.25) -> dict[float, float | None]:
    """The rate shown at each tick up to ``until`` when ticking as often as the bar."""
    shown = {}
    with ProgressReporter(run.snapshot, "log", log_interval=interval, clock=run.clock) as reporter:
        ticks = round(until / interval)
        for i in range(1, ticks + 1):
            run.now = i * interval
            reporter.tick()
            shown[run.now] = reporter.rate
    return shown


async def test_bursts_never_show_above_the_rate_the_bucket_sustains() -> None:
    # 100 requests always ready, an idle spell of 20 s (the bucket fills), then 100 more.
    sends = bucket_sends([0.0] * 100 + [40.0] * 100)
    assert sends[:BURST] == [0.0] * BURST  # the bucket does burst, at the start and at 40 s
    assert sends[100 : 100 + BURST] == [40.0] * BURST
    shown = shown_rates(Run(sends), until=60.0)

    assert all(rate is None for t, rate in shown.items() if t < RATE_WINDOW)
    figures = [rate for rate in shown.values() if rate is not None]
    assert max(figures) <= RATE + BURST / RATE_WINDOW + 1e-9
    assert shown[15.0] == pytest.approx(RATE, abs=1 / RATE_WINDOW)  # steady: the rate, ±1 request
    assert shown[38.0] == 0.0  # the idle spell shows within a window
    assert RATE < shown[49.75] <= RATE + BURST / RATE_WINDOW  # the burst at 40 s, spread


async def test_the_log_line_shows_the_rate_over_its_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = Run([0.1 * i for i in range(200)])  # 10 a second, whatever the bucket
    with (
        caplog.at_level(logging.INFO, "async_spotify_etl.cli.progress"),
        ProgressReporter(run.snapshot, "log", clock=run.clock) as reporter,
    ):
        run.now = 10.0
        reporter.tick()
    assert "10.0 req/s" in caplog.messages[-1]
    assert repr(reporter) == "<ProgressReporter log 10.0 req/s>"


async def test_no_rate_is_shown_before_a_window_has_passed() -> None:
    run = Run([0.0] * BURST)
    with ProgressReporter(run.snapshot, "log", log_interval=0.25, clock=run.clock) as reporter:
        run.now = 0.25
        reporter.tick()  # 5 requests in 0.25 s were shown as 20 req/s
        assert reporter.rate is None
        assert "- req/s" in repr(reporter)
