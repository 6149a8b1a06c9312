"""Blind scenarios: the server's rolling-window limit hidden from every contender of ours.

Each scenario runs, side by side and in turn: the floor (an oracle told the window, or
unlimited where nothing binds), ``spotify-etl pull`` with every flag default (``--rate
auto``, 32 in flight, no plan named) from a fresh cache (first run, which must find the
limit) and again from the cache that run left (second run, which remembers), and the
old defaults (a fixed 5 requests/s, 8 in flight) for reference. The second run talks to
a sandbox restarted on the same port, so it is the same API URL (what the memory is keyed
by) with an empty window, as the next day's run would find it.

* ``blind-low``: 30 requests per rolling 30 s (Spotify's window), a pull that needs three;
* ``blind-high``: 200 per 30 s, the whole pull fits one window;
* ``blind-latency``: no limit, 50 ms latency, no plan named.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .contenders import Argv, Contender, _peer, pull_command
from .runner import Run, run_one
from .scenarios import LATENCY, MARKETS, Scenario

__all__ = ["BLIND", "BlindRow", "blind_markdown", "blind_scenarios", "run_blind"]

BLIND = ("blind-low", "blind-high", "blind-latency")
#: Our runs are told nothing: every flag default (``--rate auto``).
AUTO: tuple[str, ...] = ()
#: The defaults before ``--rate auto``, a fixed rate, for reference.
FIXED = ("--rate", "5", "--concurrency", "8")
FIRST, SECOND = "defaults, first run", "defaults, second run"
FLOOR, DEFAULTS = "floor", "fixed 5/s, 8 in flight"
#: The rolling windows: Spotify's 30 s. Retry-After comes in whole seconds, so a window
#: learned from it is up to 1 s long: 3% of 30 s, which needs no trial (a 5 s window's
#: fifth is narrowed by trials: tests/client/test_trials.py).
LOW, HIGH = (30, 30.0), (200, 30.0)
#: The quick run's low limit: a shorter window, to stay quick; its figures are a smoke test.
QUICK_LOW = (10, 10.0)


def blind_scenarios(*, quick: bool = False) -> list[Scenario]:
    """The three blind scenarios; ``quick`` shrinks the catalogue."""
    markets = MARKETS[:2] if quick else MARKETS
    base = {"seed": 1, "markets": markets, "albums_per_market": 50 if quick else 100, **LATENCY}
    low, high = QUICK_LOW if quick else LOW, HIGH
    return [
        Scenario(
            "blind-low",
            "blind, limit low",
            {**base, "rate_limit": low[0], "rate_window": low[1]},
            AUTO,
            1,
        ),
        Scenario(
            "blind-high",
            "blind, limit high",
            {**base, "rate_limit": high[0], "rate_window": high[1]},
            AUTO,
            1,
        ),
        Scenario("blind-latency", "blind, latency-bound", dict(base), AUTO, 1),
    ]


def _ours(flags: tuple[str, ...], cache: Path) -> Argv:
    def argv(scenario: Scenario, sandbox: Any, out: Path) -> list[str]:
        # env is the runner's; the cache directory is named on the command line instead
        cmd = pull_command(scenario, sandbox, out, flags)
        return ["env", f"SPOTIFY_ETL_CACHE_DIR={cache}", *cmd]

    return argv


def _floor(unlimited: bool) -> Contender:
    peer = _peer("floor")

    def argv(scenario: Scenario, sandbox: Any, out: Path) -> list[str]:
        if unlimited:  # not told any window: what the pull costs with nothing holding it
            free = {k: v for k, v in scenario.sandbox.items() if not k.startswith("rate_")}
            scenario = dataclasses.replace(scenario, sandbox=free)
        return peer(scenario, sandbox, out)

    return Contender(FLOOR, argv, development=True)


@dataclass
class BlindRow:
    """One contender's run of one blind scenario, with what our manifest said."""

    scenario: str
    contender: str
    run: Run
    pacing: dict[str, Any]

    @property
    def episodes(self) -> int | None:
        value = self.pacing.get("throttle_episodes")
        return int(value) if isinstance(value, int) else None


def _pacing(folder: Path) -> dict[str, Any]:
    path = folder / "out" / "manifest.json"
    if not path.exists():
        return {}
    pacing = orjson.loads(path.read_bytes()).get("pacing")
    return pacing if isinstance(pacing, dict) else {}


def run_blind(scenarios: list[Scenario], workdir: Path, log: Any, reps: int = 1) -> list[BlindRow]:
    """Every blind scenario ``reps`` times in turn: floor, our first and second run (from
    a cache fresh for each repetition), the defaults."""
    rows: list[BlindRow] = []
    for scenario in scenarios:
        for rep in range(reps):
            rows += _repetition(scenario, rep, workdir, log)
    return rows


def _repetition(scenario: Scenario, rep: int, workdir: Path, log: Any) -> list[BlindRow]:
    rows: list[BlindRow] = []
    cache = Path(tempfile.mkdtemp(prefix="blind-cache-", dir=workdir))
    high = scenario.key in ("blind-high", "blind-latency")
    plan = [
        (_floor(unlimited=high), scenario.sandbox),
        (Contender(FIRST, _ours(AUTO, cache), development=True), scenario.sandbox),
        (Contender(SECOND, _ours(AUTO, cache), development=True), None),
        (Contender(DEFAULTS, _ours(FIXED, cache), development=True), scenario.sandbox),
    ]
    port = 0
    for contender, sandbox in plan:
        config = {**(sandbox or scenario.sandbox), "port": port if sandbox is None else 0}
        run = run_one(scenario, contender, rep, workdir, config, keep=True)
        folder = workdir / f"{scenario.key}-{contender.name.replace(' ', '-')}-{rep}"
        rows.append(BlindRow(scenario.key, contender.name, run, _pacing(folder)))
        log(run)
        shutil.rmtree(folder / "out", ignore_errors=True)
        if contender.name == FIRST:
            port = _port(run.command)
    shutil.rmtree(cache, ignore_errors=True)
    return rows


def _port(command: str) -> int:
    """The sandbox port a run's command line named (its --api-url)."""
    for word in command.split():
        if word.startswith("http://127.0.0.1:") and word.endswith("/v1"):
            return int(word.rsplit(":", 1)[1].split("/")[0])
    raise RuntimeError(f"no sandbox URL in {command!r}")


def _by(rows: list[BlindRow], scenario: str, contender: str) -> BlindRow | None:
    """The contender's runs of the scenario as one row: the median wall time of the
    correct runs (with its pacing), the worst 429s and episodes of all."""
    mine = [r for r in rows if r.scenario == scenario and r.contender == contender]
    if not mine:
        return None
    ok = sorted((r for r in mine if r.run.status == "ok" and r.run.wall), key=_wall)
    if len(ok) < len(mine):
        return next(r for r in mine if r.run.status != "ok")
    middle = ok[len(ok) // 2]
    worst = dataclasses.replace(
        middle.run, throttled=max(r.run.throttled or 0 for r in mine), rep=len(mine)
    )
    episodes = [r.episodes for r in mine if r.episodes is not None]
    pacing = dict(middle.pacing)
    if episodes:
        pacing["throttle_episodes"] = max(episodes)
    return BlindRow(scenario, contender, worst, pacing)


def _wall(row: BlindRow) -> float:
    return row.run.wall or 0.0


def _ratio(row: BlindRow | None, base: BlindRow | None) -> float | None:
    if row is None or base is None or row.run.status != "ok" or base.run.status != "ok":
        return None
    if not row.run.wall or not base.run.wall:
        return None
    return row.run.wall / base.run.wall


def targets(rows: list[BlindRow]) -> list[tuple[str, str, str, bool | None]]:
    """(scenario, goal, measured, met) for each Done-when figure."""
    found: list[tuple[str, str, str, bool | None]] = []

    def check(scenario: str, who: str, goal: str, limit: float, episodes: int) -> None:
        row, floor = _by(rows, scenario, who), _by(rows, scenario, FLOOR)
        value = _ratio(row, floor)
        if value is None or row is None:
            found.append((scenario, goal, "n/a", None))
            return
        got = row.episodes
        said = f"{value:.2f}x, {row.run.throttled} 429s in {got} episode(s)"
        ok = value <= limit and got is not None and (got <= episodes)
        if episodes == 0:
            ok = ok and row.run.throttled == 0
        found.append((scenario, goal, said, ok))

    check("blind-low", FIRST, "first run ≤ 1.3x the window bound, ≤ 1 429 episode", 1.3, 1)
    check("blind-low", SECOND, "second run ≤ 1.1x the window bound, 0 429s", 1.1, 0)
    check("blind-high", SECOND, "second run ≤ 1.5x the unlimited floor, 0 429s", 1.5, 0)
    check("blind-latency", SECOND, "second run ≤ 1.1x the floor", 1.1, 0)
    return found


def _pacing_text(row: BlindRow) -> str:
    pacing = row.pacing
    if not pacing:
        return "–"
    if pacing.get("rate") != "auto":
        return f"{pacing.get('rate')}/s"
    limit = pacing.get("limit")
    if not limit:
        return f"no limit met (≤ {pacing.get('fastest_clean_rate')}/s clean)"
    return f"{limit['requests']}/{limit['seconds']:g} s, {pacing.get('limit_source')}"


def blind_markdown(scenarios: list[Scenario], rows: list[BlindRow]) -> str:
    """The blind section: one table per scenario, then the targets."""
    lines = ["### Blind pacing (the limit hidden)", ""]
    lines.append(
        "The floor is told the window (`blind-low`) or runs unlimited (`blind-high`,"
        " `blind-latency`); our runs are told nothing: every flag default (`--rate auto`,"
        " 32 in flight, no plan named), first from a fresh cache, then from"
        " the cache that run left, against a sandbox restarted on the same port. Each is run"
        " in turn, repetition after repetition (each from a fresh cache); tables show the"
        " median wall time and the worst 429s and 429 episodes."
    )
    lines.append("")
    for scenario in scenarios:
        sb = scenario.sandbox
        limit = (
            f"{sb['rate_limit']} requests per {sb['rate_window']:g} s rolling window"
            if sb.get("rate_limit")
            else "no rate limit"
        )
        size = f"{len(sb['markets'])} market(s) × {sb['albums_per_market']} albums"
        lines += [f"**{scenario.title}**: {size}, 50 ms ± 20 ms latency, {limit}.", ""]
        lines += [
            "| contender | result | wall s | × floor | requests / min | 429s | episodes | pacing |",
            "|---|---|--:|--:|--:|--:|--:|---|",
        ]
        floor = _by(rows, scenario.key, FLOOR)
        names = dict.fromkeys(r.contender for r in rows if r.scenario == scenario.key)
        for row in (_by(rows, scenario.key, name) for name in names):
            assert row is not None
            run = row.run
            value = _ratio(row, floor)
            lines.append(
                f"| {row.contender} | {run.status} | {_n(run.wall)} | {_n(value)} |"
                f" {run.requests} / {run.minimum} | {run.throttled} |"
                f" {'–' if row.episodes is None else row.episodes} | {_pacing_text(row)} |"
            )
        lines.append("")
    lines += ["| scenario | target | measured | met |", "|---|---|---|---|"]
    for key, goal, measured, met in targets(rows):
        mark = "n/a" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {key} | {goal} | {measured} | {mark} |")
    return "\n".join(lines) + "\n"


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it through scripts/bench --blind")
