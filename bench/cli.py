"""``python -m bench``: run the scenarios, alternate the contenders, write the report."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .blind import blind_markdown, blind_scenarios, run_blind
from .contenders import Contender, by_name, pull_command
from .daily import measure_daily
from .enrichment import measure_enrichment
from .loads import measure_loads
from .report import machine, markdown
from .runner import ROOT, Run, run_one, startup
from .scenarios import Scenario, scenarios
from .summary import summarize
from .targets import evaluate

__all__ = ["main", "run"]

#: A contender whose first run of a scenario takes longer than this runs only once: it is
#: far from the others already, and repeating it would break the benchmark's time budget.
SLOW = 30.0
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
TUNED = "spotify-etl tuned"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller scenarios, one run each")
    parser.add_argument("--reps", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument(
        "--scenario", action="append", help="latency, rate, cpu, dev, memory, daily, enrich"
    )
    parser.add_argument("--contender", action="append", help="run only these contenders")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument(
        "--update",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the tables into BENCHMARKS.md (default: on for a full run)",
    )
    parser.add_argument("--profile", action="store_true", help="also profile our tuned pull")
    parser.add_argument(
        "--blind",
        action="store_true",
        help="run only the blind scenarios (the limit hidden; --rate auto first and second"
        " run); their section of BENCHMARKS.md is rewritten unless --quick",
    )
    parser.add_argument("--keep-output", action="store_true", help="keep each run's files")
    return parser


def _log(start: float, run: Run, reps: int) -> None:
    wall = "" if run.wall is None else f"{run.wall:7.2f} s"
    requests = "" if run.requests is None else f" requests {run.requests}/{run.minimum}"
    throttled = "" if not run.throttled else f" 429s {run.throttled}"
    detail = f"  {run.detail}" if run.detail and run.status != "n/a" else ""
    print(
        f"[{time.monotonic() - start:6.0f} s] {run.scenario:8} {run.rep + 1}/{reps} "
        f"{run.contender:21} {run.status:6} {wall}{requests}{throttled}{detail}",
        file=sys.stderr,
        flush=True,
    )


def _scenario_runs(
    scenario: Scenario, contenders: Sequence[Contender], workdir: Path, start: float, keep: bool
) -> list[Run]:
    runs: list[Run] = []
    if scenario.key == "memory":
        tuned = [c for c in contenders if c.name == TUNED]
        sizes = scenario.extra["sizes"]
        for n, sandbox in enumerate(sizes):
            sized = dataclasses.replace(scenario, sandbox=sandbox)
            for contender in tuned:
                last = n == len(sizes) - 1  # the largest pull is kept for the loads
                runs.append(run_one(sized, contender, n, workdir, keep=keep or last))
                _log(start, runs[-1], 1)
        return runs
    slow: set[str] = set()
    for rep in range(scenario.reps):
        for contender in contenders:
            if contender.name in slow:
                continue
            runs.append(run_one(scenario, contender, rep, workdir, keep=keep))
            _log(start, runs[-1], scenario.reps)
            if runs[-1].status != "ok" or (runs[-1].wall or 0) > SLOW:
                slow.add(contender.name)
    return runs


def _loads(runs: list[Run], workdir: Path, *, keep: bool) -> list[dict[str, object]]:
    """The loads of the memory scenario's largest pull (see :mod:`bench.loads`)."""
    pulls = [r for r in runs if r.scenario == "memory" and r.status == "ok"]
    if not pulls:
        return []
    largest = max(pulls, key=lambda r: r.albums or 0)
    folder = workdir / f"memory-{largest.contender.replace(' ', '-')}-{largest.rep}"
    rows = measure_loads(folder / "out", workdir / "loads")
    for row in rows:
        row["albums"] = largest.albums
        print(f"loads: {row}", file=sys.stderr, flush=True)
    if not keep:
        shutil.rmtree(folder / "out", ignore_errors=True)
        shutil.rmtree(workdir / "loads", ignore_errors=True)
    return rows


def _profile(scenario: Scenario, workdir: Path) -> None:
    """Our tuned pull once under pyinstrument; the text profile lands beside the results."""
    target = workdir / f"profile-{scenario.key}.txt"

    def argv(sc: Scenario, sb: object, out: Path) -> list[str]:
        pull = pull_command(sc, sb, out, sc.tuned)  # type: ignore[arg-type]
        return [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(target), *pull[1:]]

    profiled = Contender("spotify-etl tuned (pyinstrument)", argv, development=True)
    run = run_one(scenario, profiled, 0, workdir)
    print(f"profile of {scenario.key}: {target} ({run.status})", file=sys.stderr)


def _write(
    args: argparse.Namespace,
    picked: list[Scenario],
    runs: list[Run],
    workdir: Path,
    header: dict[str, object],
) -> str:
    summaries = summarize(runs)
    targets = evaluate(summaries, picked)
    info = machine()
    text = markdown(info, picked, summaries, targets, header)
    document = {
        **header,
        "machine": info,
        "scenarios": [
            {"key": s.key, "title": s.title, "sandbox": s.sandbox, "tuned": s.tuned} for s in picked
        ],
        "summaries": [s.to_json() for s in summaries],
        "targets": [t.to_json() for t in targets],
        "runs": [r.to_json() for r in runs],
    }
    (workdir / "results.json").write_text(json.dumps(document, indent=2, default=str))
    (workdir / "results.md").write_text(text)
    if args.update if args.update is not None else not args.quick:
        _update_benchmarks(text)
    return text


def _update_benchmarks(text: str) -> None:
    """Replace the results between the markers of BENCHMARKS.md."""
    path = ROOT / "BENCHMARKS.md"
    current = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report; return 0 (targets are reported, not enforced)."""
    args = _parser().parse_args(argv)
    if args.blind:
        return _blind(args)
    picked = scenarios(quick=args.quick, reps=args.reps)
    if args.scenario:
        picked = [s for s in picked if s.key in args.scenario]
    contenders = by_name(args.contender)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    workdir = args.out / started.replace(":", "")
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    startups = {c.name: startup(c) for c in contenders}
    runs: list[Run] = []
    for scenario in picked:
        runs += _scenario_runs(scenario, contenders, workdir, start, args.keep_output)
    if args.profile:
        for scenario in picked:
            if scenario.key != "memory":
                _profile(scenario, workdir)
    loads = _loads(runs, workdir, keep=args.keep_output)
    daily = []
    if not args.scenario or "daily" in args.scenario:
        daily = measure_daily(workdir, quick=args.quick)
    enrich = []
    if not args.scenario or "enrich" in args.scenario:
        enrich = measure_enrichment(workdir, quick=args.quick)
    header = {
        "loads": loads,
        "daily": daily,
        "enrich": enrich,
        "started": started,
        "mode": "quick" if args.quick else "full",
        "reps": 1 if args.quick else args.reps,
        "elapsed": time.monotonic() - start,
        "startup": startups,
    }
    print(_write(args, picked, runs, workdir, header))
    print(f"results: {workdir}", file=sys.stderr)
    return 0


BLIND_BEGIN, BLIND_END = "<!-- blind:begin -->", "<!-- blind:end -->"


def _blind(args: argparse.Namespace) -> int:
    """The blind scenarios alone: run, print, and (unless quick) update BENCHMARKS.md."""
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    workdir = args.out / f"blind-{started.replace(':', '')}"
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    picked = blind_scenarios(quick=args.quick)
    reps = 1 if args.quick else args.reps
    rows = run_blind(picked, workdir, lambda run: _log(start, run, reps), reps)
    info = machine()
    head = (
        f"Run {started} ({'quick' if args.quick else 'full'}, {reps} repetition(s),"
        f" {time.monotonic() - start:.0f} s) at commit `{info['commit']}` on"
        f" {info['nproc']} × {info['cpu']}, Python {info['python']}.\n\n"
    )
    text = head + blind_markdown(picked, rows)
    (workdir / "results.md").write_text(text)
    document = [{"scenario": r.scenario, "contender": r.contender, "pacing": r.pacing,
                 **r.run.to_json()} for r in rows]  # fmt: skip
    (workdir / "results.json").write_text(json.dumps(document, indent=2, default=str))
    if args.update if args.update is not None else not args.quick:
        _update_section(text, BLIND_BEGIN, BLIND_END)
    print(text)
    print(f"results: {workdir}", file=sys.stderr)
    return 0


def _update_section(text: str, begin: str, end: str) -> None:
    """Replace what lies between ``begin`` and ``end`` in BENCHMARKS.md (added if absent)."""
    path = ROOT / "BENCHMARKS.md"
    current = path.read_text()
    if begin not in current:
        current = current.rstrip("\n") + f"\n\n## Blind pacing\n\n{begin}\n{end}\n"
    head, _, rest = current.partition(begin)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{begin}\n{text}{end}{tail}")


def run() -> None:
    """Entry point of ``python -m bench``."""
    sys.exit(main())
