"""Retry decisions as pure functions: which answers to retry and how long to wait.

Nothing here sleeps or reads a clock it was not given, so every delay is testable
without waiting; the randomness is injected too.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.settings import DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, DEFAULT_MAX_RETRIES

#: Statuses Spotify documents (or is seen to answer) as temporary.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, and Retry-After plus a little jitter.

    ``random`` returns a float in [0, 1); inject a fixed one to make delays exact.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    base: float = DEFAULT_BACKOFF_BASE
    cap: float = DEFAULT_BACKOFF_CAP
    #: Upper bound of the jitter added to a server-given Retry-After, so that tasks
    #: released by the same 429 do not all come back in the same instant.
    retry_after_jitter: float = DEFAULT_BACKOFF_BASE
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def can_retry(self, retries_done: int) -> bool:
        """True while another retry is allowed after ``retries_done`` retries."""
        return retries_done < self.max_retries

    def ceiling(self, attempt: int) -> float:
        """The largest backoff for the 0-based ``attempt``: ``base * 2**attempt``, capped."""
        if attempt >= 64:  # 2**64 * base is past any cap; avoid float overflow
            return self.cap
        return min(self.cap, self.base * 2.0**attempt)

    def backoff(self, attempt: int) -> float:
        """Full-jitter backoff: uniform in [0, ceiling(attempt))."""
        return self.random() * self.ceiling(attempt)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based).

        A positive Retry-After is honoured plus a little jitter; a zero or missing one
        falls back to the short full-jitter backoff of that attempt.
        """
        if retry_after is not None and retry_after > 0:
            return retry_after + self.random() * self.retry_after_jitter
        return self.backoff(attempt)


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    Returns None when the header is missing or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(http_date: str, now: dt.datetime | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now if now is not None else dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())
