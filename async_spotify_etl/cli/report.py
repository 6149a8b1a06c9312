"""``spotify-etl report OUT_DIR [--html FILE]``: a self-contained HTML page of charts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from .load import ANALYTICS_HINT
from .logs import add_log_flags, configured_logging


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``report`` subcommand."""
    parser = sub.add_parser(
        "report",
        help="write an HTML report of charts about a pull",
        description="Write one self-contained HTML file (no network needed to view it) with"
        " charts of the pull in OUT_DIR and its manifest; on a dataset, also its trends over"
        " the runs (entries, time on the list, genre and label share, churn, follower growth).",
    )
    parser.add_argument(
        "out_dir", type=Path, metavar="OUT_DIR", help="directory of a pull or dataset"
    )
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="where to write it (default OUT_DIR/report.html)"
    )
    add_log_flags(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    # Warnings and errors only: the result is the line on stdout (which --quiet drops).
    with configured_logging(args.log_format, True, "off"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        from ..analytics.report import build_report
    except ImportError as exc:  # duckdb and matplotlib are optional dependencies
        raise ConfigurationError(f"spotify-etl report needs {exc.name}; {ANALYTICS_HINT}") from exc
    path = build_report(args.out_dir, args.html)
    if not args.quiet:
        print(f"wrote {path}")
    return 0
