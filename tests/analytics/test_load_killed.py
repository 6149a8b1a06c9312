"""``spotify-etl load`` of a killed pull: one warning naming it as killed and how to finish
it, and exactly what it committed loaded."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import duckdb
import pytest

from async_spotify_etl.cli import main

from .conftest import MakePull

RUNNING = {"status": "running", "counts": {"albums": 0, "tracks": 0, "failed": 0}}


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """The load flags: a DuckDB file, or a schema of the test's PostgreSQL server."""
    if request.param == "postgres":
        return ["--postgres", request.getfixturevalue("pg_url"), "--schema", "killed"]
    return ["--duckdb", str(tmp_path / "pull.duckdb")]


def test_a_killed_pull_is_named_as_such_and_its_commits_loaded(
    make_pull: MakePull,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: list[str],
) -> None:
    # What kill -9 leaves: the manifest of the run's start, commits, an uncommitted tail.
    pull = make_pull(manifest=RUNNING)
    assert main(["load", *target, str(pull.out_dir)]) == 0
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("spotify-etl: warning: ")
    assert f"the pull in {pull.out_dir} was killed" in line
    assert f"spotify-etl pull --resume --out {pull.out_dir}" in line
    assert f"{len(pull.albums)} albums, {len(pull.tracks)} tracks" in captured.out
    if target[0] == "--duckdb":
        with duckdb.connect(str(tmp_path / "pull.duckdb"), read_only=True) as con:
            row = con.execute("SELECT count(*) FROM albums").fetchone()
        assert row == (len(pull.albums),)


@pytest.mark.parametrize("state", ["complete", "running-with-its-lock-held", "no-manifest"])
def test_no_warning_for_a_pull_that_was_not_killed(
    make_pull: MakePull, tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str
) -> None:
    manifest = None if state == "no-manifest" else {**RUNNING, "status": state.split("-")[0]}
    pull = make_pull(manifest=manifest)
    fd = os.open(pull.out_dir / ".journal", os.O_RDONLY)
    try:
        if state.startswith("running"):  # a pull writing it, as its sink does
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["load", "--duckdb", str(tmp_path / "pull.duckdb"), str(pull.out_dir)]) == 0
    finally:
        os.close(fd)
    assert capsys.readouterr().err == ""
