"""Pages fetched through a bounded sliding window: in order, and never past the real end.

A paging object's ``total`` is believed only as an upper bound. At most ``window`` page
requests are outstanding; each page is handed on in offset order as soon as it and every
page before it have arrived; once a page shows the real end (see ``last``) no further
offset is requested and the requests past it are cancelled. Memory is bounded by the
window, not by the listing: an honest total costs exactly the pages it names, a lying
one at most ``window`` pages more.

The generator owns its tasks: leaving it (exhausted, closed, cancelled or failed) cancels
and awaits every outstanding one. A failed page cancels the rest and is raised as itself,
not as an ExceptionGroup, a :class:`ResumableStop` in preference to any other error.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from ..core.errors import ResumableStop

T = TypeVar("T")


async def in_order(
    fetch: Callable[[int], Coroutine[Any, Any, T]],
    offsets: Iterable[int],
    window: int,
    last: Callable[[T], bool],
) -> AsyncGenerator[T, None]:
    """``fetch(offset)`` for each offset, ``window`` at a time, yielded in offset order up
    to and including the first page for which ``last(page)`` is true."""
    if window < 1:
        raise ValueError(f"window must be at least 1: {window}")
    todo = iter(offsets)
    pending: deque[asyncio.Task[T]] = deque()
    try:
        while True:
            while len(pending) < window and (offset := next(todo, None)) is not None:
                pending.append(asyncio.create_task(fetch(offset)))
            if not pending:
                return
            await _head_or_failure(pending)
            if await _cut_at_end(pending, last):
                todo = iter(())
            yield pending.popleft().result()
    finally:
        await _cancel(pending)


async def _head_or_failure(pending: deque[asyncio.Task[T]]) -> None:
    """Wait until the first page is in; raise the preferred error as soon as any failed."""
    while not _failed(pending):
        if pending[0].done():
            return
        running = [task for task in pending if not task.done()]
        await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    await _cancel(pending)
    errors = _failed(pending)
    stops = [error for error in errors if isinstance(error, ResumableStop)]
    raise (stops or errors)[0]


async def _cut_at_end(pending: deque[asyncio.Task[T]], last: Callable[[T], bool]) -> bool:
    """Drop (cancel and await) the requests past the first arrived page that is the end."""
    for index, task in enumerate(pending):
        if task.done() and last(task.result()):
            beyond = [pending.pop() for _ in range(len(pending) - index - 1)]
            await _cancel(beyond)
            return True
    return False


def _failed(tasks: Iterable[asyncio.Task[T]]) -> list[BaseException]:
    return [
        error
        for task in tasks
        if task.done() and not task.cancelled() and (error := task.exception()) is not None
    ]


async def _cancel(tasks: Sequence[asyncio.Task[T]]) -> None:
    """Cancel what still runs and wait for all of it; every outcome counts as retrieved."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    _failed(tasks)
