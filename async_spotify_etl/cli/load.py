"""``spotify-etl load``: a pull's NDJSON into DuckDB tables, or merged into PostgreSQL."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from .logs import say

ANALYTICS_HINT = "install the analytics extra: pip install 'async-spotify-etl[analytics]'"
#: The environment variable read when ``--postgres`` is given without a URL.
DATABASE_URL = "DATABASE_URL"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``load`` subcommand."""
    parser = sub.add_parser(
        "load",
        help="load a pull's NDJSON into DuckDB or PostgreSQL",
        description="Create or replace the tables albums, tracks, artists, album_artists,"
        " track_artists, album_markets and errors in a DuckDB file from the pull in OUT_DIR"
        " (only committed records of a pull in progress), or merge them into a PostgreSQL"
        " schema in one transaction (records upserted by id). On a dataset (pull --dataset)"
        " the tables span its runs, with artist_snapshots, listings, runs, events and the view"
        " album_presence; loading a DuckDB file again reads only the runs it lacks.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--duckdb", type=Path, metavar="FILE", help="database")
    target.add_argument(
        "--postgres",
        nargs="?",
        const="",
        metavar="URL",
        help=f"postgresql://USER@HOST:PORT/DB (default: ${DATABASE_URL}); prefer"
        " PGPASSWORD or ~/.pgpass to a password in the URL",
    )
    parser.add_argument("--schema", default="spotify", help="PostgreSQL schema (default: spotify)")
    parser.add_argument(
        "out_dir", type=Path, nargs="?", metavar="OUT_DIR", help="directory of a pull or dataset"
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    try:
        from ..analytics.load import load_pull
        from ..analytics.warehouse import load_postgres
    except ImportError as exc:  # duckdb is an optional dependency
        raise ConfigurationError(f"spotify-etl load needs duckdb; {ANALYTICS_HINT}") from exc
    url, out_dir = args.postgres, args.out_dir
    if out_dir is None and url and "://" not in url and "=" not in url:
        url, out_dir = "", Path(url)  # `--postgres OUT_DIR`: the URL comes from the environment
    if out_dir is None:
        raise ConfigurationError("load needs OUT_DIR, the directory of a pull or dataset")
    if args.duckdb is not None:
        result = load_pull(out_dir, args.duckdb)
        _warn_if_killed(out_dir)
        print(f"loaded {result.summary()} into {args.duckdb}")
        return 0
    url = url or os.environ.get(DATABASE_URL, "")
    if not url:
        raise ConfigurationError(f"--postgres needs a URL or ${DATABASE_URL}")
    result = load_postgres(out_dir, url, args.schema)
    _warn_if_killed(out_dir)
    print(f"merged {result.summary()} into PostgreSQL schema {args.schema}")
    return 0


def _warn_if_killed(out_dir: Path) -> None:
    """One line on stderr when the pull loaded was killed (its manifest says running and no
    process writes it): what was loaded is what it committed, and a resume finishes it."""
    from ..output.manifest import KILLED, read_manifest

    manifest = read_manifest(out_dir)
    if manifest is None or manifest.observed(out_dir).status != KILLED:
        return
    say(
        "text",
        "warning",
        f"the pull in {out_dir} was killed before it finished: loaded what it committed;"
        f" finish it with spotify-etl pull --resume --out {shlex.quote(str(out_dir))}",
        label="warning",
    )
