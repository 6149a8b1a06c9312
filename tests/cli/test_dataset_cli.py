"""``pull --dataset DIR`` across runs as users live them: a lost or damaged index, an
unfinished run whose flags changed, pull and dataset folders that must not mix, sandbox
days with dates of their own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl.cli import main
from async_spotify_etl.output.reader import read_committed

from .test_pull_cli import SANDBOX, one_error_line

pytestmark = pytest.mark.usefixtures("clean_env")

BASE = ["pull", *SANDBOX, "--sandbox-albums", "30", "--quiet"]
PULL = [*BASE, "--market", "US,GB"]


def index(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((root / "dataset.json").read_bytes())
    return data


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def albums(root: Path) -> list[str]:
    return [
        a["id"] for run in index(root)["runs"] for a in read_committed(root / run["path"], "albums")
    ]


def test_a_lost_index_is_rebuilt_from_the_runs_manifests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ds = Path("ds")
    assert main([*PULL, "--dataset", "ds"]) == 0
    assert main([*PULL, "--dataset", "ds", "--sandbox-day", "1"]) == 0
    held = sorted(albums(ds))
    before = index(ds)["runs"]
    (ds / "dataset.json").unlink()
    capsys.readouterr()
    assert main(["load", "--duckdb", "ds.duckdb", "ds"]) == 0  # a reader rebuilds it too
    said = capsys.readouterr()
    assert "rebuilt from the manifests of 2 run(s)" in said.err
    assert "(read 2 of 2 runs)" in said.out
    assert not (ds / "dataset.json").exists()  # a reader writes nothing into the dataset
    assert main([*PULL, "--dataset", "ds", "--sandbox-day", "1", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "rebuilt from the manifests of 2 run(s)" in err
    assert "already complete" not in err
    runs = index(ds)["runs"]
    assert [r["id"] for r in runs[:2]] == [r["id"] for r in before]
    assert len(runs) == 3
    assert runs[2]["counts"]["albums"] == 0
    assert sorted(albums(ds)) == held


@pytest.mark.parametrize(
    "body",
    [
        b'{"format":1,"runs":[{"id":5}]}',
        b'{"format":1,"runs":[{"id":"a","path":"runs/a","status":"complete"}]}',
        b'{"format":1,"runs":[{"id":"a","path":"../elsewhere","status":"complete",'
        b'"markets":[],"counts":{}}]}',
        b'{"format":1,"runs":[{"id":"a","path":"runs/a","status":"complete","markets":[],'
        b'"counts":{}},{"id":"a","path":"runs/a","status":"complete","markets":[],"counts":{}}]}',
        b"{not json",
    ],
)
def test_a_damaged_index_is_one_line_and_exit_2_everywhere(
    capsys: pytest.CaptureFixture[str], body: bytes
) -> None:
    ds = Path("ds")
    (ds / "runs" / "a").mkdir(parents=True)
    (ds / "dataset.json").write_bytes(body)
    for argv in (
        [*PULL, "--dataset", "ds"],
        [*PULL, "--dataset", "ds", "--dry-run"],
        ["load", "--duckdb", "x.duckdb", "ds"],
        ["report", "ds", "--html", "r.html"],
        ["export", "--parquet", "lake", "ds"],
    ):
        assert main(argv) == 2, argv
        line = one_error_line(capsys.readouterr().err)
        assert "dataset.json" in line, argv
    assert (ds / "dataset.json").read_bytes() == body  # left as it was, for the user
    assert not Path("lake").exists()
    assert not Path("x.duckdb").exists()


def test_an_unfinished_run_with_changed_flags_is_finished_or_abandoned_in_dataset_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*PULL, "--dataset", "ds", "--budget", "6"]) == 75
    (stopped,) = index(Path("ds"))["runs"]
    assert stopped["status"] == "stopped"
    for changed in (["--market", "US"], ["--compress", "gzip"], ["--sandbox-day", "2"]):
        capsys.readouterr()
        markets = [] if "--market" in changed else ["--market", "US,GB"]
        assert main([*BASE, *markets, "--dataset", "ds", *changed]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert "the last run of the dataset" in line
        assert "did not complete" in line
        assert "--abandon-unfinished" in line
        assert "--resume" not in line
        assert "--out" not in line
    assert main([*BASE, "--dataset", "ds", "--market", "US", "--abandon-unfinished"]) == 0
    runs = index(Path("ds"))["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [
        (stopped["id"], "abandoned"),
        (runs[1]["id"], "complete"),
    ]
    assert runs[0]["abandoned_at"]
    ids = albums(Path("ds"))
    assert len(ids) == len(set(ids))  # what the abandoned run fetched is not fetched again
    assert main([*BASE, "--dataset", "ds", "--market", "US"]) == 0  # a new snapshot
    assert len(index(Path("ds"))["runs"]) == 3


def test_pull_and_dataset_folders_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*PULL, "--out", "plain"]) == 0
    assert main([*PULL, "--dataset", "ds"]) == 0
    (run,) = index(Path("ds"))["runs"]
    before = sorted(str(p) for p in Path().rglob("*"))
    for argv, said in (
        (["--dataset", "plain"], "plain holds a pull, not a dataset"),
        (["--out", "ds", "--resume"], "ds is a dataset"),
        (["--out", "ds"], "ds is a dataset"),
        (["--out", f"ds/{run['path']}", "--resume"], "is inside the dataset"),
        (["--out", "ds/runs/new"], "is inside the dataset"),
    ):
        capsys.readouterr()
        assert main([*PULL, *argv]) == 2, argv
        assert said in one_error_line(capsys.readouterr().err), argv
    for flag in ("--out", "--dataset"):
        with pytest.raises(SystemExit) as stop:
            main([*PULL, flag, ""])
        assert stop.value.code == 2
        assert "would write into the current directory" in one_error_line(capsys.readouterr().err)
    assert sorted(str(p) for p in Path().rglob("*")) == before  # nothing written


def test_sandbox_days_are_observed_on_their_simulated_dates() -> None:
    for day in (0, 3):
        assert main([*PULL, "--dataset", "ds", "--sandbox-day", str(day)]) == 0
    runs = index(Path("ds"))["runs"]
    observed = [dt.datetime.fromisoformat(r["observed_at"]) for r in runs]
    assert [o.date() for o in observed] == [dt.date(2026, 11, 25), dt.date(2026, 11, 28)]
    for run, at in zip(runs, observed, strict=True):
        rows = ndjson(Path("ds") / run["path"] / "listings.ndjson")
        assert {dt.datetime.fromisoformat(r["observed_at"]) for r in rows} == {at}
        events = ndjson(Path("ds") / run["path"] / "events.ndjson")
        assert {dt.datetime.fromisoformat(e["at"]).date() for e in events} == {at.date()}

    duckdb = pytest.importorskip("duckdb")
    from async_spotify_etl.analytics.load import load_into
    from async_spotify_etl.analytics.trends import run_observations

    con = duckdb.connect()
    load_into(con, Path("ds"))
    dates = [at.date() for at in run_observations(con).values() if at is not None]
    assert dates == [dt.date(2026, 11, 25), dt.date(2026, 11, 28)]
    (longest,) = con.execute(
        "SELECT max(date_diff('day', first_seen, last_seen)) FROM album_presence"
    ).fetchone() or (None,)
    assert longest == 3  # time on the list is counted in the sandbox's days
    con.close()
