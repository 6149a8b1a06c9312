"""A pull's tables as Parquet files, one folder per table.

It starts from the DuckDB load (:mod:`.load`) into an in-memory database, so every table
and column the DuckDB load has is exported, with its DuckDB type (intervals as seconds).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..core.errors import ConfigurationError
from .load import check_source, load_into
from .origin import lake_record, origin_of, record_lake, replaces
from .schema import DATASET_TABLES, TABLES, describe, first_line, quote

log = logging.getLogger(__name__)

#: Columns of time-stamped tables whose date becomes the Hive partition ``run_date``
#: (a dataset's listings and runs, and its events by their time).
RUN_TIME_COLUMNS = ("run_date", "run_started_at", "started_at", "at")


@dataclass(frozen=True)
class ExportResult:
    counts: dict[str, int]
    partitioned: tuple[str, ...]

    def summary(self) -> str:
        return ", ".join(f"{n} {table}" for table, n in self.counts.items())


def export_parquet(out_dir: Path, dest: Path) -> ExportResult:
    """Write each table of the pull in ``out_dir`` to ``dest/<table>/`` as Parquet;
    time-stamped tables in Hive partitions ``run_date=YYYY-MM-DD``. A table's folder is
    replaced whole, so exporting again never duplicates. The folders of the project's
    tables the source lacks are removed: exporting another source replaces every table,
    in one line (:mod:`.origin`)."""
    check_source(out_dir)
    if dest.exists() and not dest.is_dir():
        raise ConfigurationError(f"{dest} is not a directory")
    if not dest.parent.is_dir():
        raise ConfigurationError(f"cannot create {dest}: {dest.parent} does not exist")
    record, origin = lake_record(dest), origin_of(out_dir)
    con = duckdb.connect()
    with con:
        load_into(con, out_dir)
        replaces(str(dest), record.origin, origin)
        try:
            result = export_tables(con, dest)
            for table in {*TABLES, *DATASET_TABLES, *record.tables} - set(result.counts):
                shutil.rmtree(dest / table, ignore_errors=True)
            record_lake(dest, origin, tuple(result.counts))
        except (duckdb.Error, OSError) as exc:
            raise ConfigurationError(f"cannot export to {dest}: {first_line(exc)}") from exc
    log.info("exported %s to %s", result.summary(), dest)
    return result


def export_tables(con: duckdb.DuckDBPyConnection, dest: Path) -> ExportResult:
    """Export every table of ``con`` (see :func:`export_parquet`)."""
    dest.mkdir(exist_ok=True)
    counts: dict[str, int] = {}
    partitioned = []
    for table in describe(con):
        names = [c.name for c in table.columns]
        run_time = next((n for n in RUN_TIME_COLUMNS if n in names), None)
        folder = dest / table.name
        staging = dest / f".{table.name}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        # Intervals as seconds (DOUBLE): Spark and pyarrow read no Parquet INTERVAL.
        select = ", ".join(
            f"epoch({_ident(c.name)}) AS {_ident(c.name)}"
            if c.duck_type == "INTERVAL"
            else _ident(c.name)
            for c in table.columns
            if c.name != "run_date"
        )
        if run_time is None:
            staging.mkdir()
            target = quote(str(staging / f"{table.name}.parquet"))
            con.execute(
                f"COPY (SELECT {select} FROM {_ident(table.name)}) TO {target} (FORMAT parquet)"
            )
        else:
            con.execute(
                f"COPY (SELECT {select}, CAST({_ident(run_time)} AS DATE) AS run_date"
                f" FROM {_ident(table.name)}) TO {quote(str(staging))}"
                " (FORMAT parquet, PARTITION_BY (run_date))"
            )
            staging.mkdir(exist_ok=True)
            partitioned.append(table.name)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        row = con.execute(f"SELECT count(*) FROM {_ident(table.name)}").fetchone()
        counts[table.name] = int(row[0]) if row else 0
    return ExportResult(counts, tuple(partitioned))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
