"""``--rate auto`` narrows a window learned from a whole-second Retry-After with trials: on
a fake clock the learned window ends within 5% of the server's for 5, 30 and 60 s windows,
is never shorter than it, and a 30 or 60 s window costs no trial at all."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import looptime
import pytest

from async_spotify_etl.client.learning import (
    MAX_FAILED_TRIALS,
    TOLERANCE,
    AutoRate,
    Limit,
    _Sent,
)
from async_spotify_etl.client.pacing import Pacer
from tests.client.test_learning import pull
from tests.fakes import FakeClock, RollingServer


@pytest.mark.parametrize(
    ("limit", "window"), [(15, 5.0), (30, 5.0), (60, 5.0), (150, 30.0), (300, 60.0)]
)
async def test_the_learned_window_is_within_five_percent_of_the_servers(
    clock: FakeClock, limit: int, window: float
) -> None:
    server = RollingServer(limit, window)
    pacer = await pull(clock, server, 6 * limit)
    auto = pacer.auto
    assert auto is not None
    assert auto.limit is not None
    assert auto.limit.requests == limit
    assert window <= auto.limit.seconds <= (1 + TOLERANCE) * window
    assert not auto.refining
    assert server.throttled <= 1 + auto.failed_trials <= 1 + MAX_FAILED_TRIALS
    if window >= 30:  # a second of rounding is already under 5%: nothing is spent on it
        assert auto.trials == 0


class Simulation:
    """Workers pulling through one auto pacer on a loop whose clock is virtual (looptime),
    with random latency each way: requests overtake each other, as on a real network."""

    def __init__(self, limit: int, window: float, seed: int, workers: int = 8) -> None:
        self.server = RollingServer(limit, window)
        self.pacer = Pacer(5.0, 5, workers, auto=AutoRate(5.0, 5))
        self.random = random.Random(seed)
        self.workers = workers
        self.out = 0
        self.trials_not_alone = 0

    async def run(self, requests: int) -> AutoRate:
        loop = asyncio.get_running_loop()
        done = 0

        async def worker() -> None:
            nonlocal done
            while done < requests:
                async with self.pacer.slot() as ticket:
                    self.out += 1
                    trial = ticket.trial is not None
                    await asyncio.sleep(self.random.uniform(0.01, 0.03))
                    wait = self.server.admit(loop.time())
                    await asyncio.sleep(self.random.uniform(0.01, 0.03))
                    if trial and self.out != 1:
                        self.trials_not_alone += 1
                    self.out -= 1
                    if wait is None:
                        self.pacer.record_success(ticket)
                        done += 1
                    else:
                        self.pacer.record_throttle(ticket, float(wait), float(wait))

        await asyncio.gather(*(worker() for _ in range(self.workers)))
        auto = self.pacer.auto
        assert auto is not None
        return auto


T = TypeVar("T")


def on_virtual_time(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` on a new loop whose clock only moves when every task waits (looptime)."""
    loop = looptime.new_event_loop(start=0)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("limit", "window"), [(15, 5.0), (60, 5.0), (40, 10.0), (150, 30.0)])
def test_concurrent_requests_never_teach_a_window_too_short(
    limit: int, window: float, seed: int
) -> None:
    sim = Simulation(limit, window, seed)
    auto = on_virtual_time(lambda: sim.run(6 * limit))
    assert auto.limit is not None
    assert auto.limit.requests <= limit
    assert auto.limit.seconds >= window
    assert sim.trials_not_alone == 0
    assert auto.failed_trials <= MAX_FAILED_TRIALS
    if auto.trials:  # only an exact first measurement is narrowed, and then to 5%
        assert auto.limit.requests == limit
        assert auto.limit.seconds <= (1 + TOLERANCE) * window


def learned(bounds: tuple[float, float], requests: int = 3) -> AutoRate:
    """An AutoRate that learned ``requests`` per ``bounds[1]`` s, the window at least
    ``bounds[0]``: three requests sent at 0, 1 and 2 s, answered 0.1 s later."""
    auto = AutoRate(5.0, 5)
    for at in (0.0, 1.0, 2.0):
        record = auto.sent(at)
        auto.answered(record, at + 0.1, throttled=False)
    auto._pace(Limit(requests, bounds[1]), "learned")
    auto.bounds = bounds
    return auto


def test_an_accepted_trial_shortens_the_window() -> None:
    auto = learned((4.0, 5.0))
    found = auto.trial_time(2.2)
    assert found is not None
    at, oldest = found
    assert oldest.sent_at == 0.0  # three requests since it: the server's full window
    assert at == pytest.approx(0.0 + 4.5 - 0.1)  # halfway, less the round trip
    trial = auto.sent(at)
    auto.answered(trial, at + 0.1, throttled=False)
    assert auto.trial_answered(trial, oldest, None)
    assert auto.limit == Limit(3, pytest.approx(4.5))
    assert auto.bounds == (4.0, pytest.approx(4.5))


def test_a_throttled_trial_raises_the_shortest_the_window_can_be() -> None:
    auto = learned((4.0, 5.0))
    found = auto.trial_time(2.2)
    assert found is not None
    at, oldest = found
    trial = auto.sent(at)
    auto.answered(trial, at + 0.1, throttled=True)
    assert not auto.trial_answered(trial, oldest, 1.0)  # the limit stands
    assert auto.limit == Limit(3, 5.0)
    assert auto.bounds == (pytest.approx(at - 0.1), 5.0)
    assert auto.failed_trials == 1


def test_trials_end_within_the_tolerance_or_after_the_failures_allowed() -> None:
    assert not learned((4.9, 5.1)).refining  # within 5% already
    auto = learned((4.0, 5.0))
    assert auto.refining
    auto.failed_trials = MAX_FAILED_TRIALS
    assert not auto.refining
    assert auto.trial_time(2.2) is None


def test_a_trial_too_late_to_narrow_the_window_is_not_sent() -> None:
    auto = learned((4.0, 5.0))
    assert auto.trial_time(2.2) is not None
    assert auto.trial_time(4.85) is None  # answered at 4.95: not even 0.1 s shorter


def test_an_ambiguous_first_429_is_not_narrowed() -> None:
    """A request sent after the throttled one was accepted: it may have arrived first and
    been counted, so the limit is only a lower bound and trials would lean on it."""
    auto = AutoRate(5.0, 5)
    records: list[_Sent] = [auto.sent(0.0) for _ in range(4)]
    throttled = records[2]
    for record in records:
        auto.answered(record, 0.1, throttled=record is throttled)
    auto.throttled(0.0, 0.1, 5.0, throttled)
    assert auto.settle()
    assert auto.limit == Limit(2, pytest.approx(5.1))
    assert auto.bounds is None
    assert not auto.refining


def test_a_later_429_stops_the_trials() -> None:
    auto = learned((4.0, 5.0))
    record = auto.sent(3.0)
    auto.answered(record, 3.1, throttled=True)
    auto.throttled(3.0, 3.1, 1.0, record)
    assert auto.settle()
    assert auto.bounds is None
    assert not auto.refining


def test_trials_pace_by_the_limit_itself_and_the_margin_returns_after_them() -> None:
    auto = learned((4.6, 5.0), requests=40)
    assert auto.pacing == Limit(40, 5.0)  # a trial needs the server's window full
    oldest = auto._history[0]
    trial = auto.sent(4.7)
    auto.answered(trial, 4.75, throttled=False)
    assert auto.trial_answered(trial, oldest, None)
    assert not auto.refining  # 4.6 to 4.75: within 5%
    assert auto.pacing == Limit(40, pytest.approx(4.75)).paced
    assert auto.pacing.requests == 38
