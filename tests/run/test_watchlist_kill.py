"""A watchlist pull killed with SIGKILL resumes to exactly an uninterrupted one (the CLI
as a real process), and a killed watchlist run of a dataset replays its recorded listing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.output.dataset import Dataset
from async_spotify_etl.output.reader import read_committed
from async_spotify_etl.sandbox import Sandbox
from tests.pulls import comparable, manifest
from tests.run.test_kill_resume import commits, finish
from tests.run.test_watchlist import watched, watchlist_file

SandboxFactory = Callable[..., Awaitable[Sandbox]]
CATALOGUE = ["--sandbox", "--sandbox-seed", "4", "--sandbox-albums", "60", "--market", "US"]
WINDOW = ["--since", "30", "--expand", "album"]
SLOW = ["--rate", "30", "--burst", "1", "--sandbox-latency", "0.005", "--sandbox-rate-limit", "0"]
FAST = ["--rate", "5000", "--sandbox-latency", "0", "--sandbox-rate-limit", "0"]


def start(where: list[str], artists: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "async_spotify_etl", "pull", *CATALOGUE, *WINDOW]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    env["SPOTIFY_ETL_CACHE_DIR"] = str(artists.parent / "cache")
    return subprocess.Popen(
        [*argv, *where, "--artist-ids", str(artists), "--no-progress", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_until(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30  # a hang guard, not a timing assertion
    while not ready():
        assert proc.poll() is None, "the pull ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.fixture
async def artists(sandbox_factory: SandboxFactory, tmp_path: Path) -> Path:
    """A watchlist of the CLI's sandbox catalogue (the same seed, albums and market)."""
    sb = await sandbox_factory(markets=("US",), albums_per_market=60, seed=4)
    return watchlist_file(tmp_path, watched(sb, 20))


def test_sigkill_then_resume_of_a_watchlist_equals_an_uninterrupted_pull(
    artists: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    code, err = finish(start(["--out", str(reference)], artists, *FAST))
    assert code == 0, err
    assert manifest(reference)["counts"]["albums"] > 5

    out = tmp_path / "out"
    proc = start(["--out", str(out)], artists, *SLOW)
    wait_until(proc, lambda: commits(out) >= 2)
    proc.kill()
    finish(proc)
    # the resume takes the watchlist, its window and groups from the pull: no flag retyped
    argv = [sys.executable, "-m", "async_spotify_etl", "pull", *CATALOGUE, "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    resumed = subprocess.run(
        [*argv, "--resume", "--no-progress", *FAST],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert comparable(out) == comparable(reference)
    made = manifest(out)
    assert made["status"] == "complete"
    assert made["resumed"] is True
    assert made["this_run"]["albums"] > 0  # the kill did land mid-pull
    assert made["plan"]["source"] == "artists"
    assert made["plan"]["since"] == manifest(reference)["plan"]["since"]


def test_a_killed_watchlist_run_of_a_dataset_replays_its_listing(
    artists: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    code, err = finish(start(["--dataset", str(reference)], artists, *FAST))
    assert code == 0, err

    root = tmp_path / "dataset"
    proc = start(["--dataset", str(root)], artists, *SLOW)

    def listed_and_committing() -> bool:
        runs = sorted((root / "runs").glob("*")) if (root / "runs").exists() else []
        return bool(runs) and (runs[-1] / "listings.ndjson").exists() and commits(runs[-1]) >= 1

    wait_until(proc, listed_and_committing)
    proc.kill()
    finish(proc)
    code, err = finish(start(["--dataset", str(root)], artists, *FAST))
    assert code == 0, err
    (run,) = Dataset(root).runs()
    folder = root / run["path"]
    made = manifest(folder)
    assert made["status"] == "complete"
    assert "artist-albums" not in made["runs"][-1]["requests"]  # the listing was replayed
    (ref,) = Dataset(reference).runs()
    ref_folder = reference / ref["path"]

    def albums(where: Path) -> list[str]:
        return sorted(a["id"] for a in read_committed(where, "albums"))

    def listing(where: Path) -> list[tuple[str, int, str]]:
        rows = [
            orjson.loads(line) for line in (where / "listings.ndjson").read_bytes().splitlines()
        ]
        return sorted((r["market"], r["position"], r["album_id"]) for r in rows)

    assert albums(folder) == albums(ref_folder)
    assert listing(folder) == listing(ref_folder)
