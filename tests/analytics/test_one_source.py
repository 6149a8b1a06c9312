"""One rule for a DuckDB file and a Parquet folder: they hold the tables of one source, the
last loaded or exported; what an earlier source of the other kind left is removed, in one
line (#24.7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from async_spotify_etl.cli import main

from .conftest import MakePull
from .datasets import make_dataset

DATASET_ONLY = ("artist_snapshots", "deezer_artist_snapshots", "listings", "runs", "events")


def _tables(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "WARNING" in line]


async def test_a_parquet_export_from_another_source_leaves_no_stale_table(
    sandbox_factory: Any, make_pull: MakePull, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=2)
    pull = make_pull()
    lake = tmp_path / "lake"
    assert main(["export", "--parquet", str(lake), str(dataset.root)]) == 0
    assert {name for name in DATASET_ONLY if (lake / name).is_dir()} == set(DATASET_ONLY)
    capsys.readouterr()

    assert main(["export", "--parquet", str(lake), str(pull.out_dir)]) == 0
    err = capsys.readouterr().err
    assert not [name for name in DATASET_ONLY if (lake / name).exists()]
    assert (lake / "albums").is_dir()
    [line] = _warnings(err)
    assert all(name in line for name in ("listings", "runs", "events"))
    assert "holds the tables of one source" in line
    # The same source again: nothing stale, nothing said.
    assert main(["export", "--parquet", str(lake), str(pull.out_dir)]) == 0
    assert not _warnings(capsys.readouterr().err)


async def test_a_duckdb_file_takes_the_last_source_and_says_what_it_removed(
    sandbox_factory: Any, make_pull: MakePull, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=2)
    pull = make_pull(tail=False)
    db = tmp_path / "x.duckdb"
    assert main(["load", "--duckdb", str(db), str(dataset.root)]) == 0
    assert set(DATASET_ONLY) <= _tables(db)
    capsys.readouterr()

    assert main(["load", "--duckdb", str(db), str(pull.out_dir)]) == 0
    [line] = _warnings(capsys.readouterr().err)
    assert all(text in line for text in ("held a dataset's", "listings", "runs"))
    assert "holds the tables of one source" in line
    assert not set(DATASET_ONLY) & _tables(db)

    # And back: the dataset replaces the single pull's load, saying so.
    assert main(["load", "--duckdb", str(db), str(dataset.root)]) == 0
    [line] = _warnings(capsys.readouterr().err)
    assert "held a single pull's load" in line
    assert set(DATASET_ONLY) <= _tables(db)
    with duckdb.connect(str(db), read_only=True) as con:
        ids = {r[0] for r in con.execute("SELECT album_id FROM albums").fetchall()}
    assert not ids & set(pull.albums)
