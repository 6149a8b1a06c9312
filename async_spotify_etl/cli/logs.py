"""Log output of a command: text or JSON lines on stderr, above a live progress bar.

With ``--log-format json`` every line on stderr is one JSON object: the log records, and
the command's own lines (its error, stop or hint line, usage errors included) written by
:func:`say`. rich is imported only for the bar, so other runs do not pay for it at start-up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from rich.console import Console

_PACKAGE = "async_spotify_etl"
#: The ``logger`` of the command's own JSON lines (errors, stop and hint lines).
COMMAND = "spotify-etl"


def _json_line(created: float, level: str, logger: str, message: str, **extra: Any) -> str:
    at = dt.datetime.fromtimestamp(created, dt.UTC)
    entry = {
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "level": level,
        "logger": logger,
        "message": message,
        **extra,
    }
    return orjson.dumps(entry).decode()


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        level, message = record.levelname.lower(), record.getMessage()
        return _json_line(record.created, level, record.name, message)


def command_line(fmt: str, level: str, message: str, *, label: str = "", **extra: Any) -> str:
    """One of the command's own lines: ``spotify-etl: [LABEL: ]MESSAGE`` as text, or a JSON
    object like a log record's (``extra``, such as the exit code, added to it)."""
    if fmt == "json":
        return _json_line(time.time(), level, COMMAND, message, **extra)
    return f"{COMMAND}: {label}: {message}" if label else f"{COMMAND}: {message}"


def say(fmt: str, level: str, message: str, *, label: str = "", **extra: Any) -> None:
    """Write one of the command's own lines on stderr (see :func:`command_line`)."""
    print(command_line(fmt, level, message, label=label, **extra), file=sys.stderr)


def add_log_flags(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--log-format`` of ``load``, ``export`` and ``report``, as ``pull``'s:
    stderr holds only warnings and errors, in that format; ``--quiet`` drops the result line."""
    parser.add_argument(
        "--quiet", action="store_true", help="no result line: only warnings and errors"
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="format of every line on stderr; json: one object a line",
    )


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
    # Other libraries' warnings (asyncio's, aiohttp's) would reach stderr as bare text.
    foreign = _json_handler(logging.WARNING) if fmt == "json" else None
    if foreign is not None:
        logging.getLogger().addHandler(foreign)
    try:
        yield console
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]
        if foreign is not None:
            logging.getLogger().removeHandler(foreign)


def _json_handler(level: int) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter())
    handler.setLevel(level)
    return handler
