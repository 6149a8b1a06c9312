"""One measured run: a fresh sandbox process, one contender process, what both saw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from async_spotify_etl.engine.plan import artists_minimum, minimum_requests

from .contenders import Contender
from .sandbox_proc import SandboxInfo, SandboxProcess
from .scenarios import Scenario
from .verify import expected, expected_artists, verify

__all__ = ["ROOT", "Run", "run_one", "startup"]

ROOT = Path(__file__).resolve().parent.parent
#: A run still going after this many seconds is killed and reported as failed.
TIMEOUT = 600.0


@dataclass(frozen=True)
class Usage:
    """What the kernel counted for one contender process."""

    cpu: float
    peak_rss_mb: float


@dataclass
class Run:
    """Everything measured in one run of one contender on one scenario."""

    scenario: str
    contender: str
    rep: int
    status: str  # ok, wrong, failed, n/a
    detail: str = ""
    command: str = ""
    wall: float | None = None
    cpu: float | None = None
    peak_rss_mb: float | None = None
    server_cpu: float | None = None
    #: CPU seconds the rest of the machine used meanwhile: other processes are noise.
    other_cpu: float | None = None
    requests: int | None = None
    minimum: int | None = None
    by_route: dict[str, dict[str, int]] = field(default_factory=dict)
    throttled: int | None = None
    during_retry_after: int | None = None
    max_in_flight: int | None = None
    tokens: int | None = None
    albums: int | None = None
    tracks: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _minimum(truth: dict[str, Any], development: bool) -> int:
    """The fewest API requests that fetch this catalogue (the planner's arithmetic:
    in development mode, search ``tag:new`` once per market, and no artist; otherwise
    every credited artist, 50 a several-artists call)."""
    markets = truth["markets"]
    listed = {m: truth["search_new"] for m in markets} if development else markets
    counts = {album_id: len(tracks) for album_id, tracks in truth["albums"].items()}
    plan = minimum_requests(listed, counts, "development" if development else "extended")
    if not development:
        plan.update(artists_minimum("several", len(expected_artists(truth, development=False))))
    return sum(plan.values())


def _cpu_clocks(pid: int) -> tuple[float, float] | None:
    """CPU seconds so far of the sandbox process and of the whole machine (None without
    psutil, which the bench extra installs)."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return None
    mine = psutil.Process(pid).cpu_times()
    machine = psutil.cpu_times()
    return float(mine.user + mine.system), float(sum(machine) - machine.idle - machine.iowait)


def _measure(cmd: list[str], env: dict[str, str], logs: Path) -> tuple[int, float, Usage]:
    """Run ``cmd`` through the launcher (``bench/measure.py``); its exit code, wall seconds,
    and CPU seconds and peak RSS of that process alone."""
    result = logs / "measure.json"
    launcher = [sys.executable, "-S", str(ROOT / "bench" / "measure.py")]
    launcher += [str(result), str(TIMEOUT), "--", *cmd]
    with (logs / "stdout.txt").open("wb") as out, (logs / "stderr.txt").open("wb") as err:
        subprocess.run(launcher, stdout=out, stderr=err, env=env, cwd=ROOT, check=True)
    measured = json.loads(result.read_text())
    usage = Usage(measured["cpu"], measured["peak_rss_kb"] / 1024)
    return measured["exit_code"], measured["wall"], usage


def _stderr_tail(logs: Path) -> str:
    lines = (logs / "stderr.txt").read_text(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no output on stderr"


def _record_stats(run: Run, stats: dict[str, Any]) -> None:
    routes: dict[str, dict[str, int]] = stats["requests"]
    run.by_route = routes
    run.requests = sum(sum(s.values()) for r, s in routes.items() if r != "token")
    run.throttled = stats["throttled"]
    run.during_retry_after = stats["during_retry_after"]
    run.max_in_flight = stats["max_in_flight"]
    run.tokens = stats["tokens_issued"]


def run_one(
    scenario: Scenario,
    contender: Contender,
    rep: int,
    workdir: Path,
    sandbox: dict[str, Any] | None = None,
    *,
    keep: bool = False,
) -> Run:
    """Start a sandbox, run ``contender`` against it once, measure and check."""
    run = Run(scenario.key, contender.name, rep, "n/a")
    if not contender.applies(scenario):
        run.detail = "cannot pull in development mode" if scenario.development else "not run"
        return run
    out = workdir / f"{scenario.key}-{contender.name.replace(' ', '-')}-{rep}"
    shutil.rmtree(out, ignore_errors=True)  # a pull refuses to start over an earlier one
    out.mkdir(parents=True)
    with SandboxProcess(sandbox or scenario.sandbox) as sb:
        cmd = contender.command(scenario, sb, out / "out")
        assert cmd is not None
        run.command = " ".join(cmd)
        truth = sb.inspect("truth")
        want = expected(truth, development=scenario.development)
        run.minimum = _minimum(truth, scenario.development)
        run.albums, run.tracks = len(want), sum(len(t) for t in want.values())
        _execute(run, cmd, sb, out, want, truth, scenario.development, contender.artists)
    if not keep:
        shutil.rmtree(out / "out", ignore_errors=True)
    return run


def _execute(
    run: Run,
    cmd: list[str],
    sb: SandboxInfo,
    out: Path,
    want: dict[str, list[str]],
    truth: dict[str, Any],
    development: bool,
    fetches_artists: bool,
) -> None:
    env = {
        **os.environ,
        "SPOTIFY_CLIENT_ID": sb.client_id,
        "SPOTIFY_CLIENT_SECRET": sb.client_secret,
        "PYTHONPATH": str(ROOT),
        # a fresh memory per run (never the user's own cache): nothing learned carries over
        "SPOTIFY_ETL_CACHE_DIR": str(out / "cache"),
    }
    before = _cpu_clocks(sb.pid)
    code, wall, usage = _measure(cmd, env, out)
    after = _cpu_clocks(sb.pid)
    _record_stats(run, sb.inspect("stats"))
    run.wall = wall
    run.cpu = usage.cpu
    run.peak_rss_mb = usage.peak_rss_mb
    if before is not None and after is not None:
        run.server_cpu = after[0] - before[0]
        run.other_cpu = max(0.0, after[1] - before[1] - run.server_cpu - run.cpu)
    if code != 0:
        run.status, run.detail = "failed", f"exit {code}: {_stderr_tail(out)}"
        return
    artists = expected_artists(truth, development=development) if fetches_artists else None
    problem = verify(out / "out", want, artists)
    run.status, run.detail = ("wrong", problem) if problem else ("ok", "")


def startup(contender: Contender, times: int = 3) -> float | None:
    """Median seconds to start the contender's interpreter and import what it imports."""
    if not contender.startup:
        return None
    walls = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(times):
        start = time.perf_counter()
        subprocess.run(contender.startup, env=env, cwd=ROOT, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    return sorted(walls)[len(walls) // 2]
