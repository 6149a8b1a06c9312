"""A pull's tables into PostgreSQL: a merge, in one transaction.

It starts from the DuckDB load (:mod:`.load`) into an in-memory database, so every table
and column the DuckDB load has comes along, with the types mapped and the keys read from
DuckDB's own constraints (:func:`.schema.describe`). The rows go by ``COPY`` into a staging
table, then an upsert by primary key: loading the same pull twice, or a later pull over an
earlier one, leaves every record once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from ..core.conninfo import redact_conninfo
from ..core.errors import ConfigurationError
from .load import check_source, load_into
from .schema import (
    FOREIGN_KEYS,
    POPULARITY_VIEWS,
    VIEWS,
    Column,
    LoadResult,
    Table,
    describe,
    first_line,
)

log = logging.getLogger(__name__)

#: Bumped when the tables change shape; a newer tool migrates an older schema (additively:
#: missing tables, columns and indexes are created), an older tool refuses a newer one.
SCHEMA_VERSION = 3
VERSION_TABLE = "schema_version"

#: Indexes for the documented queries (docs/analytics.md): joins by artist, filters by date.
INDEXES = (
    ("tracks", "album_id"),
    ("album_artists", "artist_id"),
    ("track_artists", "artist_id"),
    ("album_markets", "market"),
    ("albums", "release_date"),
    ("artist_genres", "genre"),
    ("listings", "album_id"),
    ("events", "album_id"),
    ("artist_snapshots", "artist_id"),
    ("album_genres", "genre"),
    ("deezer_tracks", "album_id"),
)

_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "BOOLEAN": "boolean",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "JSON": "jsonb",
}
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def pg_type(duck_type: str) -> str:
    """The PostgreSQL type of a DuckDB type: lists of simple types become arrays, nested
    values (structs, maps, lists of structs) ``jsonb``."""
    if duck_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[duck_type]
    if duck_type.endswith("[]") and duck_type[:-2] in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[duck_type[:-2]] + "[]"
    return "jsonb"


def redact(url: str) -> str:
    """``url`` with its password, in URL or ``key=value`` form, replaced by ``***``."""
    url = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url, flags=re.I)


def load_postgres(out_dir: Path, url: str, schema: str = "spotify") -> LoadResult:
    """Merge the pull in ``out_dir`` into the PostgreSQL database at ``url``, under
    ``schema``, in one transaction; the database is unchanged if anything fails."""
    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(
            f"bad schema name {schema!r}: use lower-case letters, digits and _"
        )
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigurationError(
            "spotify-etl load --postgres needs psycopg;"
            " install the postgres extra: pip install 'async-spotify-etl[postgres]'"
        ) from exc
    check_source(out_dir)
    con = duckdb.connect()
    with con:
        loaded = load_into(con, out_dir)
        tables = describe(con)
        try:
            with psycopg.connect(url, autocommit=False) as pg:
                with pg.transaction():
                    _prepare(pg, schema, tables)
                    for table in tables:
                        _merge(con, pg, schema, table)
                    _create_views(pg, schema, {t.name for t in tables})
                counts = {t.name: _pg_count(pg, schema, t.name) for t in tables}
        except psycopg.Error as exc:
            # libpq repeats the token it could not parse, a password's words included (#24.3)
            message = redact_conninfo(redact(first_line(exc)), url)
            raise ConfigurationError(f"cannot load into PostgreSQL: {message}") from None
    log.info("merged %s into PostgreSQL %s, schema %s", loaded.summary(), redact(url), schema)
    return LoadResult({**loaded.counts, **counts}, loaded.in_progress)


def _ident(*parts: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def _is_json(column: Column) -> bool:
    return pg_type(column.duck_type) == "jsonb"


def _prepare(pg: Any, schema: str, tables: list[Table]) -> None:
    """Create or migrate ``schema``; refuse one written by a newer tool."""
    # One loader at a time per schema, taken before the schema is created: two first loads
    # racing on CREATE SCHEMA IF NOT EXISTS both insert it (#23.11). The lock ends with the
    # transaction.
    pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"spotify-etl:{schema}"])
    pg.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
    version_table = _ident(schema, VERSION_TABLE)
    pg.execute(f"CREATE TABLE IF NOT EXISTS {version_table} (version integer NOT NULL)")
    row = pg.execute(f"SELECT max(version) FROM {version_table}").fetchone()
    found = row[0] if row else None
    if found is not None and found > SCHEMA_VERSION:
        raise ConfigurationError(
            f"schema {schema} has version {found}, newer than this tool's {SCHEMA_VERSION}:"
            " upgrade async-spotify-etl"
        )
    names = {t.name for t in tables}
    for table in tables:
        columns = ", ".join(f"{_ident(c.name)} {pg_type(c.duck_type)}" for c in table.columns)
        key = f", PRIMARY KEY ({', '.join(map(_ident, table.key))})" if table.key else ""
        pg.execute(f"CREATE TABLE IF NOT EXISTS {_ident(schema, table.name)} ({columns}{key})")
        for column in table.columns:  # migration: columns added since the schema was made
            pg.execute(
                f"ALTER TABLE {_ident(schema, table.name)}"
                f" ADD COLUMN IF NOT EXISTS {_ident(column.name)} {pg_type(column.duck_type)}"
            )
    for child, key_column, parent in FOREIGN_KEYS:
        if child in names and parent in names:
            name = f"{child}_{key_column}_fkey"
            exists = pg.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = %s"
                " AND connamespace = %s::regnamespace",
                [name, schema],
            ).fetchone()
            if not exists:
                pg.execute(
                    f"ALTER TABLE {_ident(schema, child)} ADD CONSTRAINT {_ident(name)}"
                    f" FOREIGN KEY ({_ident(key_column)}) REFERENCES {_ident(schema, parent)}"
                    " DEFERRABLE INITIALLY DEFERRED"
                )
    for indexed, by in INDEXES:
        if indexed in names:
            pg.execute(
                f"CREATE INDEX IF NOT EXISTS {_ident(f'{indexed}_{by}_idx')}"
                f" ON {_ident(schema, indexed)} ({_ident(by)})"
            )
    if found != SCHEMA_VERSION:
        pg.execute(f"DELETE FROM {version_table}")
        pg.execute(f"INSERT INTO {version_table} VALUES (%s)", [SCHEMA_VERSION])


def _merge(con: duckdb.DuckDBPyConnection, pg: Any, schema: str, table: Table) -> None:
    """COPY ``table`` into a staging table, then upsert it by key (rows without a key are
    added unless an equal row is there)."""
    stage = _ident(f"_stage_{table.name}")
    names = [c.name for c in table.columns]
    cols = ", ".join(map(_ident, names))
    pg.execute(f"CREATE TEMP TABLE {stage} (LIKE {_ident(schema, table.name)}) ON COMMIT DROP")
    with pg.cursor().copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
        copy.set_types([pg_type(c.duck_type) for c in table.columns])
        for row in _rows(con, table):
            copy.write_row(row)
    target = _ident(schema, table.name)
    if table.key:
        rest = [n for n in names if n not in table.key]
        update = (
            "DO UPDATE SET "
            + ", ".join(f"{_ident(n)} = EXCLUDED.{_ident(n)}" for n in rest)
            + f" WHERE ({', '.join(f'{target}.{_ident(n)}' for n in rest)})"
            f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{_ident(n)}' for n in rest)})"
            if rest
            else "DO NOTHING"
        )
        keys = ", ".join(map(_ident, table.key))
        parent = _parent_key(table)
        if parent is not None:  # the records of a re-sent parent are its new ones only
            same = " AND ".join(f"s.{_ident(k)} = t.{_ident(k)}" for k in table.key)
            pg.execute(
                f"DELETE FROM {target} t WHERE t.{_ident(parent)} IN"
                f" (SELECT {_ident(parent)} FROM {stage})"
                f" AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {same})"
            )
        pg.execute(
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage}"
            f" ON CONFLICT ({keys}) {update}"
        )
    else:
        pg.execute(
            f"INSERT INTO {target} ({cols}) SELECT DISTINCT {cols} FROM {stage} s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE"
            f" ({', '.join(f't.{_ident(n)}' for n in names)})"
            f" IS NOT DISTINCT FROM ({', '.join(f's.{_ident(n)}' for n in names)}))"
        )


def _create_views(pg: Any, schema: str, tables: set[str]) -> None:
    """The DuckDB load's views over the merged tables: the popularity views always, a
    dataset's ``album_presence`` where the schema holds a dataset's listings."""
    pg.execute(f"SET LOCAL search_path TO {_ident(schema)}")
    views = {**POPULARITY_VIEWS, **(VIEWS if "listings" in tables else {})}
    for name, sql in views.items():
        pg.execute(f"CREATE OR REPLACE VIEW {_ident(schema, name)} AS {sql}")


def _parent_key(table: Table) -> str | None:
    """The first key column of a link table when it refers to a parent (album_artists'
    album_id): the parent's rows in a load replace its earlier ones."""
    if len(table.key) < 2:
        return None
    first = table.key[0]
    return first if any(t == table.name and c == first for t, c, _ in FOREIGN_KEYS) else None


def _rows(con: duckdb.DuckDBPyConnection, table: Table) -> Iterator[tuple[Any, ...]]:
    select = ", ".join(
        f"to_json({_ident(c.name)})::VARCHAR" if _is_json(c) else _ident(c.name)
        for c in table.columns
    )
    result = con.execute(f"SELECT {select} FROM {_ident(table.name)}")
    while batch := result.fetchmany(10_000):
        yield from batch


def _pg_count(pg: Any, schema: str, table: str) -> int:
    row = pg.execute(f"SELECT count(*) FROM {_ident(schema, table)}").fetchone()
    return int(row[0]) if row else 0
