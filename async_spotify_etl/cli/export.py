"""``spotify-etl export --parquet DIR OUT_DIR``: a pull's tables as Parquet files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from .load import ANALYTICS_HINT
from .logs import add_log_flags, configured_logging


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``export`` subcommand."""
    parser = sub.add_parser(
        "export",
        help="export a pull's tables as Parquet",
        description="Write each table of the DuckDB load to DIR/<table>/ as Parquet,"
        " time-stamped tables in Hive partitions run_date=YYYY-MM-DD; a table's folder is"
        " replaced whole, so exporting again never duplicates. DIR holds one source"
        " (DIR/_source.json): exporting another pull or dataset replaces every table, the"
        " folders of tables it lacks removed, said in one line on stderr.",
    )
    parser.add_argument("--parquet", required=True, type=Path, metavar="DIR", help="folder")
    parser.add_argument(
        "out_dir", type=Path, metavar="OUT_DIR", help="directory of a pull or dataset"
    )
    add_log_flags(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    # Warnings and errors only: the result is the line on stdout (which --quiet drops).
    with configured_logging(args.log_format, True, "off"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        from ..analytics.parquet import export_parquet
    except ImportError as exc:  # duckdb is an optional dependency
        raise ConfigurationError(f"spotify-etl export needs duckdb; {ANALYTICS_HINT}") from exc
    result = export_parquet(args.out_dir, args.parquet)
    if not args.quiet:
        print(f"exported {result.summary()} to {args.parquet}")
    return 0
