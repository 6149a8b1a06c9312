"""Killed pulls resume to exactly an uninterrupted pull (the CLI as a real process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from async_spotify_etl import read_committed
from async_spotify_etl.cli import main
from async_spotify_etl.output.layout import JOURNAL_NAME
from async_spotify_etl.output.manifest import load_manifest
from tests.pulls import comparable, manifest

CATALOGUE = ["--sandbox", "--sandbox-seed", "4", "--sandbox-albums", "60", "--market", "US,GB,DE"]
#: Slow enough to be caught mid-pull even on a busy machine: ~160 requests at 40 a second.
SLOW = ["--rate", "40", "--burst", "2", "--sandbox-latency", "0.005", "--sandbox-rate-limit", "0"]
FAST = ["--rate", "5000", "--sandbox-latency", "0", "--sandbox-rate-limit", "0"]


def start(out: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "async_spotify_etl", "pull", *CATALOGUE, "--expand", "album"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    return subprocess.Popen(
        [*argv, "--out", str(out), "--no-progress", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for the process (a hang guard, not a timing assertion); its code and stderr."""
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def commits(out: Path) -> int:
    """Complete journal lines past the plan line."""
    try:
        return max(0, (out / JOURNAL_NAME).read_bytes().count(b"\n") - 1)
    except FileNotFoundError:
        return -1


def wait_for_commits(proc: subprocess.Popen[str], out: Path, n: int) -> None:
    deadline = time.monotonic() + 30  # a hang guard, not a timing assertion
    while commits(out) < n:
        assert proc.poll() is None, "the pull ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One uninterrupted pull of the same catalogue."""
    out = tmp_path_factory.mktemp("reference") / "out"
    code, err = finish(start(out, *FAST))
    assert code == 0, err
    return comparable(out)


@pytest.mark.parametrize(
    ("at_commits", "compress"), [(0, "none"), (1, "gzip"), (3, "none")], ids=str
)
def test_sigkill_then_resume_equals_an_uninterrupted_pull(
    tmp_path: Path,
    reference: dict[str, object],
    at_commits: int,
    compress: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    proc = start(out, *SLOW, "--compress", compress)
    wait_for_commits(proc, out, at_commits)
    proc.kill()
    finish(proc)
    assert commits(out) >= at_commits
    if at_commits:  # what load and report are shown of the killed pull
        killed = load_manifest(out).observed(out)
        assert killed.status == "killed"
        assert killed.counts["albums"] == committed_albums(out) > 0
        assert main(["load", "--duckdb", str(tmp_path / "killed.duckdb"), str(out)]) == 0
        loaded = capsys.readouterr()
        assert f"{committed_albums(out)} albums" in loaded.out
        assert "was killed" in loaded.err
        assert "--resume" in loaded.err
    code, err = finish(start(out, *FAST, "--compress", compress, "--resume"))
    assert code == 0, err
    assert comparable(out) == reference
    made = manifest(out)
    assert made["status"] == "complete"
    assert made["resumed"] == (at_commits > 0)
    assert made["this_run"]["albums"] > 0  # the kill did land mid-pull
    assert made["counts"]["albums"] == len(reference["albums"])  # type: ignore[arg-type]
    if at_commits:
        first, last = made["runs"]
        assert first["status"] == "killed"
        assert first["albums"] + last["albums"] == made["counts"]["albums"]
        assert last["requests"]
        assert made["requests"] == last["requests"]


def committed_albums(out: Path) -> int:
    return sum(1 for _ in read_committed(out, "albums"))


def test_sigint_exits_130_says_how_to_resume_and_resume_finishes(
    tmp_path: Path, reference: dict[str, object]
) -> None:
    out = tmp_path / "out"
    proc = start(out, *SLOW)
    wait_for_commits(proc, out, 1)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 130
    assert "Traceback" not in err
    assert "interrupted" in err
    assert "--resume" in err
    assert manifest(out)["status"] == "interrupted"
    assert finish(start(out, *FAST, "--resume"))[0] == 0
    assert comparable(out) == reference


def test_sigterm_stops_cleanly_too(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start(out, *SLOW)
    wait_for_commits(proc, out, 1)
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 130, err
    assert "--resume" in err
    assert manifest(out)["status"] == "interrupted"
