"""``watch``'s polls on the real sandbox with a fake clock: an unchanged listing costs the
listing's requests alone, the daily budget is spread over the polls, each poll is one
log line, a moving sandbox day is seen as new events; and its schedule (#27.1)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from async_spotify_etl.output.dataset import read_index
from async_spotify_etl.run.schedule import interval, near_friday_midnight
from async_spotify_etl.run.watch import DAY, Allowance, Watch, WatchSettings
from tests.conftest import SandboxFactory
from tests.run.test_dataset import MARKETS, served, settings_for


class Clock:
    """A monotonic clock that moves only when told to (each read moves ``step``)."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def test_an_unchanged_listing_costs_the_listing_requests_alone(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=12, seed=3)
    settings = settings_for(sb, tmp_path)
    clock = Clock(step=1000.0)  # every wait has passed by the next read
    watch = Watch(settings, sb.credentials, WatchSettings(every=60, polls=1), clock=clock)
    await watch.run()
    before = served(sb)
    caplog.set_level(logging.INFO, logger="async_spotify_etl.run.watch")
    watch = Watch(settings, sb.credentials, WatchSettings(every=60, polls=3), clock=clock)
    result = await watch.run()
    after = served(sb)
    assert result.polls == 3
    spent = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {k: v for k, v in spent.items() if v} == {"new-releases": 3 * len(MARKETS)}
    lines = [r.getMessage() for r in caplog.records if r.name == "async_spotify_etl.run.watch"]
    assert len(lines) == 3  # one line a poll
    assert all(" 0 listed, 0 delisted, 0 albums, 0 artists, 2 requests" in m for m in lines)
    assert len(read_index(tmp_path).runs) == 4


async def test_the_daily_budget_is_spread_over_the_polls(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A day's budget of 3 requests cannot cover the first run (4): the first poll stops
    it resumably within its share; a later poll finishes it."""
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=12, seed=3)
    settings = settings_for(sb, tmp_path)
    caplog.set_level(logging.INFO, logger="async_spotify_etl.run.watch")
    clock = Clock(step=DAY)  # each read a day later: every wait has passed
    polls = WatchSettings(every=DAY / 2, daily_budget=3, polls=2)
    await Watch(settings, sb.credentials, polls, clock=clock).run()
    lines = [r.getMessage() for r in caplog.records if r.name == "async_spotify_etl.run.watch"]
    first, second = lines
    run = read_index(tmp_path).runs[0]["id"]
    assert f"run {run} stopped" in first
    assert f"run {run} complete" in second
    spent = [int(line.rsplit(", ", 1)[1].split()[0]) for line in lines]
    assert all(0 < n <= 3 for n in spent)
    assert len(read_index(tmp_path).runs) == 1


def test_an_allowance_refills_a_day_at_a_time() -> None:
    budget = Allowance(8640, now=0.0)
    assert budget.available(0.0) == 8640
    budget.spend(8640)
    assert budget.available(3600.0) == 360  # an hour's share
    assert budget.available(10 * DAY) == 8640  # never more than a day's


def test_polls_come_more_often_around_a_markets_friday_midnight() -> None:
    # Friday 2026-12-11 00:05 in New York is 05:05 UTC
    near = dt.datetime(2026, 12, 11, 5, 5, tzinfo=dt.UTC)
    assert near_friday_midnight(near, ["US"])
    assert not near_friday_midnight(near, ["JP"])
    assert interval(near, ["US"], 300, 10) == 10
    assert interval(near, ["US"], 300, None) == 300
    assert interval(near + dt.timedelta(hours=1), ["US"], 300, 10) == 300
    assert interval(near, ["US"], 5, 10) == 5  # --every stays the upper bound
