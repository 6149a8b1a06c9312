"""An async producer as a plain iterator: what a dlt resource (a generator) can yield from.

The producer runs in a thread of its own, under its own event loop (``asyncio.run``), so
the pull's TaskGroup keeps paging and expanding while dlt normalizes what came out. The
queue between them is bounded: a slow consumer holds the producer back without blocking
its loop. Closing the iterator early (dlt stops, an exception) cancels the producer and
waits for it, so no request is sent after the generator is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

Put = Callable[[T], Awaitable[None]]


class _End:
    """The producer finished (or failed: ``error``)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Feed(Generic[T]):
    """``for item in Feed(produce): ...`` where ``produce(put)`` awaits ``put(item)``."""

    def __init__(self, produce: Callable[[Put[T]], Awaitable[None]], size: int = 64) -> None:
        self._produce = produce
        self._queue: queue.Queue[T | _End] = queue.Queue(size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()

    def __iter__(self) -> Iterator[T]:
        thread = threading.Thread(target=self._run, name="spotify-etl-pull", daemon=True)
        thread.start()
        ended = False
        try:
            while not isinstance(item := self._queue.get(), _End):
                yield item
            ended = True
            if item.error is not None:
                raise item.error
        finally:
            if not ended:
                self._cancel()
                while not isinstance(self._queue.get(), _End):  # let a blocked put through
                    pass
            thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to the consumer, raised there
            self._queue.put(_End(exc))
        else:
            self._queue.put(_End())
        finally:
            self._started.set()  # even if the loop never started

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._started.set()
        await self._produce(self._put)

    async def _put(self, item: T) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, item)

    def _cancel(self) -> None:
        self._started.wait()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # closed: the producer is done already
                loop.call_soon_threadsafe(task.cancel)
