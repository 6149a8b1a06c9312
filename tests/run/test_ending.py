"""One classification of how a run ends: manifest status, exit code and the hint agree."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from async_spotify_etl.core.errors import (
    AuthenticationError,
    ConfigurationError,
    QuotaExceededError,
    ServerError,
    UnauthorizedError,
)
from async_spotify_etl.core.errors import render as render_template
from async_spotify_etl.run.ending import (
    EXIT_AUTH,
    EXIT_FAILURES,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RESUMABLE,
    EXIT_USAGE,
    ending_of,
)

LATER = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("error", "failed", "status", "code", "resumable"),
    [
        (None, 0, "complete", EXIT_OK, False),
        (None, 3, "complete", EXIT_FAILURES, False),
        (KeyboardInterrupt(), 0, "interrupted", EXIT_INTERRUPTED, True),
        (asyncio.CancelledError(), 0, "interrupted", EXIT_INTERRUPTED, True),
        (QuotaExceededError("quota", 3600.0, LATER), 0, "stopped", EXIT_RESUMABLE, True),
        (ServerError(503, "new-releases", "busy"), 0, "stopped", EXIT_RESUMABLE, True),
        (AuthenticationError("refused"), 0, "failed", EXIT_AUTH, False),
        (UnauthorizedError(401, "albums", "no"), 0, "failed", EXIT_FAILURES, False),
        (ConfigurationError("bad"), 0, "failed", EXIT_USAGE, False),
        (RuntimeError("bug"), 0, "failed", EXIT_FAILURES, False),
    ],
)
def test_each_ending_has_its_status_and_exit_code(
    error: BaseException | None, failed: int, status: str, code: int, resumable: bool
) -> None:
    ending = ending_of(error, failed)
    assert (ending.status, ending.exit_code, ending.resumable) == (status, code, resumable)
    if resumable:
        assert "{resume}" in ending.hint  # the front end names its own way to resume
        assert "--resume" in render_template(ending.hint, {"resume": "--resume"}, {})


def test_failed_albums_are_counted_in_the_hint() -> None:
    assert "3 albums failed for good" in ending_of(None, 3).hint
