"""Which source a DuckDB file or a Parquet lake holds, and the one rule about changing it.

A target records the pull or dataset it was last loaded or exported from: its resolved path
and whether it is a dataset or a pull (a DuckDB file in the table ``_spotify_etl.source``, a
lake in ``DIR/_source.json``). Loading or exporting the same source again is an ordinary
refresh (a dataset's load reads the runs the file lacks). A different source replaces every
table the project owns, the dataset-only ones dropped, never left stale, and says so in one
line on stderr: ``lake: replacing the tables of /x/ds1 (a dataset) with /x/pull2 (a pull)``.
A target from before the record existed counts as holding a pull, or a dataset if it has a
``runs`` table, of an unrecorded path.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson

from ..core.files import atomic_write
from ..output.dataset import is_dataset

log = logging.getLogger(__name__)

#: The DuckDB schema and table of the record (outside ``main``: not one of the tables).
RECORD_SCHEMA = "_spotify_etl"
RECORD_TABLE = f"{RECORD_SCHEMA}.source"
#: The record's file in a Parquet lake (``_``: Spark, Hive and pyarrow skip it).
LAKE_RECORD = "_source.json"
DATASET, PULL = "dataset", "pull"
#: A table's name, as a lake's record may list it (never a path: nothing outside the lake).
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Origin:
    """A source of tables: its resolved path (None: not recorded) and its kind."""

    path: str | None
    kind: str

    def __str__(self) -> str:
        where = self.path if self.path is not None else "an unrecorded folder"
        return f"{where} (a {self.kind})"


def origin_of(out_dir: Path) -> Origin:
    """The origin the pull or dataset in ``out_dir`` gives a target."""
    return Origin(str(out_dir.resolve()), DATASET if is_dataset(out_dir) else PULL)


def replaces(target: str, held: Origin | None, new: Origin) -> bool:
    """Whether loading ``new`` into a target holding ``held`` replaces every table (a
    different source, or the same path now of another kind); says so in one line. An
    unrecorded path of the same kind counts as the same source."""
    if held is None or held == new or (held.path is None and held.kind == new.kind):
        return False
    log.warning("%s: replacing the tables of %s with %s", target, held, new)
    return True


def duckdb_origin(con: duckdb.DuckDBPyConnection) -> Origin | None:
    """The source the DuckDB file of ``con`` holds; None if it holds no tables yet."""
    tables = {
        (schema, name)
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()"
            " WHERE database_name = current_database() AND NOT temporary"
        ).fetchall()
    }
    if (RECORD_SCHEMA, "source") in tables:
        row = con.execute(f"SELECT path, kind FROM {RECORD_TABLE}").fetchone()
        if row is not None:
            return Origin(str(row[0]), str(row[1]))
    if ("main", "runs") in tables:
        return Origin(None, DATASET)
    if ("main", "albums") in tables:
        return Origin(None, PULL)
    return None


def record_duckdb(con: duckdb.DuckDBPyConnection, origin: Origin) -> None:
    """Record ``origin`` as the source the DuckDB file of ``con`` holds."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RECORD_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {RECORD_TABLE} (path VARCHAR, kind VARCHAR)")
    con.execute(f"INSERT INTO {RECORD_TABLE} VALUES (?, ?)", [origin.path, origin.kind])


@dataclass(frozen=True)
class LakeRecord:
    """What a lake's record says: its source and the tables the export wrote."""

    origin: Origin | None
    tables: tuple[str, ...]


def lake_record(dest: Path) -> LakeRecord:
    """The record of the lake in ``dest`` (a record damaged by hand counts as absent)."""
    try:
        data = orjson.loads((dest / LAKE_RECORD).read_bytes())
        origin = Origin(str(data["source"]), str(data["kind"]))
        tables = tuple(t for t in data["tables"] if isinstance(t, str) and _TABLE_NAME.fullmatch(t))
        return LakeRecord(origin, tables)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        pass
    if (dest / "runs").is_dir():
        return LakeRecord(Origin(None, DATASET), ())
    if (dest / "albums").is_dir():
        return LakeRecord(Origin(None, PULL), ())
    return LakeRecord(None, ())


def record_lake(dest: Path, origin: Origin, tables: tuple[str, ...]) -> None:
    """Record ``origin`` and the tables exported as what the lake in ``dest`` holds."""
    data = {"source": origin.path, "kind": origin.kind, "tables": list(tables)}
    atomic_write(dest / LAKE_RECORD, orjson.dumps(data, option=orjson.OPT_INDENT_2))
