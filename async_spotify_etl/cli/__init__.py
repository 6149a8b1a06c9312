"""The ``spotify-etl`` command: a thin ``main(argv) -> int`` over the library.

Each subcommand lives in its own module with a ``register(subparsers)`` function that
adds its parser and sets ``handler`` (``Namespace -> int``). Handlers turn arguments into
settings objects and call the library; they never print tracebacks.

Start-up time is part of every run, so this package imports little: a subcommand's flags
are added only when that subcommand is parsed (``arguments=`` of ``add_parser``), and its
handler imports the library (aiohttp, rich, the sandbox, duckdb) only when it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, NoReturn

from .._version import __version__
from ..core.errors import SettingsError, SpotifyETLError
from ..run.ending import EXIT_INTERRUPTED, EXIT_USAGE, ending_of
from . import events, export, load, pull, report, sandbox, watch
from .logs import command_line, say
from .pull.flags import SETTING_FLAGS

log = logging.getLogger(__name__)

#: The format of the line a usage error is reported in: the command line's --log-format.
_usage_format: ContextVar[str] = ContextVar("usage_format", default="text")


_Register = Callable[["argparse._SubParsersAction[_Parser]"], None]
#: Each subcommand module's ``register``; the order is the order of ``--help``.
_COMMANDS: tuple[_Register, ...] = (
    pull.register,
    watch.register,
    events.register,
    load.register,
    export.register,
    report.register,
    sandbox.register,
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit 2, and whose flags may be
    added on first use: ``arguments`` is called with the parser before it first parses."""

    def __init__(
        self,
        *args: Any,
        arguments: Callable[[argparse.ArgumentParser], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._arguments = arguments

    # One signature for typeshed's three overloads; it accepts all their arguments.
    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        if self._arguments is not None:
            add, self._arguments = self._arguments, None
            add(self)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        # One prefix for every error of every command; the subcommand is in the hint.
        text = f"{message} (see {self.prog} --help)"
        line = command_line(_usage_format.get(), "error", text, label="error", exit_code=EXIT_USAGE)
        self.exit(EXIT_USAGE, line + "\n")


class _FormatOnly(argparse.ArgumentParser):
    """Reads --log-format alone, so usage errors about the rest come in that format."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def log_format_of(argv: Sequence[str]) -> str:
    """The ``--log-format`` that ``argv`` asks for, ``text`` if none or one that cannot be
    read (then the usage error about it is plain text)."""
    parser = _FormatOnly(add_help=False)
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    try:
        known, _ = parser.parse_known_args(argv)
    except ValueError:
        return "text"
    return str(known.log_format)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = _Parser(
        prog="spotify-etl",
        description="Pull Spotify's new album releases and all their tracks into NDJSON.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for register in _COMMANDS:
        register(sub)
    return parser


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an error that ended a command."""
    return ending_of(exc).exit_code


def describe(exc: SpotifyETLError) -> str:
    """The error's message, with the settings it names spelled as their flags."""
    if isinstance(exc, SettingsError):
        return exc.render(SETTING_FLAGS)
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the subcommand, and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    reset = _usage_format.set(log_format_of(argv))
    try:
        args = build_parser().parse_args(argv)
    finally:
        _usage_format.reset(reset)
    fmt = getattr(args, "log_format", "text")
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        say(fmt, "warning", "interrupted", exit_code=EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except SpotifyETLError as exc:
        code = exit_code_for(exc)
        say(fmt, "error", describe(exc), label="error", exit_code=code)
        return code
    except OSError as exc:  # the machine, not the API: a disk, a permission, a descriptor
        where = f" ({exc.filename})" if exc.filename else ""
        say(fmt, "error", f"{exc.strerror or exc}{where}", label="error", exit_code=EXIT_USAGE)
        return EXIT_USAGE
    return code


def console_script() -> None:
    """Console-script entry point."""
    sys.exit(main())
