"""Paging a bounded number of pages ahead: order, bound, the real end, errors and
ownership, driven by fetches the test finishes by hand (no network, no clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator

import pytest

from async_spotify_etl.core.errors import NotFoundError, QuotaExceededError
from async_spotify_etl.engine.paging import in_order


class Fetches:
    """Fetches that finish when the test says so; records what was asked and what ran."""

    def __init__(self) -> None:
        self.answers: dict[int, asyncio.Future[int]] = {}
        self.asked: list[int] = []
        self.running = 0
        self.most = 0
        self.cancelled: list[int] = []

    async def fetch(self, offset: int) -> int:
        self.asked.append(offset)
        self.running += 1
        self.most = max(self.most, self.running)
        answer = self.answers.setdefault(offset, asyncio.get_running_loop().create_future())
        try:
            return await answer
        except asyncio.CancelledError:
            self.cancelled.append(offset)
            raise
        finally:
            self.running -= 1

    def finish(self, offset: int) -> None:
        future = self.answers.setdefault(offset, asyncio.get_running_loop().create_future())
        if not future.done():  # a cancelled fetch cancelled its future too
            future.set_result(offset)

    def fail(self, offset: int, error: Exception) -> None:
        self.answers.setdefault(offset, asyncio.get_running_loop().create_future())
        self.answers[offset].set_exception(error)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def pages(
    fetches: Fetches, offsets: range, window: int, end: int | None = None
) -> AsyncGenerator[int, None]:
    return in_order(fetches.fetch, offsets, window, lambda page: page == end)


async def test_pages_come_in_offset_order_with_at_most_a_window_outstanding() -> None:
    fetches = Fetches()
    got: list[int] = []

    async def consume() -> None:
        async for page in pages(fetches, range(0, 10), window=3):
            got.append(page)

    consumer = asyncio.create_task(consume())
    await settle()
    assert fetches.asked == [0, 1, 2]  # the window is full
    fetches.finish(2)
    fetches.finish(1)
    await settle()
    assert got == []  # page 0 is not in yet
    fetches.finish(0)
    await settle()
    assert got == [0, 1, 2]
    for offset in range(3, 10):
        fetches.finish(offset)
        await settle()
    await consumer
    assert got == list(range(10))
    assert fetches.most == 3


async def test_no_offset_is_asked_past_the_first_page_that_is_the_end() -> None:
    fetches = Fetches()
    got: list[int] = []

    async def consume() -> None:
        async for page in pages(fetches, range(0, 10**9), window=4, end=5):
            got.append(page)

    consumer = asyncio.create_task(consume())
    for offset in range(9):  # every asked page answers, at once
        await settle()
        if offset in fetches.asked:
            fetches.finish(offset)
    await consumer
    assert got == [0, 1, 2, 3, 4, 5]
    assert max(fetches.asked) < 5 + 4  # at most a window past the end
    assert fetches.running == 0


async def test_an_end_seen_early_cancels_the_requests_past_it() -> None:
    fetches = Fetches()
    generator = pages(fetches, range(0, 100), window=5, end=2)
    first = asyncio.create_task(anext(generator))
    await settle()
    fetches.finish(2)  # the end arrives before the pages ahead of it
    fetches.finish(0)
    assert await first == 0
    assert sorted(fetches.cancelled) == [3, 4]
    fetches.finish(1)
    assert [page async for page in generator] == [1, 2]
    assert fetches.asked == [0, 1, 2, 3, 4]


async def test_a_failed_page_is_raised_as_itself_and_the_rest_cancelled() -> None:
    fetches = Fetches()
    generator = pages(fetches, range(0, 10), window=4)
    first = asyncio.create_task(anext(generator))
    await settle()
    fetches.fail(2, NotFoundError(404, "https://api.invalid/x"))
    with pytest.raises(NotFoundError):
        await first
    assert sorted(fetches.cancelled) == [0, 1, 3]
    assert fetches.running == 0


async def test_a_resumable_stop_is_raised_before_any_other_error() -> None:
    fetches = Fetches()
    generator = pages(fetches, range(0, 10), window=4)
    first = asyncio.create_task(anext(generator))
    await settle()
    fetches.fail(1, NotFoundError(404, "https://api.invalid/x"))
    fetches.fail(3, QuotaExceededError("quota", 60.0, dt.datetime(2026, 1, 1)))
    with pytest.raises(QuotaExceededError):
        await first


async def test_closing_early_cancels_and_awaits_what_is_outstanding() -> None:
    fetches = Fetches()
    generator = pages(fetches, range(0, 10), window=4)
    first = asyncio.create_task(anext(generator))
    await settle()
    fetches.finish(0)
    assert await first == 0
    await generator.aclose()
    assert sorted(fetches.cancelled) == [1, 2, 3]
    assert fetches.running == 0


async def test_a_window_must_hold_a_request() -> None:
    with pytest.raises(ValueError, match="window"):
        await anext(pages(Fetches(), range(0, 10), window=0))
