"""A dataset into a real PostgreSQL (merged after each run) and into partitioned Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow.parquet as pq

from async_spotify_etl.analytics.load import load_pull
from async_spotify_etl.analytics.parquet import export_parquet
from async_spotify_etl.analytics.postgres import load_postgres

from .datasets import MARKETS, RUNS, STARTS, make_dataset, run_id

_SKIP = {"schema_version"}


def _state(url: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and of the view; runs without their loaded_at."""
    with psycopg.connect(url) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [schema],
            ).fetchall()
        ]
        state = {}
        for name in names:
            if name in _SKIP:
                continue
            rows = con.execute(f'SELECT * FROM {schema}."{name}"').fetchall()
            if name == "runs":
                columns = [d.name for d in con.execute(f"SELECT * FROM {schema}.runs").description]
                at = columns.index("loaded_at")
                rows = [r[:at] + r[at + 1 :] for r in rows]
            state[name] = sorted(map(tuple, rows), key=repr)
        return state


async def test_a_dataset_merged_after_each_run_equals_one_load_of_all(
    sandbox_factory: Any, tmp_path: Path, pg_url: str
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=0)
    for k in range(RUNS):
        await dataset.run(k)
        load_postgres(dataset.root, pg_url, "stepwise")
    load_postgres(dataset.root, pg_url, "whole")
    stepwise, whole = _state(pg_url, "stepwise"), _state(pg_url, "whole")
    assert stepwise == whole
    assert {"listings", "runs", "events", "artist_snapshots", "album_presence"} <= set(whole)
    # ... and equals the DuckDB load, table for table.
    db = tmp_path / "ds.duckdb"
    load_pull(dataset.root, db)
    with duckdb.connect(str(db), read_only=True) as con:
        for table in ("albums", "listings", "events", "artist_snapshots", "album_presence"):
            (n,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
            assert len(whole[table]) == n, table
    listings = {(r[0], r[3], r[4], r[5]) for r in whole["listings"]}
    assert listings == dataset.expected_listings()
    with psycopg.connect(pg_url) as pg:
        presence = pg.execute(
            "SELECT album_id, market, runs_listed, best_position FROM whole.album_presence"
        ).fetchall()
        keys = pg.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f'"
            " AND connamespace = 'whole'::regnamespace AND confrelid = 'whole.runs'::regclass"
        ).fetchall()
    assert len(presence) == len({(a, m) for _, m, _, a in dataset.expected_listings()})
    assert {k for (k,) in keys} == {
        "whole.listings",
        "whole.events",
        "whole.artist_snapshots",
        "whole.deezer_artist_snapshots",
    }


async def test_parquet_of_a_dataset_partitions_listings_by_run_date(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds")
    lake = tmp_path / "lake"
    for _ in range(2):  # exporting again replaces, never duplicates
        result = export_parquet(dataset.root, lake)
    assert {"listings", "runs", "events"} <= set(result.partitioned)
    days = [f"run_date={STARTS[k]:%Y-%m-%d}" for k in range(RUNS)]
    assert sorted(p.name for p in (lake / "listings").iterdir()) == days
    read = pq.read_table(lake / "listings")
    assert read.num_rows == RUNS * len(MARKETS) * 12
    by_day = duckdb.execute(
        f"SELECT run_date::VARCHAR, min(run_id), count(*) FROM read_parquet("
        f"'{lake}/listings/**/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert by_day == [(f"{STARTS[k]:%Y-%m-%d}", run_id(k), len(MARKETS) * 12) for k in range(RUNS)]
    assert not (lake / "album_presence").exists()  # views stay queries over the tables
