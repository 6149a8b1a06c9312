"""A dataset kept over time against the sandbox: runs that fetch only what is new, their
listings and change events, budgets that spread a run over several, one run at a time."""

from __future__ import annotations

import dataclasses
import fcntl
import math
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl import BudgetSpentError, ConfigurationError
from async_spotify_etl.cli import main
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.output.dataset import Dataset
from async_spotify_etl.output.reader import read_committed
from async_spotify_etl.run.dataset import run_dataset
from async_spotify_etl.sandbox import Sandbox
from tests.pulls import assert_artists_match_truth

SandboxFactory = Callable[..., Awaitable[Sandbox]]
MARKETS = ("US", "GB")


def settings_for(sb: Sandbox, root: Path, **client: Any) -> PullSettings:
    fields = {"rate": 2000.0, "burst": 200, **client}
    settings = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, **fields)
    return PullSettings(out=root, markets=MARKETS, client=settings)


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def every(root: Path, stream: str) -> list[dict[str, Any]]:
    """The committed records of ``stream`` across the runs the index lists."""
    runs = Dataset(root).runs()
    return [r for run in runs for r in read_committed(root / run["path"], stream)]


def served(sb: Sandbox) -> dict[str, int]:
    return {k: sum(v.values()) for k, v in sb.stats()["requests"].items() if k != "token"}


async def test_a_second_run_fetches_nothing_it_holds_and_records_its_listing(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=60, seed=3)
    truth = sb.truth()
    first = await run_dataset(settings_for(sb, tmp_path), sb.credentials)
    assert first.exit_code == 0
    before = served(sb)
    second = await run_dataset(settings_for(sb, tmp_path), sb.credentials)
    assert second.exit_code == 0

    runs = Dataset(tmp_path).runs()
    assert [r["status"] for r in runs] == ["complete", "complete"]
    assert runs[0]["id"] < runs[1]["id"]
    albums = every(tmp_path, "albums")
    assert sorted(a["id"] for a in albums) == sorted(truth["albums"])  # each once
    assert len(every(tmp_path, "tracks")) == sum(len(t) for t in truth["albums"].values())
    # the second run: the listing, and the artists its albums credit (refreshed), no more
    after = served(sb)
    spent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    listed_artists = {
        a for m in MARKETS for album in truth["markets"][m] for a in album_artists(tmp_path, album)
    }
    assert spent == {
        "new-releases": sum(math.ceil(len(truth["markets"][m]) / 50) for m in MARKETS),
        "several-artists": math.ceil(len(listed_artists) / 50),
    }
    second_artists = list(read_committed(tmp_path / runs[1]["path"], "artists"))
    assert {a["id"] for a in second_artists} == listed_artists
    for run in runs:  # every run records the whole listing it saw
        listing = lines(tmp_path / run["path"] / "listings.ndjson")
        for market in MARKETS:
            rows = sorted((r["position"], r["album_id"]) for r in listing if r["market"] == market)
            assert [a for _, a in rows] == truth["markets"][market]
            assert [n for n, _ in rows] == list(range(1, len(rows) + 1))
        assert {r["run_id"] for r in listing} == {run["id"]}
    events = [lines(tmp_path / r["path"] / "events.ndjson") for r in runs]
    assert len(events[0]) == sum(len(truth["markets"][m]) for m in MARKETS)
    assert {e["event"] for e in events[0]} == {"listed"}
    assert events[1] == []  # nothing moved between the two


def album_artists(root: Path, album_id: str) -> list[str]:
    for album in every(root, "albums"):
        if album["id"] == album_id:
            return [a["id"] for a in album["artists"]]
    raise AssertionError(album_id)


def test_events_say_what_entered_and_left_each_market(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path)
    with dataset.locked():
        first, second = tmp_path / "runs" / "a", tmp_path / "runs" / "b"
        first.mkdir()
        second.mkdir()
        dataset.record_listing(first, {"US": ["x", "y", "z"], "GB": ["x"]}, [])
        runs = [{"id": "a", "path": "runs/a", "markets": ["US", "GB"], "listed": True}]
        dataset.record_listing(second, {"US": ["z", "w", "x"], "DE": ["q"]}, runs)
    events = {(e["market"], e["album_id"]): e for e in lines(second / "events.ndjson")}
    # GB was not listed this run: no event for it (its list did not empty, it was not seen)
    assert {k: (e["event"], e["position"], e["previous_position"]) for k, e in events.items()} == {
        ("US", "w"): ("listed", 2, None),
        ("US", "y"): ("delisted", None, 2),
        ("DE", "q"): ("listed", 1, None),
    }
    dataset.record_listing(second, {"US": ["other"]}, runs)  # written once per run
    assert len(lines(second / "listings.ndjson")) == 4


async def test_a_budget_spreads_a_run_over_several_and_each_record_lands_once(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=60, seed=4)
    truth = sb.truth()
    stops = 0
    while True:
        try:
            await run_dataset(settings_for(sb, tmp_path, budget=9), sb.credentials)
            break
        except BudgetSpentError:
            stops += 1
            assert stops < 20, "the budgeted run makes no progress"
            (run,) = Dataset(tmp_path).runs()
            assert run["status"] == "stopped"
    assert stops >= 2
    (run,) = Dataset(tmp_path).runs()
    assert run["status"] == "complete"
    made = orjson.loads((tmp_path / run["path"] / "manifest.json").read_bytes())
    assert len(made["runs"]) == stops + 1
    assert all(sum(r["requests"].values()) <= 9 for r in made["runs"])
    # the listing was read once: a run finished after a stop replays what it recorded
    assert sum(r["requests"].get("new-releases", 0) for r in made["runs"]) == 4
    assert sorted(a["id"] for a in every(tmp_path, "albums")) == sorted(truth["albums"])
    tracks = [t["id"] for t in every(tmp_path, "tracks")]
    assert sorted(tracks) == sorted(t for ts in truth["albums"].values() for t in ts)
    assert_artists_match_truth(tmp_path / run["path"], truth, set(truth["albums"]), "extended")


async def test_a_budget_smaller_than_the_listing_still_completes_the_set(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """#23.7: a 6-page listing and --budget 4: the pages each run read are kept, the next
    run goes on from there, and repeated runs complete the set, each album once.
    (Development mode: search pages of 10, one Get Album per album of at most 50 tracks.)"""
    sb = await sandbox_factory(
        markets=("US",), albums_per_market=130, seed=22, access="development"
    )
    truth = sb.truth()
    assert 50 < len(truth["search_new"]) <= 60  # six pages
    settings = dataclasses.replace(
        settings_for(sb, tmp_path, budget=4), markets=("US",), artists="off"
    )
    stops = 0
    while True:
        try:
            await run_dataset(settings, sb.credentials)
            break
        except BudgetSpentError:
            stops += 1
            assert stops < 40, "the budgeted run makes no progress"
    (run,) = Dataset(tmp_path).runs()
    assert run["status"] == "complete"
    folder = tmp_path / run["path"]
    made = orjson.loads((folder / "manifest.json").read_bytes())
    assert all(sum(r["requests"].values()) <= 4 for r in made["runs"])
    ids = [a["id"] for a in every(tmp_path, "albums")]
    assert sorted(ids) == sorted(truth["search_new"])  # each once
    listed = sorted(lines(folder / "listings.ndjson"), key=lambda r: r["position"])
    assert [r["album_id"] for r in listed] == list(truth["search_new"])
    assert [r["position"] for r in listed] == list(range(1, len(listed) + 1))
    assert not (folder / "listing.partial.json").exists()
    assert len(lines(folder / "events.ndjson")) == len(listed)  # all new: "listed"


async def test_refresh_after_fetches_old_albums_again(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=20, seed=5)
    await run_dataset(settings_for(sb, tmp_path), sb.credentials)
    await run_dataset(settings_for(sb, tmp_path), sb.credentials, refresh_after_days=30)
    await run_dataset(settings_for(sb, tmp_path), sb.credentials, refresh_after_days=0)
    counts = [r["counts"]["albums"] for r in Dataset(tmp_path).runs()]
    assert counts == [len(sb.truth()["albums"]), 0, len(sb.truth()["albums"])]


async def test_two_runs_at_once_are_refused(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=10)
    fd = os.open(tmp_path / ".lock", os.O_WRONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ConfigurationError, match="another run is writing to the dataset"):
            await run_dataset(settings_for(sb, tmp_path), sb.credentials)
    finally:
        os.close(fd)
    assert served(sb) == {}  # refused before any request
    assert not list((tmp_path / "runs").iterdir())


def test_a_killed_run_is_not_indexed_and_the_next_run_finishes_it(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    argv = [sys.executable, "-m", "async_spotify_etl", "pull", "--sandbox", "--sandbox-seed", "6"]
    argv += ["--sandbox-albums", "60", "--market", "US,GB", "--dataset", str(root), "--no-progress"]
    slow = ["--rate", "40", "--burst", "2", "--sandbox-latency", "0.005"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    proc = subprocess.Popen(
        [*argv, *slow], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env
    )
    try:
        _wait_for_commits(proc, root, 2)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert Dataset(root).runs() == []  # the killed run is not in the index
    (killed,) = (root / "runs").iterdir()
    done = subprocess.run(
        [*argv, "--rate", "5000", "--sandbox-latency", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "did not complete: finishing it first" in done.stderr
    (run,) = Dataset(root).runs()
    assert (run["id"], run["status"]) == (killed.name, "complete")
    ids = [a["id"] for a in read_committed(killed, "albums")]
    assert len(ids) == len(set(ids)) == run["counts"]["albums"]
    artists = [a["id"] for a in read_committed(killed, "artists")]
    assert len(artists) == len(set(artists)) > 0


def _wait_for_commits(proc: subprocess.Popen[bytes], root: Path, n: int) -> None:
    import time

    deadline = time.monotonic() + 30  # a hang guard, not a timing assertion
    while True:
        journals = list(root.glob("runs/*/.journal"))
        if journals and journals[0].read_bytes().count(b"\n") > n:
            return
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--out", "x"], "--dataset and --out do not go together"),
        (["--resume"], "--dataset and --resume do not go together"),
    ],
)
def test_conflicting_flags_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], said: str
) -> None:
    assert main(["pull", "--sandbox", "--dataset", str(tmp_path / "d"), *extra]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert said in line
    assert main(["pull", "--sandbox", "--out", str(tmp_path / "o"), "--refresh-after", "3"]) == 2
    assert "--refresh-after needs --dataset" in capsys.readouterr().err


def test_budget_on_the_command_line_stops_with_exit_75_and_says_what_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["pull", "--sandbox", "--sandbox-latency", "0", "--rate", "2000", "--burst", "100"]
    argv += [
        "--sandbox-albums",
        "60",
        "--out",
        str(tmp_path / "o"),
        "--budget",
        "3",
        "--no-progress",
    ]
    assert main(argv) == 75
    captured = capsys.readouterr()
    assert "albums left" in captured.out
    (line,) = captured.err.strip().splitlines()
    assert "the budget of 3 API requests for this run is spent" in line
    assert "--resume" in line
    made = orjson.loads((tmp_path / "o" / "manifest.json").read_bytes())
    assert sum(made["requests"].values()) == 3
    assert made["status"] == "stopped"
    assert made["albums_left"] > 0
    assert main([*argv, "--resume"]) in (0, 75)
    again = orjson.loads((tmp_path / "o" / "manifest.json").read_bytes())
    assert again["counts"]["albums"] > made["counts"]["albums"]  # the next run goes on


def test_dry_run_on_a_dataset_counts_only_what_the_next_run_requests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["pull", "--sandbox", "--sandbox-latency", "0", "--rate", "2000", "--burst", "100"]
    argv += ["--sandbox-albums", "60", "--market", "US,GB", "--dataset", str(tmp_path / "d")]
    assert main([*argv, "--quiet"]) == 0
    capsys.readouterr()
    assert main([*argv, "--dry-run"]) == 0
    planned = capsys.readouterr().out
    assert "listed albums are in the dataset already" in planned
    assert "albums: 0" in planned
    assert main([*argv, "--quiet"]) == 0
    second = Dataset(tmp_path / "d").runs()[-1]
    assert f"requests: at least {second['requests']} (" in planned


async def test_runs_over_moving_lists_fetch_only_new_albums_and_feed_the_changes(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    truths = []
    for day in range(3):
        sb = await sandbox_factory(markets=MARKETS, albums_per_market=50, seed=9, day=day)
        truths.append(sb.truth())
        held = {a["id"] for a in every(tmp_path, "albums")}
        result = await run_dataset(settings_for(sb, tmp_path), sb.credentials)
        assert result.exit_code == 0
        listed = {a for m in MARKETS for a in truths[-1]["markets"][m]}
        assert result.albums == len(listed - held)  # only what the dataset lacked
        assert served(sb).get("several-albums", 0) == math.ceil(len(listed - held) / 20)
        # requests are the listing's minimum plus the new albums' (and the refreshed
        # artists'), and the manifest shows each
        made = result.manifest
        pages = sum(math.ceil(len(truths[-1]["markets"][m]) / 50) for m in MARKETS)
        assert made.minimum_requests["new-releases"] == pages
        assert made.minimum_requests.get("several-albums", 0) == math.ceil(len(listed - held) / 20)
        assert made.requests == made.minimum_requests
    runs = Dataset(tmp_path).runs()
    assert len(runs) == 3
    albums = [a["id"] for a in every(tmp_path, "albums")]
    assert len(albums) == len(set(albums))  # every album once across the dataset
    assert set(albums) == {a for t in truths for m in MARKETS for a in t["markets"][m]}
    for before, now, run in zip(truths, truths[1:], runs[1:], strict=False):
        events = lines(tmp_path / run["path"] / "events.ndjson")
        for market in MARKETS:
            was, new = before["markets"][market], now["markets"][market]
            got = {(e["event"], e["album_id"]) for e in events if e["market"] == market}
            assert got == {("listed", a) for a in set(new) - set(was)} | {
                ("delisted", a) for a in set(was) - set(new)
            }
            assert got, "the list moved"
            for e in events:
                if e["market"] == market and e["event"] == "listed":
                    assert new[e["position"] - 1] == e["album_id"]
                if e["market"] == market and e["event"] == "delisted":
                    assert was[e["previous_position"] - 1] == e["album_id"]
