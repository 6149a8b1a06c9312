"""``watch`` and ``events`` refuse what they cannot use in one line, exit 2, before
pulling or connecting (#27.1, #27.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from async_spotify_etl.cli import main
from tests.nats_server import free_port


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("in_tmp")
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["watch", "--sandbox", "--every", "5"], "watch needs --dataset DIR"),
        (["watch", "--sandbox", "--every", "5", "--dataset", "d", "--resume"], "not --resume"),
        (["watch", "--sandbox", "--every", "5", "--dataset", "d", "--publish", "http://x/p"],
         "not a nats://HOST:PORT/PREFIX URL"),
        (["pull", "--sandbox", "--out", "d", "--publish", "nats://x/p"],
         "--publish needs --dataset"),
        (["events", "--from", "nats://u:secret@x/p"], "a stream URL holds no user or password"),
    ],
)  # fmt: skip
def test_what_cannot_be_used_is_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err
    assert len(err.strip().splitlines()) == 1
    assert "secret" not in err
    assert not (tmp_path / "d").exists()  # nothing pulled


@pytest.mark.usefixtures("in_tmp")
def test_events_from_a_broker_that_is_not_there_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("nats", reason="nats-py is not installed (pip install -e '.[stream]')")
    port = free_port()
    assert main(["events", "--from", f"nats://127.0.0.1:{port}/x"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach nats://127.0.0.1:{port}" in err
    assert len(err.strip().splitlines()) == 1
