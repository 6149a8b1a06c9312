"""Log output of a command: text or JSON lines on stderr, above a live progress bar.

rich is imported only for the bar, so other runs do not pay for it at start-up.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from rich.console import Console

_PACKAGE = "async_spotify_etl"


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry = {
            "at": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return orjson.dumps(entry).decode()


@contextmanager
def configured_logging(fmt: str, quiet: bool, progress: str) -> Iterator[Console | None]:
    """Route the package's log records to stderr while the block runs; yield the console
    a progress bar should share with them (None unless ``progress`` is ``"bar"``)."""
    console: Console | None = None
    handler: logging.Handler
    if progress == "bar":
        from rich.console import Console

        console = Console(stderr=True)
    if console is not None and fmt == "text":
        from rich.logging import RichHandler

        handler = RichHandler(console=console, show_path=False, show_time=False)
    else:
        handler = logging.StreamHandler()
        text = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
        handler.setFormatter(JSONFormatter() if fmt == "json" else text)
    logger = logging.getLogger(_PACKAGE)
    previous = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    try:
        yield console
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]
