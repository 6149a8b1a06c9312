"""What a pull shows while it runs: a :class:`Snapshot` of its numbers, read on demand.

The library renders nothing: :func:`~.pull.run_pull` takes a ``progress`` factory that
gets the snapshot function and returns a context manager, open while the pull runs (the
command line's bar and log lines are ``cli/progress.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Snapshot:
    """The numbers the progress display shows, read at one moment."""

    found: int
    done: int
    tracks: int
    failed: int
    requests: int
    waited_seconds: float


#: Given the function that reads a :class:`Snapshot`, a context manager open while a pull
#: runs (in the running loop, so it may arm timers there).
Progress = Callable[[Callable[[], Snapshot]], AbstractContextManager[Any]]
