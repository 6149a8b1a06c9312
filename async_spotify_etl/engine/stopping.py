"""Stopping resumably without losing finished work, or work the API could not do yet.

A :class:`ResumableStop` (the run's request budget spent, the quota, a Retry-After longer
than ``max_wait``) stops the client: every later request raises it at once. The stages do
not cancel each other for it: each hands on what it finished, drops the album or artist
the stop interrupted (not done, so the next run fetches it) and ends as usual; the pull
raises the stop once every stage has ended, after the sink committed what came out.

An album or artist the API kept failing to serve after the retries (a timeout, a dropped
connection, a 5xx or 429: :func:`~..core.errors.is_transient`) is not failed for good
either: it is :meth:`Stop.defer`-red, left out like an interrupted one, the other albums go
on, and the pull ends with a :class:`StillFailingError` (exit 75) so that the next run
asks for it again. Only a definitive answer (a 404, a malformed album) is an error line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import Literal, TypeVar

from ..core.errors import ResumableStop, SpotifyETLError, StillFailingError

T = TypeVar("T")
log = logging.getLogger(__name__)


class Stop:
    """The first :class:`ResumableStop` any stage of one pull met, and the albums and
    artists left due because the API kept failing for them."""

    def __init__(self) -> None:
        self.error: ResumableStop | None = None
        self.deferred = {"album": 0, "artist": 0}
        self._last: SpotifyETLError | None = None

    def __repr__(self) -> str:
        due = f" due={self.deferred}" if self._last is not None else ""
        return (f"<Stop {self.error!s}" if self.error else "<Stop none") + due + ">"

    def record(self, error: ResumableStop) -> None:
        if self.error is None:
            self.error = error

    def defer(
        self, kind: Literal["album", "artist"], ids: Sequence[str], exc: SpotifyETLError
    ) -> None:
        """Leave ``ids`` due: the API kept failing for them (``exc`` is transient)."""
        self.deferred[kind] += len(ids)
        self._last = exc
        shown = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
        log.warning("%s %s not fetched, left for the next run: %s", kind, shown, exc)

    @property
    def outcome(self) -> ResumableStop | None:
        """What the pull raises once every stage has ended: the stop, else the albums
        and artists still due, else None."""
        if self.error is not None:
            return self.error
        if self._last is not None:
            return StillFailingError(self.deferred["album"], self.deferred["artist"], self._last)
        return None

    async def guard(self, awaitable: Awaitable[T]) -> T | None:
        """``awaitable``'s result, or None if a stop interrupted it (and is recorded)."""
        try:
            return await awaitable
        except ResumableStop as exc:
            self.record(exc)
            return None

    async def gather(self, awaitables: Iterable[Awaitable[T | None]]) -> list[T]:
        """The results, in order, of those not interrupted by a stop and not left due
        (None); any other error cancels the rest and propagates, as a TaskGroup does."""
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_as_coroutine(self.guard(aw))) for aw in awaitables]
        return [result for task in tasks if (result := task.result()) is not None]


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
