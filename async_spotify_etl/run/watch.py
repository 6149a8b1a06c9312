"""``watch``: a dataset's runs on a schedule, each run's news published as it commits.

Each poll is one normal dataset run (:func:`run_dataset`): the listing, then only the
albums and artists the dataset does not hold, so a listing that did not change costs the
listing's requests alone. The daily budget is spread over the polls (:class:`Allowance`).
After each poll the finished runs are published (through a :class:`Publishing`, when
given: ``stream.retrying.RetryingPublisher``, wired in by the CLI; the library does not
import the stream); a broker that is down never stops the polls: it is retried with
backoff between them, said once.

A stop (:meth:`Watch.stop`, on SIGTERM or SIGINT) between polls ends the watch at once; one
inside a run cancels it, and the run is left resumable, as any interrupted dataset run:
the next run, the next ``watch`` included, finishes it first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..core.errors import ConfigurationError
from ..core.settings import Credentials, PullSettings
from ..output.dataset import EVENTS_NAME, Dataset
from .dataset import run_dataset
from .ending import ending_of
from .schedule import interval

log = logging.getLogger(__name__)

DAY = 86400.0


class Publishing(Protocol):
    """Where a watch publishes the dataset's finished runs after each poll."""

    #: When (on the watch's clock) a failed publish is due again; None if none failed.
    retry_at: float | None

    async def publish(self, root: Path) -> None:
        """Publish what is pending; a broker that is down is not an exception."""


@dataclass(frozen=True)
class WatchSettings:
    """How ``watch`` polls: every ``every`` seconds (``friday_every`` around a market's
    Friday midnight), at most ``daily_budget`` API requests a day, and where to publish."""

    every: float
    friday_every: float | None = None
    daily_budget: int | None = None
    refresh_after_days: float | None = None
    #: Seconds between two polls that fetch again the artists the listing credits (their
    #: popularity and followers over time); the polls between fetch only new artists, so
    #: a listing that did not change costs the listing's requests alone.
    refresh_artists_every: float = DAY
    #: Stop after this many polls (None: until stopped).
    polls: int | None = None

    def __post_init__(self) -> None:
        if not self.every > 0:
            raise ConfigurationError(f"--every must be more than 0 seconds, got {self.every}")
        if self.friday_every is not None and not self.friday_every > 0:
            raise ConfigurationError("--friday-every must be more than 0 seconds")


@dataclass(frozen=True)
class WatchResult:
    """How a watch ended: the polls it ran, and whether a stop cut a run short."""

    polls: int
    interrupted_run: bool = False


class Allowance:
    """A daily request budget spread over the day: it refills at ``daily / 86400`` a
    second up to one day's worth (a new watch starts with a full day's)."""

    def __init__(self, daily: int, now: float) -> None:
        self.daily = daily
        self.left = float(daily)
        self._at = now

    def __repr__(self) -> str:
        return f"<Allowance {self.left:.1f} of {self.daily} a day>"

    def available(self, now: float) -> int:
        """Whole requests that may be spent now."""
        self.left = min(float(self.daily), self.left + (now - self._at) * self.daily / DAY)
        self._at = now
        return int(self.left)

    def spend(self, requests: int) -> None:
        self.left = max(0.0, self.left - requests)


class Watch:
    """Polls the dataset in ``settings.out`` until stopped (or ``watch.polls`` polls)."""

    def __init__(
        self,
        settings: PullSettings,
        credentials: Credentials,
        watch: WatchSettings,
        *,
        run_options: Mapping[str, Any] | None = None,
        publishing: Publishing | None = None,
        observed_at: Callable[[], dt.datetime | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.watch = watch
        self._options = dict(run_options or {})
        self._publishing = publishing
        self._observed_at = observed_at
        self._clock = clock
        self._stopped = asyncio.Event()
        self._busy = False
        self._in_run = False
        self._task: asyncio.Task[Any] | None = None
        self._artists_at = clock()
        self.polls = 0

    def __repr__(self) -> str:
        state = "stopping" if self._stopped.is_set() else "busy" if self._busy else "waiting"
        return f"<Watch {self.settings.out} every {self.watch.every:g} s, {state}>"

    def stop(self) -> None:
        """End the watch: at once between polls, by cancelling the run inside one."""
        self._stopped.set()
        if self._busy and self._task is not None:
            self._task.cancel()

    async def run(self) -> WatchResult:
        """Poll until stopped; raises what a poll cannot go on after (refused credentials,
        a configuration to fix)."""
        self._task = asyncio.current_task()
        budget = None
        if self.watch.daily_budget is not None:
            budget = Allowance(self.watch.daily_budget, self._clock())
        try:
            while not self._stopped.is_set():
                started, now = self._clock(), dt.datetime.now(dt.UTC)
                await self._poll(budget)
                await self._publish()
                if self.watch.polls is not None and self.polls >= self.watch.polls:
                    break
                markets, every = self.settings.markets, self.watch.every
                wait = interval(now, markets, every, self.watch.friday_every)
                await self._wait(started + wait)
        except asyncio.CancelledError:
            if not self._stopped.is_set() or self._task is None:
                raise
            self._task.uncancel()
            return WatchResult(self.polls, interrupted_run=self._in_run)
        return WatchResult(self.polls)

    async def _poll(self, budget: Allowance | None) -> None:
        self.polls += 1
        client = self.settings.client
        if budget is not None:
            allowed = budget.available(self._clock())
            if allowed < 1:
                log.info("poll %d: today's budget is spent; next poll later", self.polls)
                return
            client = client.replace(budget=allowed)
        settings = dataclasses.replace(self.settings, client=client)
        dataset = Dataset(self.settings.out)
        before = _last_entry(dataset)
        refresh = self._clock() - self._artists_at >= self.watch.refresh_artists_every
        self._busy = self._in_run = True
        error: BaseException | None = None
        try:
            await run_dataset(
                settings,
                credentials=self.credentials,
                refresh_after_days=self.watch.refresh_after_days,
                refresh_listed_artists=refresh,
                observed_at=self._observed_at() if self._observed_at is not None else None,
                **self._options,
            )
            self._in_run = False
            if refresh:
                self._artists_at = self._clock()
        except (asyncio.CancelledError, Exception) as exc:
            error = exc
            if isinstance(exc, asyncio.CancelledError) or not ending_of(exc).resumable:
                raise
            self._in_run = False
        finally:
            self._busy = False
            used = self._report(dataset, before, error)
            if budget is not None:
                budget.spend(used)

    def _report(self, dataset: Dataset, before: Mapping[str, Any] | None, error: Any) -> int:
        """Log the poll's one line; returns the API requests it sent."""
        entry = _last_entry(dataset)
        if entry is None or entry == before:
            log.warning("poll %d: no run recorded (%s)", self.polls, error)
            return 0
        requests = int(entry.get("requests") or 0)
        if before is not None and before.get("id") == entry.get("id"):
            requests -= int(before.get("requests") or 0)  # a resumed run: this attempt's
        listed, delisted = _events(dataset, entry)
        counts = entry.get("counts") or {}
        why = f" ({type(error).__name__}: {error})" if error is not None else ""
        log.info(
            "poll %d: run %s %s%s: %d listed, %d delisted, %d albums, %d artists, %d requests",
            self.polls,
            entry.get("id"),
            entry.get("status"),
            why,
            listed,
            delisted,
            counts.get("albums", 0),
            counts.get("artists", 0),
            requests,
        )
        return requests

    async def _publish(self) -> None:
        """Publish what is pending (a stop meanwhile cancels it: the index keeps what got
        through)."""
        if self._publishing is None:
            return
        self._busy = True
        try:
            await self._publishing.publish(self.settings.out)
        finally:
            self._busy = False

    async def _wait(self, deadline: float) -> None:
        """Until ``deadline`` or a stop, retrying a broker that is down meanwhile."""
        while not self._stopped.is_set():
            retry = self._publishing.retry_at if self._publishing is not None else None
            until = deadline if retry is None else min(deadline, retry)
            now = self._clock()
            if until > now:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), until - now)
                continue
            if now >= deadline:
                return
            await self._publish()


def _last_entry(dataset: Dataset) -> dict[str, Any] | None:
    try:
        runs = dataset.runs()
    except ConfigurationError:
        return None
    return dict(runs[-1]) if runs else None


def _events(dataset: Dataset, entry: Mapping[str, Any]) -> tuple[int, int]:
    path = dataset.root / str(entry.get("path")) / EVENTS_NAME
    listed = delisted = 0
    if path.exists():
        with path.open("rb") as f:
            for line in f:
                listed += b'"listed"' in line
                delisted += b'"delisted"' in line
    return listed, delisted
