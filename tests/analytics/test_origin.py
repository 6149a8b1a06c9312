"""One rule for a DuckDB file or a Parquet lake loaded from another source (#24.7): every
table the project owns is replaced, none left stale, in one line on stderr; the same
source again is an ordinary refresh, silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest

from async_spotify_etl.analytics.origin import LAKE_RECORD
from async_spotify_etl.cli import main

from .conftest import MakePull
from .datasets import make_dataset

Rows = dict[str, list[str]]


def _lake(lake: Path) -> Rows:
    """Every table folder of the lake and its rows, sorted (runs without loaded_at)."""
    return {
        folder.name: sorted(
            repr({k: v for k, v in row.items() if k != "loaded_at"})
            for row in pq.read_table(folder).to_pylist()
        )
        for folder in sorted(lake.iterdir())
        if folder.is_dir()
    }


def _db(db: Path) -> Rows:
    """Every table and view of the file's main schema and its rows (runs without loaded_at)."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        return {
            name: sorted(
                map(
                    repr,
                    con.execute(
                        f"SELECT * EXCLUDE (loaded_at) FROM {name}"
                        if name == "runs"
                        else f"SELECT * FROM {name}"
                    ).fetchall(),
                )
            )
            for name in sorted(names)
        }


def _line(target: Path, old: Path, old_kind: str, new: Path, new_kind: str) -> str:
    return (
        f"{target}: replacing the tables of {old.resolve()} (a {old_kind})"
        f" with {new.resolve()} (a {new_kind})"
    )


def _run(capsys: pytest.CaptureFixture[str], *argv: Path | str) -> str:
    """Run the command; its stderr."""
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 0
    return capsys.readouterr().err


async def test_a_lake_of_a_dataset_exported_from_a_pull_holds_only_the_pull(
    sandbox_factory: Any, tmp_path: Path, make_pull: MakePull, capsys: pytest.CaptureFixture[str]
) -> None:
    ds1 = (await make_dataset(sandbox_factory, tmp_path / "ds1", runs=2)).root
    pull2 = make_pull().out_dir
    lake, fresh = tmp_path / "lake", tmp_path / "fresh"
    _run(capsys, "export", "--parquet", lake, ds1)
    assert {"listings", "runs", "events", "artist_snapshots"} <= set(_lake(lake))
    (line,) = _run(capsys, "export", "--parquet", lake, pull2).splitlines()
    assert line.endswith(" WARNING " + _line(lake, ds1, "dataset", pull2, "pull"))
    _run(capsys, "export", "--parquet", fresh, pull2)
    assert _lake(lake) == _lake(fresh)  # no table, dataset-only or not, holds ds1's rows
    # Back to the dataset: its tables return, the pull's rows go.
    assert _line(lake, pull2, "pull", ds1, "dataset") in _run(
        capsys, "export", "--parquet", lake, ds1
    )
    _run(capsys, "export", "--parquet", fresh, ds1)
    assert _lake(lake) == _lake(fresh)


async def test_a_duckdb_file_of_a_dataset_loaded_with_a_pull_says_so_in_one_line(
    sandbox_factory: Any, tmp_path: Path, make_pull: MakePull, capsys: pytest.CaptureFixture[str]
) -> None:
    ds1 = (await make_dataset(sandbox_factory, tmp_path / "ds1", runs=2)).root
    pull2 = make_pull().out_dir
    db, fresh = tmp_path / "x.duckdb", tmp_path / "fresh.duckdb"
    _run(capsys, "load", "--duckdb", db, ds1)
    (line,) = _run(capsys, "load", "--duckdb", db, pull2).splitlines()
    assert line.endswith(" WARNING " + _line(db, ds1, "dataset", pull2, "pull"))
    _run(capsys, "load", "--duckdb", fresh, pull2)
    assert _db(db) == _db(fresh)
    assert "listings" not in _db(db)


async def test_a_duckdb_file_of_one_dataset_loaded_with_another_holds_only_the_other(
    sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same run ids in both: a merge would read nothing of ds2 and keep ds1's second run.
    ds1 = (await make_dataset(sandbox_factory, tmp_path / "ds1", runs=2)).root
    ds2 = (await make_dataset(sandbox_factory, tmp_path / "ds2", runs=1)).root
    db, fresh = tmp_path / "x.duckdb", tmp_path / "fresh.duckdb"
    _run(capsys, "load", "--duckdb", db, ds1)
    assert _line(db, ds1, "dataset", ds2, "dataset") in _run(capsys, "load", "--duckdb", db, ds2)
    _run(capsys, "load", "--duckdb", fresh, ds2)
    assert _db(db) == _db(fresh)
    assert len(_db(db)["runs"]) == 1


async def test_the_same_source_again_is_a_silent_refresh(
    sandbox_factory: Any, tmp_path: Path, make_pull: MakePull, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds1", runs=1)
    db, lake = tmp_path / "x.duckdb", tmp_path / "lake"
    assert _run(capsys, "load", "--duckdb", db, dataset.root) == ""
    assert _run(capsys, "export", "--parquet", lake, dataset.root) == ""
    await dataset.run(1)
    # Another path to the same folder is the same source; the load reads only the new run.
    again = f"{tmp_path}/../{tmp_path.name}/ds1"
    capsys.readouterr()
    assert main(["load", "--duckdb", str(db), str(again)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "(read 1 of 2 runs)" in captured.out
    assert _run(capsys, "export", "--parquet", lake, again) == ""
    whole_db, whole_lake = tmp_path / "whole.duckdb", tmp_path / "whole"
    _run(capsys, "load", "--duckdb", whole_db, dataset.root)
    _run(capsys, "export", "--parquet", whole_lake, dataset.root)
    assert _db(db) == _db(whole_db)  # nothing lost, nothing twice
    assert _lake(lake) == _lake(whole_lake)
    pull = make_pull().out_dir
    _run(capsys, "load", "--duckdb", tmp_path / "p.duckdb", pull)
    assert _run(capsys, "load", "--duckdb", tmp_path / "p.duckdb", pull) == ""


def test_a_lake_without_a_record_or_with_a_hand_edited_one(
    tmp_path: Path, make_pull: MakePull, capsys: pytest.CaptureFixture[str]
) -> None:
    pull1, pull2 = make_pull().out_dir, make_pull(seed=8).out_dir
    lake, fresh = tmp_path / "lake", tmp_path / "fresh"
    outside = tmp_path / "outside"
    outside.mkdir()
    _run(capsys, "export", "--parquet", lake, pull1)
    # A lake exported before the record existed: a pull's, of an unrecorded folder.
    (lake / LAKE_RECORD).unlink()
    (lake / "listings").mkdir()  # a dataset's table, left by hand
    assert _run(capsys, "export", "--parquet", lake, pull2) == ""
    assert not (lake / "listings").exists()
    # A record edited by hand never names a folder outside the lake.
    record = orjson.loads((lake / LAKE_RECORD).read_bytes())
    assert record["source"] == str(pull2.resolve())
    record["tables"] += ["../outside", "/tmp"]
    (lake / LAKE_RECORD).write_bytes(orjson.dumps(record))
    assert _line(lake, pull2, "pull", pull1, "pull") in _run(
        capsys, "export", "--parquet", lake, pull1
    )
    assert outside.is_dir()
    _run(capsys, "export", "--parquet", fresh, pull1)
    assert _lake(lake) == _lake(fresh)
    (lake / LAKE_RECORD).write_bytes(b"{not json")
    assert _run(capsys, "export", "--parquet", lake, pull1) == ""


async def test_another_source_that_fails_to_load_leaves_the_file_and_its_record(
    sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds1 = (await make_dataset(sandbox_factory, tmp_path / "ds1", runs=1)).root
    ds2 = await make_dataset(sandbox_factory, tmp_path / "ds2", runs=2)
    db = tmp_path / "x.duckdb"
    _run(capsys, "load", "--duckdb", db, ds1)
    before = _db(db)
    listings = ds2.folder(1) / "listings.ndjson"
    first = listings.read_bytes().splitlines()[0]
    listings.write_bytes(listings.read_bytes() + first + b"\n")  # a position twice: refused
    capsys.readouterr()
    assert main(["load", "--duckdb", str(db), str(ds2.root)]) == 2
    assert f"cannot load {ds2.root}" in capsys.readouterr().err
    assert _db(db) == before  # ds1's tables, none dropped
    assert _run(capsys, "load", "--duckdb", db, ds1) == ""  # and still ds1's file
