"""``--rate auto`` on a fake clock: the slow start, the limit a first 429 shows (Retry-After
in seconds or as an HTTP date; the window's precision is tests/client/test_trials.py's),
and the 429s that must not teach."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

import pytest

from async_spotify_etl.client.learning import (
    SLOW_START_STEP,
    AutoRate,
    Limit,
    infer_limit,
    lowered_limit,
)
from async_spotify_etl.client.pacing import Pacer
from async_spotify_etl.client.retry import parse_retry_after
from tests.fakes import FakeClock, RollingServer


async def pull(clock: FakeClock, server: RollingServer, requests: int) -> Pacer:
    """``requests`` requests through an auto pacer, one at a time, 20 ms each way."""
    pacer = Pacer(5.0, 5, 8, auto=AutoRate(5.0, 5), clock=clock.time, sleep=clock.sleep)
    done = 0
    while done < requests:
        async with pacer.slot() as ticket:
            clock.now += 0.02
            wait = server.admit(clock.now)
            clock.now += 0.02
            if wait is None:
                pacer.record_success(ticket)
                done += 1
            else:
                pacer.record_throttle(ticket, float(wait), float(wait))
    return pacer


async def test_slow_start_doubles_only_while_the_rate_holds_requests_back(
    clock: FakeClock,
) -> None:
    pacer = Pacer(5.0, 5, 8, auto=AutoRate(5.0, 5), clock=clock.time, sleep=clock.sleep)
    auto = pacer.auto
    assert auto is not None
    for _ in range(40):  # as fast as the pacer lets them go: the rate binds
        async with pacer.slot():
            pass
    assert auto.rate >= 4 * 5.0
    clock.now += 1.0
    async with pacer.slot():  # ends the busy step: its rate held back, so it doubles
        pass
    bound = auto.rate
    for _ in range(10):  # one request a second: far below the rate, which stays
        clock.now += 1.0
        async with pacer.slot():
            pass
    assert auto.rate == bound
    assert auto.fastest_clean >= 2 * 5.0


async def test_a_remembered_clean_rate_starts_the_slow_start_there() -> None:
    auto = AutoRate(5.0, 5, clean_rate=80.0)
    assert auto.rate == 80.0
    assert auto.burst == math.ceil(80.0 * SLOW_START_STEP)


def test_retry_after_as_an_http_date_teaches_the_same_window() -> None:
    sent_first = 1000.0
    at = 1002.5  # 2.5 s after the first request, 30 requests accepted
    now = dt.datetime(2026, 11, 25, 10, 0, 0, tzinfo=dt.UTC)
    in_seconds = parse_retry_after("3")
    as_date = parse_retry_after("Wed, 25 Nov 2026 10:00:03 GMT", now=now)
    assert in_seconds == as_date == 3.0
    assert infer_limit(sent_first, 30, at, as_date) == Limit(30, 5.5)


def test_a_429_without_retry_after_or_acceptance_teaches_nothing() -> None:
    assert infer_limit(0.0, 30, 2.0, 0.0) is None
    assert infer_limit(0.0, 0, 2.0, 3.0) is None


def test_a_later_429_lowers_the_limit_to_what_the_server_counted() -> None:
    limit = Limit(30, 5.0)
    assert lowered_limit(limit, 24) == Limit(24, 5.0)
    assert lowered_limit(limit, 40) == Limit(29, 5.0)  # never up: at least one fewer
    assert lowered_limit(limit, None) == Limit(27, 5.0)
    assert lowered_limit(Limit(1, 5.0), 0) == Limit(1, 5.0)


def test_the_margin_is_five_percent_and_none_for_small_limits() -> None:
    assert Limit(100, 30.0).paced == Limit(95, 30.0)
    assert Limit(15, 5.0).paced == Limit(15, 5.0)


async def test_429s_of_the_episode_already_measured_do_not_teach(clock: FakeClock) -> None:
    pacer = Pacer(5.0, 5, 8, auto=AutoRate(5.0, 5), clock=clock.time, sleep=clock.sleep)
    auto = pacer.auto
    assert auto is not None
    async with pacer.slot():  # accepted
        clock.now += 0.05
    async with pacer.slot() as a, pacer.slot() as b:
        clock.now += 0.1
        pacer.record_throttle(a, 4.0, 4.0)
        # b left before the gate closed: its 429, whatever it says, is the same episode
        pacer.record_throttle(b, 1.0, 1.0)
    async with pacer.slot():  # the probe, once the gate reopens, settles the measurement
        pass
    assert auto.limit is not None
    assert auto.limit.requests == 1
    assert auto.limit.seconds == pytest.approx(0.05 + 0.1 + 4.0)  # a's Retry-After, not b's


async def test_the_measurement_waits_for_the_requests_sent_before_the_429(
    clock: FakeClock,
) -> None:
    auto = AutoRate(5.0, 5)
    early = auto.sent(0.0)
    throttled = auto.sent(0.1)
    auto.answered(throttled, 0.2, throttled=True)
    auto.throttled(0.1, 0.2, 5.0)
    assert not auto.settle()  # the first request is still out: it may have been counted
    auto.answered(early, 0.3, throttled=False)
    assert auto.settle()
    assert auto.limit == Limit(1, 5.2)  # answered 0.2 s after the first left, Retry-After 5


async def test_no_retry_after_halves_the_slow_start_and_stops_it(clock: FakeClock) -> None:
    auto = AutoRate(8.0, 5)
    record = auto.sent(0.0)
    auto.answered(record, 0.1, throttled=True)
    auto.throttled(0.0, 0.1, None)
    assert not auto.settle()
    assert (auto.limit, auto.phase, auto.rate) == (None, "steady", 4.0)
    assert auto.window_seconds == 30.0  # what the gate waits for: Spotify's window
    # it climbs back additively, to the rate before the cut and no further
    assert auto.rate_at(0.1 + 25.0) == pytest.approx(4.0 * 1.5)
    assert auto.rate_at(0.1 + 500.0) == 8.0


async def test_a_second_silent_episode_cuts_from_where_the_rate_climbed() -> None:
    auto = AutoRate(8.0, 5)
    for start in (0.0, 100.0):
        record = auto.sent(start)
        auto.answered(record, start + 0.1, throttled=True)
        auto.throttled(start, start + 0.1, None)
        auto.settle()
    # 8 -> 4, climbed back to 8 in 100 s, cut once to 4 again: not 2
    assert auto.rate == 4.0


async def test_a_remembered_limit_paces_from_the_first_request(clock: FakeClock) -> None:
    auto = AutoRate(5.0, 5, remembered=Limit(10, 2.0))
    pacer = Pacer(5.0, 5, 32, auto=auto, clock=clock.time, sleep=clock.sleep)
    left: list[float] = []

    async def request() -> None:
        async with pacer.slot():
            left.append(clock.now)

    await asyncio.gather(*(request() for _ in range(25)))
    assert auto.source == "remembered"
    assert left[9] - left[0] < 1e-6  # the first ten at once, not at the polite rate
    assert left[10] >= left[0] + 2.0  # the eleventh waits for the window


def test_a_429_while_the_last_runs_requests_count_teaches_nothing() -> None:
    # the memory says the previous run sent its last request 1 s ago, window 5 s
    remembered = AutoRate(5.0, 5, remembered=Limit(30, 5.0), quiet_for=4.0)
    record = remembered.sent(0.0)
    remembered.answered(record, 0.1, throttled=True)
    remembered.throttled(0.0, 0.1, 1.0)
    assert not remembered.settle()
    assert remembered.limit == Limit(30, 5.0)  # not lowered to what was left for this run
    assert remembered.report().limit is None  # nor stored
    fresh = AutoRate(5.0, 5, quiet_for=4.0)
    early = fresh.sent(0.0)
    throttled = fresh.sent(0.1)
    fresh.answered(early, 0.1, throttled=False)
    fresh.answered(throttled, 0.2, throttled=True)
    fresh.throttled(0.1, 0.2, 1.0)
    assert not fresh.settle()
    assert (fresh.limit, fresh.phase, fresh.rate) == (None, "steady", 2.5)  # cut, no limit
    # after the quiet spell, a 429 is the app's own again
    later = AutoRate(5.0, 5, remembered=Limit(30, 5.0), quiet_for=4.0)
    late = later.sent(0.0)
    later.answered(late, 4.5, throttled=True)
    later.throttled(0.0, 4.5, 1.0)
    assert later.settle()
    assert later.limit is not None
    assert later.limit.requests < 30


@pytest.mark.parametrize("trusted", [False, True])
async def test_a_remembered_limit_not_trusted_is_raised_while_no_429_comes(
    clock: FakeClock, trusted: bool
) -> None:
    auto = AutoRate(5.0, 5, remembered=Limit(3, 1.0), trusted=trusted)
    pacer = Pacer(5.0, 5, 32, auto=auto, clock=clock.time, sleep=clock.sleep)

    async def request() -> None:
        async with pacer.slot():
            clock.now += 0.01

    await asyncio.gather(*(request() for _ in range(60)))
    assert auto.limit is not None
    if trusted:  # measured on a run's own 429: it stands
        assert auto.limit == Limit(3, 1.0)
        assert auto.report().raised is None
    else:  # 3 per 1 s held every request back for whole windows, and no 429 came
        assert auto.limit.requests >= 12
        assert auto.limit.seconds == 1.0
        assert auto.report().raised == auto.limit
        assert auto.report().limit is None  # raised, not measured
