"""How a run ends: its manifest status, its exit code and the one line that says what next.

One classification, used by :func:`run_pull` for the manifest and by the CLI for the exit
code and the last line on stderr, so the two never disagree. Hints name settings as
``{field}`` placeholders (see :class:`SettingsError`): a front end spells them its way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..core.errors import (
    AuthenticationError,
    BudgetSpentError,
    ConfigurationError,
    ResumableStop,
    UnreachableHostError,
    is_transient,
)
from ..output.manifest import PullStatus

EXIT_OK = 0
#: Some albums or artists failed for good (their lines are in errors.ndjson), or an
#: unexpected error.
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
#: Stopped on purpose, resumably: a long Retry-After, a quota, an API that kept failing.
EXIT_RESUMABLE = 75
EXIT_INTERRUPTED = 130


_AGAIN = "run the same pull again with {resume}"


@dataclass(frozen=True)
class Ending:
    """How a run ended. ``hint`` is a template (settings as ``{field}``), empty if none."""

    status: PullStatus
    exit_code: int
    hint: str = ""

    @property
    def resumable(self) -> bool:
        return self.status in ("stopped", "interrupted")


def ending_of(error: BaseException | None, failed: int = 0, failed_artists: int = 0) -> Ending:
    """The ending of a run that raised ``error`` (None: it finished) with ``failed`` albums
    and ``failed_artists`` artists that failed for good."""
    if error is None:
        lost = [f"{n} {what}" for n, what in ((failed, "albums"), (failed_artists, "artists")) if n]
        if lost:
            return Ending("complete", EXIT_FAILURES, f"{' and '.join(lost)} failed for good")
        return Ending("complete", EXIT_OK)
    if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
        return Ending("interrupted", EXIT_INTERRUPTED, f"{_AGAIN} to finish")
    if isinstance(error, BudgetSpentError):
        return Ending("stopped", EXIT_RESUMABLE, f"{_AGAIN} to go on")
    if isinstance(error, ResumableStop):
        return Ending("stopped", EXIT_RESUMABLE, f"then {_AGAIN}")
    if isinstance(error, UnreachableHostError):
        return Ending("stopped", EXIT_RESUMABLE, f"{_AGAIN} when the host can be reached")
    if is_transient(error):  # the API kept failing: resume when it answers again
        return Ending("stopped", EXIT_RESUMABLE, f"{_AGAIN} when the API answers again")
    if isinstance(error, AuthenticationError):
        return Ending("failed", EXIT_AUTH)
    if isinstance(error, ConfigurationError):
        return Ending("failed", EXIT_USAGE)
    return Ending("failed", EXIT_FAILURES)
