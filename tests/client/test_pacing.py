"""The pacer on a fake clock: one gate for every task, one probe after it reopens, one
rate cut per 429 episode, an additive climb never above the configured rate."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from async_spotify_etl.client.pacing import CLIMB, DECREASE, Pacer, Ticket
from async_spotify_etl.core.errors import QuotaExceededError
from tests.fakes import FakeClock


def pacer(clock: FakeClock, rate: float = 1000.0, concurrency: int = 100) -> Pacer:
    return Pacer(rate, 10, concurrency, clock=clock.time, sleep=clock.sleep)


async def test_a_429_closes_the_gate_for_every_task(clock: FakeClock) -> None:
    p = pacer(clock)
    left: list[float] = []

    async def request() -> None:
        async with p.slot():
            left.append(clock.now)

    async with p.slot() as ticket:
        p.record_throttle(ticket, 5.0)
    closed_at = clock.now
    assert p.gate_closed()
    await asyncio.gather(*(request() for _ in range(10)))
    assert len(left) == 10
    assert min(left) >= closed_at + 5.0
    assert p.waited_seconds == 5.0  # counted once, not once per waiting task


async def test_after_the_gate_one_probe_goes_first(clock: FakeClock) -> None:
    p = pacer(clock)
    order: list[str] = []
    probe_out = asyncio.Event()
    probe_answered = asyncio.Event()

    async def request() -> None:
        async with p.slot() as ticket:
            order.append("probe left" if ticket.probe else "left")
            if ticket.probe:
                probe_out.set()
                await probe_answered.wait()
                order.append("probe answered")

    async with p.slot() as first:
        p.record_throttle(first, 1.0)
    tasks = [asyncio.create_task(request()) for _ in range(5)]
    await probe_out.wait()
    await asyncio.sleep(0.02)  # time enough for any other task to slip out, if one could
    assert order == ["probe left"]  # only the probe is out; the rest wait for its answer
    probe_answered.set()
    await asyncio.gather(*tasks)
    assert order == ["probe left", "probe answered"] + ["left"] * 4


async def test_a_throttled_probe_keeps_the_others_waiting(clock: FakeClock) -> None:
    p = pacer(clock)
    async with p.slot() as first:
        p.record_throttle(first, 1.0)
    async with p.slot() as probe:
        assert probe.probe
        p.record_throttle(probe, 2.0)
    before = clock.now
    async with p.slot() as next_probe:
        assert next_probe.probe  # the gate reopens into a new probe, after the new wait
        assert clock.now >= before + 2.0


async def test_rate_halves_once_per_episode_and_climbs_back_additively(clock: FakeClock) -> None:
    p = pacer(clock, rate=30.0)
    async with p.slot() as a, p.slot() as b, p.slot() as c:
        p.record_throttle(a, 1.0)
        p.record_throttle(b, 1.0)  # sent before the cut: same episode
        p.record_throttle(c, 1.0)
    assert p.rate == pytest.approx(30.0 * DECREASE)
    clock.now += 10.0
    assert p.rate == pytest.approx(15.0 * (1 + CLIMB * 10.0))
    clock.now += 10_000.0
    assert p.rate == 30.0  # never above the configured rate
    late = Ticket(sent_at=clock.now)
    p.record_throttle(late, 1.0)  # a new episode cuts again
    assert p.rate == pytest.approx(15.0)


async def test_the_cut_goes_down_to_the_rate_the_server_accepted(clock: FakeClock) -> None:
    p = pacer(clock, rate=500.0)  # the bucket never holds these back
    for _ in range(40):  # 40 accepted within 0.1 s ...
        async with p.slot() as ticket:
            p.record_success(ticket)
        clock.now += 0.0025
    p.record_throttle(Ticket(sent_at=clock.now), 1.9)  # ... then "come back in 1.9 s"
    assert p.rate == pytest.approx(40 / 2.0)  # not 50: the server's 40 per 2 s
    clock.now += 1.9
    for _ in range(3):  # too few samples to trust: a plain halving
        async with p.slot() as ticket:
            p.record_success(ticket)
    before = p.rate
    p.record_throttle(Ticket(sent_at=clock.now), 1.0)
    assert p.rate == pytest.approx(before * DECREASE)


async def test_repeated_429s_never_take_the_rate_to_zero(clock: FakeClock) -> None:
    p = pacer(clock, rate=8.0)
    for _ in range(50):
        p.record_throttle(Ticket(sent_at=clock.now), 0.0)
        clock.now += 0.001
    assert 0.0 < p.rate < 1.0


async def test_a_stop_refuses_every_later_request(clock: FakeClock) -> None:
    p = pacer(clock)
    stop = QuotaExceededError("quota", 60.0, dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    p.stop(stop)
    with pytest.raises(QuotaExceededError):
        async with p.slot():
            pass


async def test_concurrency_bounds_requests_in_flight(clock: FakeClock) -> None:
    p = pacer(clock, concurrency=3)
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with p.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)
            in_flight -= 1

    await asyncio.gather(*(request() for _ in range(20)))
    assert peak == 3


def test_repr_shows_live_state(clock: FakeClock) -> None:
    p = pacer(clock, rate=20.0)
    assert "gate open" in repr(p)
    p.record_throttle(Ticket(sent_at=clock.now), 3.0)
    assert "closed 3.0 s" in repr(p)
    assert "10.00/20" in repr(p)
    assert "window" not in repr(p)
    assert "window 0/30" in repr(windowed(clock, limit=30))


def windowed(clock: FakeClock, limit: int = 3, seconds: float = 5.0) -> Pacer:
    return Pacer(1000.0, 100, 100, window=(limit, seconds), clock=clock.time, sleep=clock.sleep)


async def test_the_window_is_never_exceeded_under_concurrency(clock: FakeClock) -> None:
    """40 tasks, answers after varying latencies: no span of 5 s holds more than 3 sends,
    even counting each send from when it left (a server stamps arrival, later still)."""
    p = windowed(clock, limit=3, seconds=5.0)
    sent: list[float] = []
    peak = 0

    async def request(n: int) -> None:
        nonlocal peak
        async with p.slot():
            sent.append(clock.now)
            assert p.window is not None
            peak = max(peak, p.window.held())
            await clock.sleep(0.01 * (n % 7))  # latency, moving the shared clock

    await asyncio.gather(*(request(n) for n in range(40)))
    assert len(sent) == 40
    assert peak == 3
    assert max(sum(1 for t in sent if start <= t < start + 5.0) for start in sent) == 3


async def test_an_answer_frees_its_place_exactly_the_window_after_it(clock: FakeClock) -> None:
    p = windowed(clock, limit=2, seconds=5.0)
    async with p.slot():
        clock.now += 1.0
    first_answer = clock.now
    async with p.slot():
        clock.now += 0.5
    second_answer = clock.now
    async with p.slot():  # the window is full: wait until the first answer is 5 s old
        assert clock.now == first_answer + 5.0
    async with p.slot():  # then until the second one is
        assert clock.now == second_answer + 5.0


async def test_requests_in_flight_hold_their_places(clock: FakeClock) -> None:
    p = windowed(clock, limit=2, seconds=5.0)
    answer = asyncio.Event()
    out: list[float] = []

    async def slow() -> None:
        async with p.slot():
            out.append(clock.now)
            await answer.wait()

    tasks = [asyncio.create_task(slow()) for _ in range(3)]
    for _ in range(5):
        await asyncio.sleep(0)
    clock.now += 60.0  # however long they stay out, the third waits for an answer
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(out) == 2
    answer.set()
    answered_at = clock.now
    await asyncio.gather(*tasks)
    assert out == [answered_at - 60.0] * 2 + [answered_at + 5.0]


async def test_retries_and_429s_count_in_the_window(clock: FakeClock) -> None:
    p = windowed(clock, limit=2, seconds=5.0)
    async with p.slot() as ticket:
        p.record_throttle(ticket, 1.0)  # a 429 holds a place too
    async with p.slot() as probe:
        assert probe.probe
        assert clock.now == 1000.0 + 1.0  # the gate, not the window: one place was free
    async with p.slot():
        assert clock.now == 1000.0 + 5.0  # two answers at 1000 and 1001: wait for the first


async def test_a_request_turned_back_by_the_gate_gives_its_place_back(clock: FakeClock) -> None:
    p = windowed(clock, limit=1, seconds=5.0)
    answer = asyncio.Event()

    async def throttled() -> None:
        async with p.slot() as ticket:
            await answer.wait()
            p.record_throttle(ticket, 10.0)

    async def waiting() -> float:
        async with p.slot() as ticket:
            assert ticket.probe
            return clock.now

    first = asyncio.create_task(throttled())
    await asyncio.sleep(0)
    second = asyncio.create_task(waiting())  # waits for the window, which the 429 fills
    await asyncio.sleep(0)
    answer.set()
    answered_at = clock.now
    # It gets a place 5 s later, finds the gate closed and goes back to wait 5 s more: the
    # place it gave back is free again when the gate opens (kept, it would wait forever).
    left_at = await asyncio.wait_for(second, timeout=10.0)
    await first
    assert left_at == answered_at + 10.0
    assert p.window is not None
    assert p.window.held() == 1
