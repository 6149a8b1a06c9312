"""The memory scenario's largest pull, loaded four ways: into DuckDB, merged into a
throwaway PostgreSQL server, exported to Parquet, and through dlt (the ``spotify_dataset``
source into dlt's ``duckdb`` destination); rows per second and peak RSS of each command
side by side (each measured alone by ``bench/measure.py``). dlt's rows are counted in its
own dataset, its ``_dlt_*`` bookkeeping tables left out."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .runner import _measure

__all__ = ["load_table", "measure_loads"]


def _rows(db: Path, schema: str = "main") -> int:
    """Rows of every table of ``schema`` (dlt's own ``_dlt_*`` tables left out)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
                " AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'",
                [schema],
            ).fetchall()
        ]
        return sum(
            int(con.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0])  # type: ignore[index]
            for t in tables
        )


def measure_loads(pull: Path, workdir: Path) -> list[dict[str, Any]]:
    """Each load command once on ``pull``; one row per command (PostgreSQL is skipped,
    saying why, where no server can be had)."""
    from tests.postgres import server, unavailable

    cli = [sys.executable, "-m", "async_spotify_etl"]
    db, lake = workdir / "load.duckdb", workdir / "lake"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    rows: list[dict[str, Any]] = []

    def measure(name: str, cmd: list[str], extra: dict[str, str] | None = None) -> None:
        logs = workdir / name.replace(" ", "-")
        logs.mkdir(parents=True, exist_ok=True)
        code, wall, usage = _measure(cmd, {**env, **(extra or {})}, logs)
        rows.append({"command": name, "exit": code, "wall": wall, "peak_rss_mb": usage.peak_rss_mb})

    measure("load --duckdb", [*cli, "load", "--duckdb", str(db), str(pull)])
    total = _rows(db) if db.exists() else 0
    reason = unavailable()
    if reason is None:
        with server() as pg:
            url = pg.url()
            measure(
                "load --postgres", [*cli, "load", "--postgres", str(pull)], {"DATABASE_URL": url}
            )
            measure(
                "load --postgres (again)",
                [*cli, "load", "--postgres", str(pull)],
                {"DATABASE_URL": url},
            )
    else:
        rows.append({"command": "load --postgres", "skipped": reason})
    measure("export --parquet", [*cli, "export", "--parquet", str(lake), str(pull)])
    dlt_db = workdir / "dlt.duckdb"
    dlt_env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DLT_DATA_DIR": str(workdir / "dlt-data"),
        "DESTINATION__DUCKDB__CREDENTIALS": str(dlt_db),
    }
    recipe = [sys.executable, "-m", "async_spotify_etl.integrations.dlt", "duckdb"]
    recipe += ["--from", str(pull), "--pipelines-dir", str(workdir / "dlt-pipelines")]
    measure("dlt: spotify_dataset into duckdb", recipe, dlt_env)
    dlt_rows = _rows(dlt_db, "spotify") if dlt_db.exists() else 0
    for row in rows:
        if "wall" in row:
            row["rows"] = dlt_rows if row["command"].startswith("dlt") else total
            row["rows_per_s"] = row["rows"] / row["wall"] if row["wall"] else None
    return rows


def load_table(rows: list[dict[str, Any]], albums: int | None) -> list[str]:
    """The Markdown table of :func:`measure_loads`."""
    lines = [
        "",
        f"Loading the largest pull ({albums} albums) from its NDJSON: every table's rows,"
        " the whole command (start-up included).",
        "",
        "| command | rows | wall | rows/s | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['command']} | skipped: {row['skipped']} | | | |")
        elif row["exit"] != 0:
            lines.append(f"| {row['command']} | failed (exit {row['exit']}) | | | |")
        else:
            lines.append(
                f"| {row['command']} | {row['rows']} | {row['wall']:.2f} s"
                f" | {row['rows_per_s']:,.0f} | {row['peak_rss_mb']:.0f} MB |"
            )
    return lines
