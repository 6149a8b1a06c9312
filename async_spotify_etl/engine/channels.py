"""Closeable channels between the pull's stages: a bounded queue whose senders each close
their end, and whose receivers stop once every sender has closed (as anyio's memory
object streams do). No stage counts end-of-stream markers.

    channel = Channel[int](8)
    send = channel.sender()          # one per producer, taken before any task starts
    async with send: await send(1)   # leaving the block closes this producer's end
    async for item in channel: ...   # every item, until the last sender closed
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Final, Generic, TypeVar

T = TypeVar("T")


class _Closed:
    """What the last sender leaves in the queue: each receiver sees it, and passes it on."""


_CLOSED: Final = _Closed()


class Channel(Generic[T]):
    """A bounded channel with any number of senders and receivers."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[T | _Closed] = asyncio.Queue(size)
        self._open = 0
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self._open} senders open"
        return f"<Channel {state}, {self._queue.qsize()} queued>"

    def sender(self) -> Sender[T]:
        """A new sending end; the channel stays open until each one is closed."""
        if self._closed:
            raise RuntimeError("the channel is closed: every sender has closed its end")
        self._open += 1
        return Sender(self)

    async def _close_one(self, failed: bool = False) -> None:
        self._open -= 1
        if self._open == 0:
            self._closed = True
            if not failed:
                await self._queue.put(_CLOSED)
            elif not self._queue.full():  # a failing stage never blocks: all is cancelled
                self._queue.put_nowait(_CLOSED)

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Closed):
                self._queue.put_nowait(item)  # the slot just freed: for the other receivers
                return
            yield item


class Sender(Generic[T]):
    """One producer's end of a :class:`Channel`: call it to send, close it once."""

    def __init__(self, channel: Channel[T]) -> None:
        self._channel = channel
        self._closed = False

    async def __call__(self, item: T) -> None:
        if self._closed:
            raise RuntimeError("this sender is closed")
        await self._channel._queue.put(item)

    async def aclose(self, failed: bool = False) -> None:
        """Close this end (again is a no-op); the last one closes the channel."""
        if not self._closed:
            self._closed = True
            await self._channel._close_one(failed)

    async def __aenter__(self) -> Sender[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose(failed=exc_type is not None)
