"""Stopping resumably without losing finished work.

A :class:`ResumableStop` (the run's request budget spent, the quota, a Retry-After longer
than ``max_wait``) stops the client: every later request raises it at once. The stages do
not cancel each other for it: each hands on what it finished, drops the album or artist
the stop interrupted (not done, so the next run fetches it) and ends as usual; the pull
raises the stop once every stage has ended, after the sink committed what came out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

from ..core.errors import ResumableStop

T = TypeVar("T")


class Stop:
    """The first :class:`ResumableStop` any stage of one pull met."""

    def __init__(self) -> None:
        self.error: ResumableStop | None = None

    def __repr__(self) -> str:
        return f"<Stop {self.error!s}>" if self.error else "<Stop none>"

    def record(self, error: ResumableStop) -> None:
        if self.error is None:
            self.error = error

    async def guard(self, awaitable: Awaitable[T]) -> T | None:
        """``awaitable``'s result, or None if a stop interrupted it (and is recorded)."""
        try:
            return await awaitable
        except ResumableStop as exc:
            self.record(exc)
            return None

    async def gather(self, awaitables: Iterable[Awaitable[T]]) -> list[T]:
        """The results of those not interrupted by a stop, in order; any other error
        cancels the rest and propagates, as a TaskGroup does."""
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_as_coroutine(self.guard(aw))) for aw in awaitables]
        return [result for task in tasks if (result := task.result()) is not None]


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
