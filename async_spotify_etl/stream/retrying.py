"""Publishing that never stops the pulling: a broker that is down is said in one line and
retried with backoff, what is pending staying in the dataset (the outbox) meanwhile.

:class:`RetryingPublisher` is what ``watch --publish`` publishes through after each poll
(``run.watch.Publishing``); ``retry_at`` tells the watch when to try again between polls.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ..core.errors import ConfigurationError
from .publisher import Publisher, PublishError
from .target import Target

log = logging.getLogger(__name__)

#: The first retry's ceiling, and the longest wait between two attempts to reach a broker
#: that is down (the caller's poll interval caps it too).
RETRY_BASE = 1.0
RETRY_CAP = 60.0


class RetryingPublisher:
    """Publishes a dataset's pending runs to ``target``; failures are logged (the first
    one as a warning, the recovery as one too) and retried with full-jitter backoff."""

    def __init__(
        self,
        target: Target,
        *,
        cap: float = RETRY_CAP,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.target = target
        self._publisher = Publisher(target)
        self._cap = max(RETRY_BASE, cap)
        self._clock = clock
        self._rand = rand
        self.failures = 0
        #: When (on ``clock``) a failed publish is due again; None when nothing failed.
        self.retry_at: float | None = None

    def __repr__(self) -> str:
        return f"<RetryingPublisher {self.target} {self.failures} failures>"

    async def __aenter__(self) -> RetryingPublisher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._publisher.aclose()

    def backoff(self) -> float:
        """Seconds before the next try after ``failures`` failures (full jitter)."""
        ceiling: float = min(self._cap, RETRY_BASE * 2.0 ** min(self.failures, 30))
        return 0.1 + self._rand() * ceiling

    async def publish(self, root: Path) -> None:
        """Publish what the dataset in ``root`` has pending; never raises for the broker."""
        try:
            published = await self._publisher.catch_up(root)
        except PublishError as exc:
            if self.failures == 0:
                log.warning(
                    "cannot publish (%s); pulling goes on, publishing is retried with backoff",
                    exc,
                )
            else:
                log.debug("still cannot publish (%s)", exc)
            delay = self.backoff()
            self.failures += 1
            self.retry_at = self._clock() + delay
            return
        except ConfigurationError as exc:  # another process holds the dataset: next time
            log.debug("publishing waits: %s", exc)
            return
        if self.failures:
            log.warning("publishing to %s again after %d failed tries", self.target, self.failures)
        self.failures, self.retry_at = 0, None
        if published.messages or published.duplicates:
            log.info(
                "published %d messages of %d runs to %s (%d already there)",
                published.messages,
                published.runs,
                self.target,
                published.duplicates,
            )
