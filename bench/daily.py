"""The daily-run scenario: a dataset kept by one run a day, against re-pulling it all.

Day 0's listing is pulled into a dataset; the sandbox then moves its lists to day 1 (some
albums leave, new ones enter) and a second run adds to the dataset. The same two days go
through the dlt source (``spotify_releases`` into dlt's ``duckdb`` destination), whose
second run fetches only what its state does not hold. Last, day 1 is pulled whole into a
fresh directory, as a tool without datasets would. The sandbox counts every run's
requests, side by side.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .runner import ROOT, _measure
from .sandbox_proc import SandboxProcess

__all__ = ["daily_table", "measure_daily"]

#: Like the scenarios' LOCAL flags: no latency, the sandbox kept busy.
FLAGS = ("--concurrency", "16", "--rate", "10000", "--burst", "1000", "--no-progress")
#: The same pacing for the dlt recipe (``python -m async_spotify_etl.integrations.dlt``).
DLT_FLAGS = ("--concurrency", "16", "--rate", "10000", "--burst", "1000")


def measure_daily(workdir: Path, *, quick: bool) -> list[dict[str, Any]]:
    """Three pulls: day 0 into a dataset, day 1 into it, day 1 whole; one row each."""
    markets = ["US", "GB", "DE", "FR"][: 2 if quick else 4]
    base = {"seed": 1, "markets": markets, "albums_per_market": 100 if quick else 1000}
    dataset, full = workdir / "daily" / "dataset", workdir / "daily" / "full"
    dlt_dir = workdir / "daily" / "dlt"
    dlt_env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DLT_DATA_DIR": str(dlt_dir / "data"),
        "DESTINATION__DUCKDB__CREDENTIALS": str(dlt_dir / "dlt.duckdb"),
    }
    dlt_cmd = [sys.executable, "-m", "async_spotify_etl.integrations.dlt", "duckdb"]
    dlt_cmd += ["--pipelines-dir", str(dlt_dir / "pipelines"), *DLT_FLAGS]
    rows = []
    for name, day, target in (
        ("first run (day 0)", 0, ["--dataset", str(dataset)]),
        ("second run (day 1)", 1, ["--dataset", str(dataset)]),
        ("dlt: first run (day 0)", 0, None),
        ("dlt: second run (day 1)", 1, None),
        ("full re-pull (day 1)", 1, ["--out", str(full)]),
    ):
        with SandboxProcess({**base, "day": day}) as sb:
            if target is None:  # the spotify_releases source, its state kept by dlt
                cmd = [*dlt_cmd, "--api-url", sb.api_url, "--token-url", sb.token_url]
            else:
                cmd = [sys.executable, "-m", "async_spotify_etl", "pull", *target, *FLAGS]
                cmd += ["--api-url", sb.api_url, "--accounts-url", sb.token_url]
            cmd += ["--market", ",".join(markets)]
            env = {
                **os.environ,
                **(dlt_env if target is None else {}),
                "SPOTIFY_CLIENT_ID": sb.client_id,
                "SPOTIFY_CLIENT_SECRET": sb.client_secret,
                "PYTHONPATH": str(ROOT),
            }
            logs = workdir / "daily" / name.split(" (")[0].replace(":", "").replace(" ", "-")
            logs.mkdir(parents=True, exist_ok=True)
            code, wall, _ = _measure(cmd, env, logs)
            routes = sb.inspect("stats")["requests"]
            by_route = {r: sum(s.values()) for r, s in routes.items() if r != "token"}
        rows.append(
            {
                "run": name,
                "exit": code,
                "wall": wall,
                "requests": sum(by_route.values()),
                "by_route": by_route,
            }
        )
        print(f"daily: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def daily_table(rows: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of :func:`measure_daily`."""
    full = next((r for r in rows if r["run"].startswith("full")), None)
    lines = [
        "",
        "### Daily runs of a dataset",
        "",
        "A dataset (`--dataset`) pulled on day 0, then on day 1 after the sandbox moved its"
        " lists; the same two days through the dlt source (`spotify_releases` into dlt's"
        " `duckdb` destination, its state kept by dlt); beside them, day 1 pulled whole into a"
        " fresh `--out`. Requests as the sandbox counted them (token excluded).",
        "",
        "| run | result | requests | × full re-pull | by endpoint | wall |",
        "| --- | --- | ---: | ---: | --- | ---: |",
    ]
    for row in rows:
        if row["exit"] != 0:
            lines.append(f"| {row['run']} | failed (exit {row['exit']}) | | | | |")
            continue
        ratio = row["requests"] / full["requests"] if full and full["requests"] else None
        routes = ", ".join(f"{k} {v}" for k, v in sorted(row["by_route"].items()))
        shown = f"{ratio:.2f}" if ratio is not None else "–"
        lines.append(
            f"| {row['run']} | ok | {row['requests']} | {shown} | {routes} | {row['wall']:.2f} s |"
        )
    return lines
