"""One token bucket (aiolimiter's) paces every request in every mode, on the pacer's clock:
a fixed rate, the rate a 429 cut leaves, ``--rate auto``'s slow start and learned limit."""

from __future__ import annotations

import itertools

import pytest
from aiolimiter import AsyncLimiter

from async_spotify_etl.client.bucket import Bucket
from async_spotify_etl.client.learning import AutoRate, Limit
from async_spotify_etl.client.pacing import Pacer, Ticket
from tests.fakes import FakeClock


async def send(pacer: Pacer, clock: FakeClock, n: int) -> list[float]:
    """``n`` requests one after another, answered at once; when each left."""
    left = []
    for _ in range(n):
        async with pacer.slot() as ticket:
            left.append(clock.now)
            pacer.record_success(ticket)
    return left


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


def test_the_bucket_is_aiolimiters() -> None:
    clock = FakeClock()
    assert isinstance(Bucket(2.0, 3, clock=clock.time, sleep=clock.sleep), AsyncLimiter)


async def test_a_fixed_rate_is_paced_on_the_pacers_clock(clock: FakeClock) -> None:
    pacer = Pacer(4.0, 2, 8, clock=clock.time, sleep=clock.sleep)
    left = await send(pacer, clock, 6)
    # a burst of two, then one every quarter second: the fake clock moved, nothing slept
    assert gaps(left) == [0.0, 0.25, 0.25, 0.25, 0.25]


async def test_a_429_retunes_the_same_bucket_lower(clock: FakeClock) -> None:
    pacer = Pacer(8.0, 4, 8, clock=clock.time, sleep=clock.sleep)
    await send(pacer, clock, 4)
    pacer.record_throttle(Ticket(sent_at=clock.now), 1.0)
    left = await send(pacer, clock, 4)
    rate = pacer.rate
    assert rate == pytest.approx(4.0, rel=0.05)  # halved, and climbing back slowly
    # the probe drains the bucket, the others follow at the lowered rate
    assert all(gap == pytest.approx(1 / rate, rel=0.05) for gap in gaps(left))


async def test_auto_sets_the_buckets_rate_through_the_slow_start(clock: FakeClock) -> None:
    auto = AutoRate(4.0, 1)
    pacer = Pacer(4.0, 1, 8, auto=auto, clock=clock.time, sleep=clock.sleep)
    left = await send(pacer, clock, 3)
    assert gaps(left) == [0.0, 0.25]  # half a second's worth at once, then the start rate
    left = await send(pacer, clock, 40)
    # each half second in which it held requests back doubled the rate it paces at
    assert min(gaps(left)) < 0.25 / 4
    assert auto.rate >= 4 * 4.0


async def test_auto_paces_a_learned_limit_with_the_same_bucket(clock: FakeClock) -> None:
    auto = AutoRate(4.0, 1, remembered=Limit(10, 5.0))
    pacer = Pacer(4.0, 1, 8, auto=auto, clock=clock.time, sleep=clock.sleep)
    left = await send(pacer, clock, 20)
    # the bucket lets the window's ten go at once; the window holds the rest for 5 s
    assert gaps(left[:10]) == [0.0] * 9
    assert left[10] - left[0] == pytest.approx(5.0)


async def test_a_retuned_bucket_keeps_what_it_is_owed_in_time(clock: FakeClock) -> None:
    bucket = Bucket(4.0, 4, clock=clock.time, sleep=clock.sleep)
    for _ in range(4):  # a second's worth at once
        await bucket.take(lambda: (4.0, 4))
    # the slow start doubles rate and burst: the four just sent are still owed a second,
    # so the next goes once an eighth of it has drained, not four more at once
    assert await bucket.take(lambda: (8.0, 8)) is True
    assert clock.now == pytest.approx(1000.0 + 1 / 8)
