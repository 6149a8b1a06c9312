"""Load a dataset (``pull --dataset DIR``: one pull directory per run) into DuckDB tables.

The runs listed in ``dataset.json`` are the dataset; a run folder not listed there (one in
progress) is not read. The tables of a single pull's load (:mod:`.schema`) are built from
the runs read, with the same SQL, in a scratch schema, then merged into the main schema:
an album once (the latest fetch wins, with its tracks and credits), an artist once (its
latest snapshot). Beside them: every run's artist snapshots, listings and events, the runs
themselves, and the view ``album_presence``. A file already loaded keeps what it holds:
only runs it has not loaded, or loaded while not complete, are read again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..core.errors import ConfigurationError
from ..output.dataset import EVENTS_NAME, FINAL, INDEX_NAME, LISTINGS_NAME
from ..output.dataset import read_index as index_of
from ..output.reader import PullFiles, committed_copies, find_pull_files
from ..output.sink import COUNTS
from .schema import (
    ALBUM_GENRES_SQL,
    DATASET_SCHEMA,
    DATASET_TABLES,
    DROP_DATASET_TABLES,
    EVENT_COLUMNS,
    LISTING_COLUMNS,
    POPULARITY_VIEWS,
    SCHEMA_IF_ABSENT,
    TABLES,
    VIEWS,
    LoadResult,
    count_rows,
    create_sources,
    create_views,
    drop_sources,
    fill_tables,
    first_line,
    quote,
    read_ndjson,
)

log = logging.getLogger(__name__)

#: Merge the scratch schema ``_batch`` (the runs read) into the main one.
_MERGE = """
CREATE OR REPLACE TEMP TABLE _won AS SELECT b.album_id FROM _batch.albums b
    LEFT JOIN albums m USING (album_id)
    WHERE m.album_id IS NULL OR b.extracted_at >= m.extracted_at
        OR (m.extracted_at IS NULL AND b.extracted_at IS NOT NULL);
DELETE FROM track_artists WHERE track_id IN (
    SELECT track_id FROM tracks WHERE album_id IN (SELECT album_id FROM _won)
    UNION ALL SELECT track_id FROM _batch.tracks WHERE album_id IN (SELECT album_id FROM _won));
DELETE FROM tracks WHERE album_id IN (SELECT album_id FROM _won)
    OR track_id IN (SELECT track_id FROM _batch.tracks
        WHERE album_id IN (SELECT album_id FROM _won));
DELETE FROM album_artists WHERE album_id IN (SELECT album_id FROM _won);
DELETE FROM albums WHERE album_id IN (SELECT album_id FROM _won);
INSERT INTO albums SELECT * FROM _batch.albums WHERE album_id IN (SELECT album_id FROM _won);
INSERT INTO tracks SELECT * FROM _batch.tracks WHERE album_id IN (SELECT album_id FROM _won);
INSERT INTO album_artists SELECT * FROM _batch.album_artists
    WHERE album_id IN (SELECT album_id FROM _won);
INSERT INTO track_artists SELECT ta.* FROM _batch.track_artists ta
    JOIN _batch.tracks t USING (track_id) WHERE t.album_id IN (SELECT album_id FROM _won);
CREATE OR REPLACE TEMP TABLE _artist_won AS SELECT b.artist_id, b.fetched FROM _batch.artists b
    LEFT JOIN artists m USING (artist_id)
    WHERE m.artist_id IS NULL
        OR (b.fetched AND NOT m.fetched)
        OR (b.fetched AND (b.fetched_at >= m.fetched_at OR m.fetched_at IS NULL))
        OR (NOT b.fetched AND NOT m.fetched AND b.name < m.name);
DELETE FROM artist_genres WHERE artist_id IN (SELECT artist_id FROM _artist_won WHERE fetched);
DELETE FROM artists WHERE artist_id IN (SELECT artist_id FROM _artist_won);
INSERT INTO artists SELECT * FROM _batch.artists
    WHERE artist_id IN (SELECT artist_id FROM _artist_won);
INSERT INTO artist_genres SELECT * FROM _batch.artist_genres
    WHERE artist_id IN (SELECT artist_id FROM _artist_won WHERE fetched);
DROP TABLE _won;
DROP TABLE _artist_won;
"""

#: The enrichment rows of the runs read, merged like the rows they describe: an album's
#: Deezer and MusicBrainz match once (the latest look-up wins; Deezer's tracks with its
#: album), an artist's Deezer snapshot once (the latest).
_MERGE_ENRICHED = """
CREATE OR REPLACE TEMP TABLE _dz_won AS SELECT b.album_id FROM _batch.deezer_albums b
    LEFT JOIN deezer_albums m USING (album_id)
    WHERE m.album_id IS NULL OR b.extracted_at >= m.extracted_at OR m.extracted_at IS NULL;
DELETE FROM deezer_tracks WHERE album_id IN (SELECT album_id FROM _dz_won)
    OR track_id IN (SELECT track_id FROM _batch.deezer_tracks
        WHERE album_id IN (SELECT album_id FROM _dz_won));
DELETE FROM deezer_albums WHERE album_id IN (SELECT album_id FROM _dz_won);
INSERT INTO deezer_albums SELECT * FROM _batch.deezer_albums
    WHERE album_id IN (SELECT album_id FROM _dz_won);
INSERT INTO deezer_tracks SELECT * FROM _batch.deezer_tracks
    WHERE album_id IN (SELECT album_id FROM _dz_won);
DELETE FROM musicbrainz_releases WHERE album_id IN (
    SELECT b.album_id FROM _batch.musicbrainz_releases b JOIN musicbrainz_releases m
    USING (album_id) WHERE b.extracted_at >= m.extracted_at OR m.extracted_at IS NULL);
INSERT INTO musicbrainz_releases SELECT * FROM _batch.musicbrainz_releases b
    WHERE NOT EXISTS (SELECT 1 FROM musicbrainz_releases m WHERE m.album_id = b.album_id);
DELETE FROM deezer_artists WHERE artist_id IN (
    SELECT b.artist_id FROM _batch.deezer_artists b JOIN deezer_artists m USING (artist_id)
    WHERE b.fetched_at >= m.fetched_at OR m.fetched_at IS NULL);
INSERT INTO deezer_artists SELECT * FROM _batch.deezer_artists b
    WHERE NOT EXISTS (SELECT 1 FROM deezer_artists m WHERE m.artist_id = b.artist_id);
DROP TABLE _dz_won;
"""

#: The rows of the runs read that are per run: replaced whole for a run read again.
_PER_RUN = """
DELETE FROM errors WHERE run_id IN (SELECT run_id FROM _batch_runs);
INSERT INTO errors SELECT album_id, stage, error, status, message,
    try_cast(coalesce("at", failed_at) AS TIMESTAMPTZ), artist_id, run_id FROM _raw_errors;
DELETE FROM artist_snapshots WHERE run_id IN (SELECT run_id FROM _batch_runs);
INSERT INTO artist_snapshots SELECT run_id, id, popularity, followers.total, genres,
    try_cast(_etl.extracted_at AS TIMESTAMPTZ)
FROM _raw_artists WHERE id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY run_id, id ORDER BY try_cast(_etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST
    ) = 1;
DELETE FROM deezer_artist_snapshots WHERE run_id IN (SELECT run_id FROM _batch_runs);
INSERT INTO deezer_artist_snapshots SELECT run_id, artist_id, deezer IS NOT NULL, deezer.id,
    deezer.nb_fan, deezer.nb_album, try_cast(_etl.extracted_at AS TIMESTAMPTZ)
FROM _raw_deezer_artists WHERE artist_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY run_id, artist_id
        ORDER BY try_cast(_etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST
    ) = 1;
DELETE FROM listings WHERE run_id IN (SELECT run_id FROM _batch_runs);
INSERT INTO listings SELECT run_id, try_cast(observed_at AS TIMESTAMPTZ),
    CAST(timezone('UTC', try_cast(observed_at AS TIMESTAMPTZ)) AS DATE), market, position, album_id
FROM _raw_listings WHERE album_id IS NOT NULL;
DELETE FROM events WHERE run_id IN (SELECT run_id FROM _batch_runs);
INSERT INTO events SELECT run_id, try_cast("at" AS TIMESTAMPTZ), market, album_id, event,
    position, previous_position
FROM _raw_events WHERE album_id IS NOT NULL;
DELETE FROM runs WHERE run_id IN (SELECT run_id FROM _batch_runs);
INSERT INTO runs SELECT * FROM _batch_runs;
"""

#: Markets that ever listed an album (of those loaded), and each album's list of them.
_MARKETS = """
INSERT OR IGNORE INTO album_markets SELECT * FROM _batch.album_markets;
INSERT OR IGNORE INTO album_markets SELECT DISTINCT album_id, market FROM listings
    WHERE album_id IN (SELECT album_id FROM albums);
UPDATE albums SET markets = m.markets FROM (
    SELECT album_id, list_sort(list(market)) AS markets FROM album_markets GROUP BY album_id
) AS m WHERE albums.album_id = m.album_id AND albums.markets IS DISTINCT FROM m.markets;
"""


@dataclass(frozen=True)
class Run:
    """One run as dataset.json lists it."""

    id: str
    path: Path
    started_at: str | None
    finished_at: str | None
    status: str
    markets: list[str]
    counts: dict[str, int]


def read_index(root: Path) -> list[Run]:
    """The runs dataset.json lists, in its (time) order, read by the index's one reader
    (:func:`..output.dataset.read_index`): one clear line if it is damaged, rebuilt from the
    runs' manifests if it is missing."""
    return [_run(root, entry) for entry in index_of(root).runs]


def _run(root: Path, entry: Mapping[str, Any]) -> Run:
    counts = entry["counts"]
    return Run(
        entry["id"],
        (root / entry["path"]).resolve(),
        entry.get("started_at"),
        entry.get("finished_at"),
        entry["status"],
        [str(m) for m in entry["markets"]],
        {k: v for k, v in counts.items() if isinstance(v, int)},
    )


def load_dataset(con: duckdb.DuckDBPyConnection, root: Path, *, fresh: bool = False) -> LoadResult:
    """Merge the runs of the dataset in ``root`` that ``con`` lacks into its tables, in one
    transaction (a run loaded while not complete is read again); ``fresh``: drop every
    table first (the file held another source) and read all the runs."""
    runs = read_index(root)
    loaded = {} if fresh else _loaded_runs(con)
    batch = [run for run in runs if loaded.get(run.id) not in FINAL]
    files = {run.id: _pull_files(run) for run in batch}
    try:
        with ExitStack() as stack:
            parts = [
                (run_id, stack.enter_context(committed_copies(f)))
                for run_id, f in files.items()
                if f is not None
            ]
            con.execute("BEGIN TRANSACTION")
            try:
                _prepare(con, fresh=not loaded)
                if batch:
                    _merge(con, batch, parts)
                create_views(con, {**VIEWS, **POPULARITY_VIEWS})
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
    except duckdb.Error as exc:
        raise ConfigurationError(f"cannot load {root}: {first_line(exc)}") from exc
    counts = {table: count_rows(con, table) for table in (*TABLES, *DATASET_TABLES)}
    note = f" (read {len(batch)} of {len(runs)} runs)"
    return LoadResult(counts, any(f is not None and f.in_progress for f in files.values()), note)


def _loaded_runs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Run id to status of the runs ``con`` holds from earlier loads."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'runs'"
        " AND schema_name = 'main' AND database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        return {}
    return {r: s for r, s in con.execute("SELECT run_id, status FROM runs").fetchall()}


def _pull_files(run: Run) -> PullFiles | None:
    """The pull files of ``run``'s folder; None (nothing to read) if it holds none yet."""
    if not run.path.is_dir():
        raise ConfigurationError(
            f"run {run.id} is listed in {INDEX_NAME} but {run.path} is missing"
        )
    try:
        return find_pull_files(run.path)
    except ConfigurationError as exc:
        log.warning("run %s: %s; reading only its listing", run.id, exc)
        return None


def _prepare(con: duckdb.DuckDBPyConnection, *, fresh: bool) -> None:
    """The tables, created where absent; a file holding a single pull's load, or another
    source, starts over."""
    if fresh:
        con.execute(DROP_DATASET_TABLES)
        for table in reversed(TABLES):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(SCHEMA_IF_ABSENT)
    con.execute(DATASET_SCHEMA)


def _merge(
    con: duckdb.DuckDBPyConnection,
    batch: list[Run],
    parts: Sequence[tuple[str | None, Mapping[str, Path | None]]],
) -> None:
    create_sources(con, parts)
    _create_run_sources(con, batch)
    database = con.execute("SELECT current_database()").fetchone()
    main = f'"{database[0] if database else "memory"}"'
    con.execute("CREATE SCHEMA _batch")
    con.execute(f"USE {main}._batch")
    fill_tables(con)
    con.execute(f"USE {main}.main")
    con.execute(_MERGE)
    con.execute(_MERGE_ENRICHED)
    con.execute(_PER_RUN)
    con.execute(_MARKETS)
    con.execute(ALBUM_GENRES_SQL)
    for table in TABLES:
        con.execute(f"DROP TABLE _batch.{table}")
    con.execute("DROP SCHEMA _batch")
    drop_sources(con)
    for view in ("_raw_listings", "_raw_events"):
        con.execute(f"DROP VIEW {view}")
    con.execute("DROP TABLE _batch_runs")


def _create_run_sources(con: duckdb.DuckDBPyConnection, batch: list[Run]) -> None:
    """``_raw_listings`` and ``_raw_events`` over the runs read, and ``_batch_runs``."""
    for view, name, columns in (
        ("_raw_listings", LISTINGS_NAME, LISTING_COLUMNS),
        ("_raw_events", EVENTS_NAME, EVENT_COLUMNS),
    ):
        selects = [
            f"SELECT {quote(run.id)} AS run_id, * FROM {read_ndjson(run.path / name, columns)}"
            for run in batch
            if (run.path / name).is_file()
        ]
        empty = ", ".join(f'NULL::{kind} AS "{c}"' for c, kind in columns.items())
        union = (
            " UNION ALL ".join(selects) or f"SELECT NULL::VARCHAR AS run_id, {empty} WHERE false"
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {union}")
    con.execute("CREATE OR REPLACE TEMP TABLE _batch_runs AS SELECT * FROM runs WHERE false")
    now = dt.datetime.now(dt.UTC)
    marks = ", ".join("?" for _ in range(6 + len(COUNTS)))
    con.executemany(
        f"INSERT INTO _batch_runs VALUES ({marks})",
        [
            [
                run.id,
                run.started_at,
                run.finished_at,
                run.status,
                run.markets,
                *(run.counts.get(name) for name in COUNTS),
                now,
            ]
            for run in batch
        ],
    )
