"""``spotify-etl load``: a pull's NDJSON into DuckDB tables, or merged into PostgreSQL."""

from __future__ import annotations

import argparse
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from .logs import add_log_flags, configured_logging, say

ANALYTICS_HINT = "install the analytics extra: pip install 'async-spotify-etl[analytics]'"
#: The environment variable read when ``--postgres`` is given without a URL.
DATABASE_URL = "DATABASE_URL"
#: The PostgreSQL schema ``load --postgres`` merges into.
DEFAULT_SCHEMA = "spotify"
#: A schema name the PostgreSQL load accepts (unquoted, so never a keyword's case trick).
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``load`` subcommand."""
    parser = sub.add_parser(
        "load",
        help="load a pull's NDJSON into DuckDB or PostgreSQL",
        description="Create or replace the tables albums, tracks, artists, artist_genres,"
        " album_artists, track_artists, album_markets and errors, the enrichment tables"
        " deezer_albums, deezer_tracks, deezer_artists, musicbrainz_releases and album_genres"
        " (empty without --enrich files) and the views album_popularity, artist_popularity"
        " and track_popularity in a DuckDB file from the pull in OUT_DIR"
        " (only committed records of a pull in progress), or merge them into a PostgreSQL"
        " schema in one transaction (records upserted by id). On a dataset (pull --dataset)"
        " the tables span its runs, with artist_snapshots, deezer_artist_snapshots, listings,"
        " runs, events and the view"
        " album_presence; loading a DuckDB file again reads only the runs it lacks. A DuckDB"
        " file holds one source: loading another pull or dataset replaces every table,"
        " said in one line on stderr.",
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
    parser.add_argument(
        "--schema",
        metavar="NAME",
        help=f"PostgreSQL schema, with --postgres only (default: {DEFAULT_SCHEMA})",
    )
    parser.add_argument(
        "out_dir", type=Path, nargs="?", metavar="OUT_DIR", help="directory of a pull or dataset"
    )
    add_log_flags(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.duckdb is not None and args.schema is not None:
        raise ConfigurationError("--schema names a PostgreSQL schema: use it with --postgres")
    # Warnings and errors only: the result is the line on stdout (which --quiet drops).
    with configured_logging(args.log_format, True, "off"):
        return _load(args)


def _load(args: argparse.Namespace) -> int:
    try:
        from ..analytics.load import load_pull
        from ..analytics.postgres import load_postgres
    except ImportError as exc:  # duckdb is an optional dependency
        raise ConfigurationError(f"spotify-etl load needs duckdb; {ANALYTICS_HINT}") from exc
    url, out_dir = args.postgres, args.out_dir
    if out_dir is None and url and "://" not in url and "=" not in url:
        url, out_dir = "", Path(url)  # `--postgres OUT_DIR`: the URL comes from the environment
    if out_dir is None:
        raise ConfigurationError("load needs OUT_DIR, the directory of a pull or dataset")
    if args.duckdb is not None:
        result = load_pull(out_dir, args.duckdb)
        _warn_if_killed(out_dir, args.log_format)
        if not args.quiet:
            print(f"loaded {result.summary()} into {args.duckdb}")
        return 0
    url = url or os.environ.get(DATABASE_URL, "")
    if not url:
        raise ConfigurationError(f"--postgres needs a URL or ${DATABASE_URL}")
    schema = DEFAULT_SCHEMA if args.schema is None else args.schema
    if not SCHEMA_NAME.match(schema):
        raise ConfigurationError(
            f"--schema {schema!r} is not a schema name: it starts with a lower-case letter or _"
            " and holds only lower-case letters, digits and _ (63 at most)"
        )
    result = load_postgres(out_dir, url, schema)
    _warn_if_killed(out_dir, args.log_format)
    if not args.quiet:
        print(f"merged {result.summary()} into PostgreSQL schema {schema}")
    return 0


def _warn_if_killed(out_dir: Path, fmt: str) -> None:
    """One line on stderr when the pull loaded was killed (its manifest says running and no
    process writes it): what was loaded is what it committed, and a resume finishes it."""
    from ..output.manifest import KILLED, read_manifest

    manifest = read_manifest(out_dir)
    if manifest is None or manifest.observed(out_dir).status != KILLED:
        return
    command = resume_command(out_dir, manifest.arguments)
    say(
        fmt,
        "warning",
        f"the pull in {out_dir} was killed before it finished: loaded what it committed;"
        f" finish it with {command}",
        label="warning",
    )


def resume_command(out_dir: Path, arguments: Mapping[str, Any]) -> str:
    """The ``spotify-etl pull --resume`` line that finishes the pull in ``out_dir``, from the
    arguments its manifest recorded: the same markets and plan, and on a sandbox pull
    ``--sandbox`` with the options that differ from their defaults (the seed among them)."""
    from .pull.flags import SANDBOX_DEFAULTS, SANDBOX_FLAGS, SETTING_FLAGS

    words = ["spotify-etl", "pull"]
    sandbox = arguments.get("sandbox")
    if isinstance(sandbox, Mapping):
        words.append("--sandbox")
        for option, flag in SANDBOX_FLAGS.items():
            value = sandbox.get(option, SANDBOX_DEFAULTS.get(option))
            if value != SANDBOX_DEFAULTS.get(option):
                words += [flag, "0" if value is None else str(value)]  # None: no limit
    markets = arguments.get("markets")
    if isinstance(markets, list) and markets:
        words += [SETTING_FLAGS["markets"], ",".join(map(str, markets))]
    for field, default in _PLAN_DEFAULTS.items():
        value = arguments.get(field, default)
        if value != default and value is not None:
            words += [SETTING_FLAGS[field], str(value)]
    words += [SETTING_FLAGS["resume"], SETTING_FLAGS["out"], str(out_dir)]
    return shlex.join(words)


#: The plan's settings a resume must repeat when they differ from these (``pull``'s defaults).
_PLAN_DEFAULTS: dict[str, Any] = {
    "source": "auto",
    "ids_file": None,
    "expand": "auto",
    "artists": "auto",
    "max_albums": None,
    "compress": "none",
}
