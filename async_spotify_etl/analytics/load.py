"""Load a pull's NDJSON into typed, keyed DuckDB tables with DuckDB's own JSON reader.

Every table is created or replaced in one transaction, so loading twice gives the same
database, and a pull in progress contributes only its committed records. A dataset (a
directory with ``dataset.json``) is loaded by :mod:`.dataset`, with the same SQL; the
tables themselves are defined in :mod:`.schema`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from ..core.errors import ConfigurationError
from ..output.dataset import is_dataset
from ..output.reader import PullFiles, committed_copies, find_pull_files
from . import dataset
from .origin import duckdb_origin, origin_of, record_duckdb, replaces
from .schema import (
    DROP_DATASET_TABLES,
    POPULARITY_VIEWS,
    TABLES,
    LoadResult,
    count_rows,
    create_sources,
    create_views,
    drop_sources,
    fill_tables,
    first_line,
)

log = logging.getLogger(__name__)


def load_into(con: duckdb.DuckDBPyConnection, out_dir: Path, *, fresh: bool = False) -> LoadResult:
    """Create or replace the tables in ``con`` from the pull or dataset in ``out_dir``, in
    one transaction; ``fresh``: a dataset's load drops what the file held first."""
    if is_dataset(out_dir):
        return dataset.load_dataset(con, out_dir, fresh=fresh)
    return _load(con, find_pull_files(out_dir))


def check_source(out_dir: Path) -> None:
    """Fail with one line unless ``out_dir`` holds a pull or a dataset (before any work)."""
    if is_dataset(out_dir):
        dataset.read_index(out_dir)
    else:
        find_pull_files(out_dir)


def load_pull(out_dir: Path, database: Path) -> LoadResult:
    """Load the pull or dataset in ``out_dir`` into the DuckDB file ``database`` (created if
    needed); a dataset's load adds only the runs the file does not hold yet. A file that
    holds another source has every table replaced, in one line (:mod:`.origin`)."""
    check_source(out_dir)  # a bad directory fails before the database is created
    if database.is_dir():
        raise ConfigurationError(f"{database} is a directory, not a DuckDB file")
    if not database.parent.is_dir():
        raise ConfigurationError(f"cannot create {database}: {database.parent} does not exist")
    try:
        con = duckdb.connect(str(database))
    except duckdb.Error as exc:
        raise ConfigurationError(f"cannot open {database}: {first_line(exc)}") from exc
    with con:
        origin = origin_of(out_dir)
        fresh = replaces(str(database), duckdb_origin(con), origin)
        result = load_into(con, out_dir, fresh=fresh)
        record_duckdb(con, origin)
    log.info("loaded %s into %s", result.summary(), database)
    return result


def _load(con: duckdb.DuckDBPyConnection, files: PullFiles) -> LoadResult:
    try:
        with committed_copies(files) as paths:
            con.execute("BEGIN TRANSACTION")
            try:
                create_sources(con, [(None, paths)])
                con.execute(DROP_DATASET_TABLES)
                fill_tables(con)
                create_views(con, POPULARITY_VIEWS)
                drop_sources(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
    except duckdb.Error as exc:
        raise ConfigurationError(f"cannot load {files.out_dir}: {first_line(exc)}") from exc
    counts = {table: count_rows(con, table) for table in TABLES}
    return LoadResult(counts, files.in_progress)
