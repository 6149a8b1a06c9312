"""The memory scenario's loads: each command runs, counts every table's rows, and reports."""

from __future__ import annotations

from pathlib import Path

from bench.loads import load_table, measure_loads
from tests.analytics.fakepull import write_pull


def test_loads_run_each_command_and_count_the_rows(tmp_path: Path) -> None:
    pull = write_pull(tmp_path / "pull", n_albums=20, tail=False)
    rows = measure_loads(pull.out_dir, tmp_path / "loads")
    measured = [r for r in rows if "wall" in r]
    assert measured[0]["command"] == "load --duckdb"
    assert "export --parquet" in [r["command"] for r in measured]
    assert all(r["exit"] == 0 for r in measured)
    links = sum(len(a["artists"]) for a in pull.albums.values())
    assert measured[0]["rows"] > len(pull.albums) + len(pull.tracks) + links
    assert (tmp_path / "loads" / "lake" / "albums").is_dir()
    dlt_row = next(r for r in measured if r["command"].startswith("dlt"))
    # dlt's own dataset holds the same albums and tracks (its bookkeeping tables not counted)
    assert dlt_row["rows"] >= len(pull.albums) + len(pull.tracks)
    table = load_table(rows, 20)
    assert len(table) == 5 + len(rows)
    assert "rows/s" in table[3]
