"""Timestamps as every file of a pull writes them: UTC, ISO-8601, microseconds, a ``Z``."""

from __future__ import annotations

import datetime as dt


def now_iso() -> str:
    """The current UTC time as ISO-8601 with a ``Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
