"""Scenario 5: SIGKILL at seeded moments spread across one pull, resuming each time; the
final files equal an uninterrupted pull's byte for byte once sorted (extraction times
aside), with no torn line and nothing past the journal's last commit.

The moments are tied to the pull's progress, not to the clock, so a loaded machine moves
them in time but not in the pull: kill *i* of *K* waits until the running process has
committed a seeded share of the albums from the upper part of the *i*-th of K equal
slices of the pull (and at least one album more than the previous kill saw), then either
waits a seeded fraction of a commit interval, or waits for the next commit to begin and
kills it half-way (its data written, its journal line not yet).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.core.settings import Compression
from async_spotify_etl.output.journal import read_journal
from async_spotify_etl.output.layout import JOURNAL_NAME, STREAMS, data_path
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import (
    cli_env,
    expected_records,
    normalised,
    pick,
    pull_args,
    run_cli,
    scan_for_secrets,
    tally,
)

KILLS = pick(5, 20)
ALBUMS = pick(150, 600)
SEED = 20261125
#: One Get Album per album, paced so the pull spans many half-second commits (about 8 s
#: short, 20 s long) and the last kill still has most of a second before the pull ends.
PACE = ("--expand", "album", "--rate", pick("32", "50"), "--burst", "2", "--concurrency", "8")
#: The last kill's target: kills land between 0 and this share of the albums.
REACH = 0.85
#: How long each fsync of a run meant to be killed mid-commit takes: a commit then lasts
#: long enough (several fsyncs) for the watcher, polling every few ms, to catch it.
SLOW_FSYNC = 0.05
POLL = 0.003
SUFFIX = {"none": ".ndjson", "gzip": ".ndjson.gz"}


@dataclass(frozen=True)
class KillPoint:
    """When one run dies: after ``target`` albums are committed, then ``delay`` seconds
    later, or (``mid_commit``) in the middle of the next commit."""

    target: int
    delay: float
    mid_commit: bool


def kill_points(albums: int, rng: random.Random) -> list[KillPoint]:
    """K seeded kill points, one in the upper quarter of each of K equal slices of the
    first ``REACH`` of the pull; a third of them mid-commit."""
    mid = set(rng.sample(range(KILLS), math.ceil(KILLS / 3)))
    return [
        KillPoint(
            target=math.ceil(albums * REACH * (i + 1 - rng.uniform(0, 0.25)) / KILLS),
            delay=rng.uniform(0, 0.25),
            mid_commit=i in mid,
        )
        for i in range(KILLS)
    ]


class Watcher:
    """Follows a running pull's ``.journal`` and data files from outside the process."""

    def __init__(self, out: Path, compress: Compression) -> None:
        self.journal = out / JOURNAL_NAME
        self.data = {name: data_path(out, name, compress) for name in STREAMS}
        self._size = -1
        self._offsets: dict[str, int] = {}
        self.done = 0

    def poll(self) -> int:
        """Albums committed so far (the journal is re-read when it grew)."""
        size = self.journal.stat().st_size if self.journal.exists() else 0
        if size != self._size:
            self._size = size
            state = read_journal(self.journal, STREAMS)
            self._offsets, self.done = state.offsets, len(state.done)
        return self.done

    def uncommitted(self) -> bool:
        """Whether a data file holds bytes past the last commit: a commit is under way
        (or was cut short)."""
        self.poll()
        return any(
            path.exists() and path.stat().st_size > self._offsets.get(name, 0)
            for name, path in self.data.items()
        )

    async def until(self, point: KillPoint, at_least: int) -> None:
        """Return at the moment ``point`` says the process should die."""
        goal = max(point.target, at_least)
        await _polled(lambda: self.poll() >= goal, POLL)
        if point.mid_commit:
            await _polled(self.uncommitted, POLL / 3)
        else:
            await asyncio.sleep(point.delay)


async def _polled(condition: Callable[[], bool], every: float) -> None:
    """Wait until ``condition()``: it reads another process's files, so there is nothing
    to await but time."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(every)


@pytest.mark.parametrize("compress", ["none", "gzip"])
async def test_sigkill_across_a_pull_then_resume_equals_an_uninterrupted_pull(
    sandbox_factory: SandboxFactory, tmp_path: Path, compress: Compression
) -> None:
    sb = await sandbox_factory(
        seed=5,
        markets=("US", "GB"),
        albums_per_market=ALBUMS,
        latency=0.01,
        latency_jitter=0.01,
        client_secret="chaos-kill-secret",
    )
    env = cli_env(sb)
    reference = tmp_path / "reference"
    fast = ("--expand", "album", "--rate", "1000", "--burst", "100", "--compress", compress)
    whole = await run_cli(pull_args(sb, reference, *fast), env, tmp_path)
    assert whole.code == 0, whole.stderr
    expected = expected_records(sb.truth(), sb.config.markets)
    albums = len(expected)

    out = tmp_path / "out"
    pace = (*PACE, "--compress", compress)
    watcher = Watcher(out, compress)
    runs = []
    progress: list[int] = []  # albums committed when each killed run died
    torn = 0  # kills that left data past the journal's last commit
    for attempt, point in enumerate(kill_points(albums, random.Random(SEED))):
        args = pull_args(sb, out, *pace, *(["--resume"] if attempt else []))
        fmt = ("--log-format", "json" if attempt % 2 else "text")
        floor = progress[-1] + 1 if progress else 1

        async def moment(point: KillPoint = point, floor: int = floor) -> None:
            await watcher.until(point, floor)

        slow = SLOW_FSYNC if point.mid_commit else 0.0
        runs.append(await run_cli([*args, *fmt], env, tmp_path, kill_when=moment, slow_fsync=slow))
        torn += runs[-1].killed and watcher.uncommitted()
        progress.append(watcher.done)
    last = await run_cli(pull_args(sb, out, *pace, "--resume"), env, tmp_path)
    runs.append(last)
    killed = [p for r, p in zip(runs, progress, strict=False) if r.killed]
    codes = [-9 if r.killed else r.code for r in runs]
    counts = tally(out, expected)
    record(
        Figures(
            f"SIGKILL x{KILLS} then --resume ({compress})",
            runs=len(runs),
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            exit_codes=codes,
            notes=f"{len(killed)} of {KILLS} runs killed (-9) before finishing, each after"
            f" committing at least one album more, {torn} of them in the middle of a commit"
            f" (data written past the journal's last line); seed {SEED}; albums committed"
            f" at each kill: {', '.join(map(str, progress))} of {albums}",
        )
    )
    assert last.code == 0, last.stderr
    assert all(r.code in (0, -9) for r in runs), [r.stderr for r in runs if r.code not in (0, -9)]
    # Every kill point lies well before the end of the pull: each one killed a live run,
    # and each run committed something before it died (a resume never loses a commit).
    assert len(killed) == KILLS, codes
    assert all(b > a for a, b in zip([0, *progress], progress, strict=False)), progress
    # The kills cover the pull: the first in its first third, the last past four fifths.
    assert progress[0] <= albums / 3, progress
    assert progress[-1] >= 0.8 * albums, progress
    assert torn >= 1  # at least one commit was cut between its data and its journal line
    assert normalised(out) == normalised(reference)
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    state = read_journal(out / JOURNAL_NAME, STREAMS)
    assert {n: (out / f"{n}{SUFFIX[compress]}").stat().st_size for n in STREAMS} == state.offsets
    assert orjson.loads((out / "manifest.json").read_bytes())["status"] == "complete"
    logs = [text for r in [whole, *runs] for text in (r.stdout, r.stderr)]
    assert scan_for_secrets(sb, logs, [out, reference]) == 0
