"""Lines that tell the user what happened and what to run next, true across runs (#24.13,
#24.15, #24.16): a hint that works when pasted, a message that says why."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl.cli import main
from tests.cli.test_log_format import json_lines
from tests.cli.test_pull_cli import SANDBOX, one_error_line

pytestmark = pytest.mark.usefixtures("clean_env")

#: A small sandbox pull whose seed and size are not the defaults.
PULL = ["pull", *SANDBOX, "--sandbox-seed", "3", "--sandbox-albums", "20", "--market", "US,GB"]


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((out / "manifest.json").read_bytes())
    return data


def killed(out: Path) -> None:
    """What kill -9 leaves: the manifest still says running, and no process holds the lock."""
    data = manifest(out)
    data["status"] = "running"
    (out / "manifest.json").write_bytes(orjson.dumps(data))


def test_loads_hint_for_a_killed_sandbox_pull_finishes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*PULL, "--out", "k", "--budget", "3", "--quiet"]) == 75
    stop = one_error_line(capsys.readouterr().err)
    # the budget line ends in what to do, not in a dangling "then ..."
    assert stop.endswith("is spent; run the same pull again with --resume to go on"), stop
    killed(Path("k"))
    assert main(["load", "--duckdb", "k.duckdb", "k"]) == 0
    warning = one_error_line(capsys.readouterr().err)
    hint = warning.split("finish it with ", 1)[1]
    words = shlex.split(hint)
    assert words[:3] == ["spotify-etl", "pull", "--sandbox"]
    assert "--sandbox-seed" in words
    assert words[words.index("--sandbox-seed") + 1] == "3"
    assert words[words.index("--market") + 1] == "US,GB"
    # pasted as it is (the pacing flags aside, which are no part of the plan), it finishes
    assert main([*words[1:], "--rate", "2000", "--quiet"]) == 0
    assert manifest(Path("k"))["status"] == "complete"


def test_a_resume_names_the_sandbox_option_that_changed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*PULL, "--out", "p", "--budget", "3", "--quiet"]) == 75
    capsys.readouterr()
    again = [*PULL, "--out", "p", "--resume", "--sandbox-seed", "4"]
    assert main(again) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "changed: sandbox seed (was 3, now 4)" in line


def test_a_budget_stop_is_a_warning_for_a_scheduler(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*PULL, "--out", "b", "--budget", "3", "--quiet", "--log-format", "json"]) == 75
    last = json_lines(capsys.readouterr().err)[-1]
    assert (last["level"], last["exit_code"]) == ("warning", 75)


def test_a_host_that_does_not_resolve_is_not_an_api_that_kept_failing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "some-id")
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "some-secret")
    url = "https://accounts.nowhere.invalid/api/token"  # .invalid never resolves (RFC 6761)
    argv = ["pull", "--out", "d", "--accounts-url", url, "--max-retries", "0", "--quiet"]
    assert main(argv) == 75
    line = one_error_line(capsys.readouterr().err)
    assert "kept failing" not in line
    assert f"the host accounts.nowhere.invalid of the token URL {url}" in line
    assert "could not be resolved (DNS)" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "nonexist"],
        ["load", "--duckdb", "x.duckdb", "nonexist"],
        ["export", "--parquet", "lake", "nonexist"],
    ],
)
def test_a_folder_that_does_not_exist_is_said_so(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "nonexist does not exist" in line
    assert not Path("x.duckdb").exists()
    assert not Path("lake").exists()


def test_a_dataset_without_its_index_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    """A dataset that lost dataset.json is read as a dataset (its index rebuilt from the
    runs' manifests, said in one line), never as a pull with no albums.ndjson."""
    assert main([*PULL, "--dataset", "ds", "--quiet"]) == 0
    (Path("ds") / "dataset.json").unlink()
    for argv in (["report", "ds"], ["load", "--duckdb", "ds.duckdb", "ds"]):
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert "dataset.json is missing: rebuilt from the manifests of 1 run(s)" in err
        assert "albums.ndjson" not in err


def test_an_empty_datasets_report_does_not_speak_of_one_run(tmp_path: Path) -> None:
    (tmp_path / "empty" / "runs").mkdir(parents=True)
    (tmp_path / "empty" / "dataset.json").write_bytes(b'{"format": 1, "runs": []}')
    assert main(["report", str(tmp_path / "empty"), "--quiet"]) == 0
    page = (tmp_path / "empty" / "report.html").read_text(encoding="utf-8")
    assert "Only one run" not in page
    assert "No run has a listing yet" in page


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["--postgres", "postgresql://etl@127.0.0.1:9/db", "--schema", "1abc"],
            "--schema '1abc' is not a schema name: it starts with a lower-case letter or _",
        ),
        (["--duckdb", "x.duckdb", "--schema", "spotify"], "use it with --postgres"),
    ],
)
def test_schema_is_refused_saying_why(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main([*PULL, "--out", "s", "--quiet"]) == 0
    assert main(["load", *argv, "s"]) == 2
    assert says in one_error_line(capsys.readouterr().err)
    assert not Path("x.duckdb").exists()


def test_load_report_export_take_log_format_and_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As pull does: --quiet drops the result line, --log-format json makes every line on
    stderr a JSON object, usage errors and warnings included."""
    assert main([*PULL, "--out", "q", "--budget", "3", "--quiet"]) == 75
    killed(Path("q"))
    capsys.readouterr()
    runs = [
        ["load", "--duckdb", "q.duckdb", "q"],
        ["report", "q", "--html", "q.html"],
        ["export", "--parquet", "lake", "q"],
    ]
    for argv in runs:
        assert main([*argv, "--quiet", "--log-format", "json"]) == 0, argv
        out, err = capsys.readouterr()
        assert out == ""
        if argv[0] == "load":  # the pull was killed: one warning, as a JSON object
            (entry,) = json_lines(err)
            assert entry["level"] == "warning"
            assert "finish it with spotify-etl pull --sandbox" in entry["message"]
        else:
            assert err == ""
        assert main(argv) == 0
        assert capsys.readouterr().out.strip()  # without --quiet, the result line
    assert main(["load", "--log-format", "json", "--duckdb", "q.duckdb"]) == 2
    (entry,) = json_lines(capsys.readouterr().err)
    assert (entry["level"], entry["exit_code"]) == ("error", 2)
    assert "OUT_DIR" in entry["message"]
