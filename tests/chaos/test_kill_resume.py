"""Scenario 5: SIGKILL at seeded random moments across one pull, resuming each time; the
final files equal an uninterrupted pull's byte for byte once sorted (extraction times
aside), with no torn line and nothing past the journal's last commit."""

from __future__ import annotations

import random
import time
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.journal import JOURNAL_NAME, read_journal
from async_spotify_etl.sink import FILES
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
#: One Get Album per album, paced: a pull lasts seconds, so the kills land all across it.
PACE = ("--expand", "album", "--rate", "100", "--burst", "10", "--concurrency", "8")
SUFFIX = {"none": ".ndjson", "gzip": ".ndjson.gz"}


@pytest.mark.parametrize("compress", ["none", "gzip"])
async def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_pull(
    sandbox_factory: SandboxFactory, tmp_path: Path, compress: str
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
    pace = (*PACE, "--compress", compress)
    reference = tmp_path / "reference"
    started = time.monotonic()
    whole = await run_cli(pull_args(sb, reference, *pace), env, tmp_path)
    span = time.monotonic() - started
    assert whole.code == 0, whole.stderr

    out = tmp_path / "out"
    rng = random.Random(SEED)
    runs = []
    progress: list[int] = []  # albums committed after each killed run
    # Each run gets on average about 1/KILLS of the pull (plus its start-up) before its kill.
    window = 1.0 + 1.5 * span / KILLS
    for attempt in range(KILLS):
        args = pull_args(sb, out, *pace, *(["--resume"] if attempt else []))
        fmt = ("--log-format", "json" if attempt % 2 else "text")
        runs.append(
            await run_cli([*args, *fmt], env, tmp_path, kill_after=rng.uniform(0.3, window))
        )
        journal = out / JOURNAL_NAME
        progress.append(len(read_journal(journal, FILES).done) if journal.exists() else 0)
    last = await run_cli(pull_args(sb, out, *pace, "--resume"), env, tmp_path)
    runs.append(last)
    killed = sum(r.killed for r in runs)
    codes = [-9 if r.killed else r.code for r in runs]
    expected = expected_records(sb.truth(), sb.config.markets)
    counts = tally(out, expected)
    record(
        Figures(
            f"SIGKILL x{KILLS} then --resume ({compress})",
            runs=len(runs),
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            exit_codes=codes,
            notes=f"{killed} runs killed mid-pull (-9), seed {SEED}; albums committed at"
            f" each kill: {', '.join(map(str, progress))} of {len(expected)};"
            f" uninterrupted pull {span:.1f} s",
        )
    )
    assert last.code == 0, last.stderr
    assert killed >= KILLS // 2  # most kill points fell inside a pull, not after it
    assert progress == sorted(progress)  # a resume never loses what was committed
    assert any(0 < p < len(expected) for p in progress)  # a kill landed between commits
    assert all(r.code in (0, -9) for r in runs), [r.stderr for r in runs if r.code not in (0, -9)]
    assert normalised(out) == normalised(reference)
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    state = read_journal(out / JOURNAL_NAME, FILES)
    assert {n: (out / f"{n}{SUFFIX[compress]}").stat().st_size for n in FILES} == state.offsets
    assert orjson.loads((out / "manifest.json").read_bytes())["status"] == "complete"
    logs = [text for r in [whole, *runs] for text in (r.stdout, r.stderr)]
    assert scan_for_secrets(sb, logs, [out, reference]) == 0
