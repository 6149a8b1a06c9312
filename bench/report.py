"""The Markdown tables and the JSON document of one benchmark run."""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

from .daily import daily_table
from .enrichment import enrichment_table
from .loads import load_table
from .scenarios import Scenario
from .summary import Summary, ratio
from .targets import Target

__all__ = ["machine", "markdown"]

_NUMBERS = {"latency": 1, "rate": 2, "cpu": 3, "dev": 4, "memory": 5}
_PACKAGES = ("async-spotify-etl", "aiohttp", "spotipy", "tekore", "requests", "httpx")


def machine() -> dict[str, Any]:
    """What the benchmark ran on."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or model
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "commit": commit or None,
    }


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _result(s: Summary) -> str:
    if s.status == "ok":
        return "ok"
    return f"**{s.status}**" + (f": {s.detail}" if s.detail else "")


def _scenario_table(rows: list[Summary]) -> list[str]:
    floor = next((s for s in rows if s.contender == "floor"), None)
    lines = [
        "| contender | result | wall s | × floor | requests / min | 429s | during Retry-After "
        "| CPU s | peak RSS MB | sandbox CPU s | others' CPU s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in rows:
        requests = "–" if s.requests is None else f"{s.requests:g} / {s.minimum}"
        lines.append(
            f"| {s.contender} | {_result(s)} | {_num(s.wall)} | {_num(ratio(s, floor))} "
            f"| {requests} | {_num(s.throttled, 0) if s.throttled is not None else '–'} "
            f"| {s.during_retry_after if s.during_retry_after is not None else '–'} "
            f"| {_num(s.cpu)} | {_num(s.peak_rss_mb, 1)} | {_num(s.server_cpu)} "
            f"| {_num(s.other_cpu)} |"
        )
    return lines


def _matrix(rows: list[Summary]) -> list[str]:
    ok = [s for s in rows if s.status == "ok"]
    if len(ok) < 2:
        return []
    lines = [
        "",
        "Wall-time ratios (row ÷ column; below 1 means the row is faster):",
        "",
        "| | " + " | ".join(s.contender for s in ok) + " |",
        "|---|" + "--:|" * len(ok),
    ]
    for row in ok:
        cells = " | ".join(_num(ratio(row, col)) for col in ok)
        lines.append(f"| {row.contender} | {cells} |")
    return lines


def _memory_table(rows: list[Summary]) -> list[str]:
    lines = [
        "| albums | tracks | result | wall s | requests / min | CPU s | peak RSS MB |",
        "|--:|--:|---|--:|--:|--:|--:|",
    ]
    for s in rows:
        requests = "–" if s.requests is None else f"{s.requests:g} / {s.minimum}"
        lines.append(
            f"| {s.albums or 0:,} | {s.tracks or 0:,} | {_result(s)} | {_num(s.wall)} "
            f"| {requests} | {_num(s.cpu)} | {_num(s.peak_rss_mb, 1)} |"
        )
    return lines


def _describe(scenario: Scenario) -> str:
    sb = scenario.sandbox
    parts = [f"{len(scenario.markets)} market(s) × {sb['albums_per_market']:,} listed albums"]
    if sb.get("latency"):
        parts.append(
            f"{sb['latency'] * 1000:g} ms ± {sb.get('latency_jitter', 0) * 1000:g} ms latency"
        )
    if sb.get("rate_limit"):
        parts.append(f"{sb['rate_limit']} requests per {sb['rate_window']:g} s rolling window")
    else:
        parts.append("no rate limit")
    if scenario.development:
        parts.append("development access mode")
    return ", ".join(parts)


def markdown(
    info: dict[str, Any],
    scenarios: list[Scenario],
    summaries: list[Summary],
    targets: list[Target],
    header: dict[str, Any],
) -> str:
    """The whole report as Markdown."""
    lines = [
        f"Run {header['started']} ({header['mode']}, {header['reps']} repetition(s) of each "
        f"timed run, {header['elapsed']:.0f} s in all) at commit `{info['commit']}` on "
        f"{info['nproc']} × {info['cpu']}, Python {info['python']}, {info['platform']}.",
        "Peers: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v) + ".",
    ]
    startups = {k: v for k, v in header.get("startup", {}).items() if v is not None}
    if startups:
        lines += [
            "",
            "Start-up, included in every wall time (interpreter and imports, no request; "
            "median of 3): " + ", ".join(f"{k} {v:.2f} s" for k, v in startups.items()) + ".",
        ]
    for scenario in scenarios:
        rows = [s for s in summaries if s.scenario == scenario.key]
        lines += ["", f"### {_NUMBERS[scenario.key]}. {scenario.title}", ""]
        if scenario.key != "memory":
            lines += [_describe(scenario) + ".", ""]
        if scenario.key != "memory":
            lines += [f"Tuned flags: `{' '.join(scenario.tuned)}`.", ""]
            lines += _scenario_table(rows) + _matrix(rows)
        else:
            sizes = [
                _describe(dataclasses.replace(scenario, sandbox=s)) for s in scenario.extra["sizes"]
            ]
            lines += [
                "Catalogues: " + "; ".join(sizes) + ".",
                f"`spotify-etl pull` with `{' '.join(scenario.tuned)}`, once each.",
                "",
            ]
            lines += _memory_table(rows)
            loads = header.get("loads") or []
            if loads:
                lines += load_table(loads, loads[0].get("albums"))
    if header.get("daily"):
        lines += daily_table(header["daily"])  # type: ignore[arg-type]
    if header.get("enrich"):
        lines += enrichment_table(header["enrich"])
    lines += ["", "### Targets", "", "| scenario | target | measured | |", "|---|---|---|---|"]
    for t in targets:
        mark = "n/a" if t.met is None else ("met" if t.met else "**missed**")
        lines.append(f"| {t.scenario} | {t.goal} | {t.measured} | {mark} |")
    return "\n".join(lines) + "\n"
