"""``spotify-etl load --duckdb FILE OUT_DIR``: a pull's NDJSON into DuckDB tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError

ANALYTICS_HINT = "install the analytics extra: pip install 'async-spotify-etl[analytics]'"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``load`` subcommand."""
    parser = sub.add_parser(
        "load",
        help="load a pull's NDJSON into a DuckDB database",
        description="Create or replace the tables albums, tracks, artists, album_artists,"
        " track_artists, album_markets and errors in a DuckDB file from the pull in OUT_DIR"
        " (only committed records of a pull in progress).",
    )
    parser.add_argument("--duckdb", required=True, type=Path, metavar="FILE", help="database")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="directory of a pull")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    try:
        from ..analytics.load import load_pull
    except ImportError as exc:  # duckdb is an optional dependency
        raise ConfigurationError(f"spotify-etl load needs duckdb; {ANALYTICS_HINT}") from exc
    result = load_pull(args.out_dir, args.duckdb)
    print(f"loaded {result.summary()} into {args.duckdb}")
    return 0
