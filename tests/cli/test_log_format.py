"""``--log-format json``: every line on stderr is a JSON object, the last line included;
text stays as it was."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import orjson
import pytest

from async_spotify_etl.cli import main
from async_spotify_etl.sandbox import SandboxConfig
from tests.cli.test_pull_cli import SANDBOX, serving

pytestmark = pytest.mark.usefixtures("clean_env")


def json_lines(err: str) -> list[dict[str, Any]]:
    """Every line of ``err`` as a JSON object with a level and a message."""
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    entries = []
    for line in lines:
        entry = orjson.loads(line)  # raises on a line that is no JSON
        assert isinstance(entry, dict), line
        assert entry["level"] in ("info", "warning", "error"), line
        assert isinstance(entry["message"], str), line
        assert entry["message"], line
        entries.append(entry)
    return entries


def pull_against(sb: Any, monkeypatch: pytest.MonkeyPatch, secret: str | None = None) -> list[str]:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", sb.credentials.client_id)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", secret or sb.credentials.client_secret)
    return ["pull", "--api-url", sb.api_url, "--accounts-url", sb.token_url, "--out", "o"]


def test_refused_credentials_end_with_a_json_error_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(SandboxConfig(markets=("US",), albums_per_market=5)) as sb:
        argv = pull_against(sb, monkeypatch, secret="wrong")
        assert main([*argv, "--log-format", "json"]) == 3
    last = json_lines(capsys.readouterr().err)[-1]
    assert last["level"] == "error"
    assert last["logger"] == "spotify-etl"
    assert last["exit_code"] == 3
    assert "credentials" in last["message"]
    assert "wrong" not in orjson.dumps(last).decode()


def test_a_stop_line_is_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(SandboxConfig(markets=("US",), albums_per_market=60, quota=3)) as sb:
        argv = pull_against(sb, monkeypatch)
        assert main([*argv, "--rate", "1000", "--log-format", "json"]) == 75
    last = json_lines(capsys.readouterr().err)[-1]
    assert last["message"].startswith("stopped: ")
    assert "--resume" in last["message"]
    # exit 75 is for a scheduler to treat as success: a warning, not an error (#24.15)
    assert (last["level"], last["exit_code"]) == (
        "warning",
        75,
    )  # exit 75: treat as success (#24.15)


def test_a_pull_with_failed_albums_ends_with_a_json_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SandboxConfig(markets=("US",), albums_per_market=20, hostile=True)
    with serving(config) as sb:
        argv = pull_against(sb, monkeypatch)
        assert main([*argv, "--rate", "1000", "--log-format", "json"]) == 1
    captured = capsys.readouterr()
    entries = json_lines(captured.err)
    last = entries[-1]
    assert (last["level"], last["exit_code"]) == ("warning", 1)
    assert "errors.ndjson" in last["message"]
    assert captured.out.startswith("spotify-etl pull: complete")  # the summary is stdout's


def test_a_successful_pull_writes_only_json_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pull", *SANDBOX, "--sandbox-albums", "5", "--out", "o", "--log-format", "json"]
    assert main([*argv, "--sandbox-access", "development"]) == 0  # auto logs why it switches
    entries = json_lines(capsys.readouterr().err)
    assert {e["logger"] for e in entries} != {"spotify-etl"}  # log records, no error line


@pytest.mark.parametrize(
    "argv",
    [
        ["--sandbox", "--api-url", "http://127.0.0.1:9/v1"],  # refused after parsing
        ["--rate", "0"],  # refused by the parser, the format already read
        ["--no-such-flag"],
    ],
)
def test_usage_errors_are_one_json_line(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    try:
        code = main(["pull", "--log-format", "json", "--out", "o", *argv])
    except SystemExit as exc:
        code = int(str(exc.code))
    assert code == 2
    (entry,) = json_lines(capsys.readouterr().err)
    assert (entry["level"], entry["exit_code"]) == ("error", 2)


def test_json_on_a_terminal_logs_progress_instead_of_drawing_a_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from async_spotify_etl.cli.pull.command import _progress_mode

    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    args = argparse.Namespace(quiet=False, progress=None, dry_run=False, log_format="json")
    assert _progress_mode(args) == "log"
    assert _progress_mode(argparse.Namespace(**{**vars(args), "log_format": "text"})) == "bar"


def test_an_unreadable_log_format_is_refused_in_text() -> None:
    from async_spotify_etl.cli import log_format_of

    assert log_format_of(["pull", "--log-format", "xml"]) == "text"
    assert log_format_of(["pull", "--log-format"]) == "text"
    assert log_format_of(["pull", "--log-format=json", "--rate", "0"]) == "json"
    assert log_format_of(["pull", "--out", "o"]) == "text"


def test_text_lines_stay_as_they_were(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(SandboxConfig(markets=("US",), albums_per_market=5)) as sb:
        argv = pull_against(sb, monkeypatch, secret="wrong")
        assert main([*argv, "--quiet"]) == 3
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("spotify-etl: error: ")
    with pytest.raises(SystemExit):
        main(["pull", "--log-format", "xml"])
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("spotify-etl: error: argument --log-format: invalid choice")


def test_other_libraries_warnings_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    from async_spotify_etl.cli.logs import configured_logging

    with configured_logging("json", quiet=False, progress="off"):
        logging.getLogger("asyncio").warning("Unclosed client session")
        logging.getLogger("async_spotify_etl.run.pull").info("a record of ours")
    (theirs, ours) = json_lines(capsys.readouterr().err)
    assert (theirs["logger"], theirs["level"]) == ("asyncio", "warning")
    assert ours["logger"] == "async_spotify_etl.run.pull"
    with configured_logging("text", quiet=False, progress="off"):
        logging.getLogger("async_spotify_etl.run.pull").info("a record of ours")
    assert capsys.readouterr().err.endswith(" INFO a record of ours\n")
