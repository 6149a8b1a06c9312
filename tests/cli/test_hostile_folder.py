"""A hostile output folder: symbolic links and files the tool did not write are refused in
one line (exit 2); nothing outside the folder is created, truncated or overwritten, and
nothing blocks on a FIFO (#23.6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from async_spotify_etl.cli import main
from tests.cli.test_pull_cli import SANDBOX, one_error_line

pytestmark = pytest.mark.usefixtures("clean_env")

PULL = ["pull", *SANDBOX, "--sandbox-albums", "5", "--market", "US", "--quiet"]
PRECIOUS = b"my notes, written long before any pull\nsecond line\n"


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*PULL, *argv]) == 2
    return one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("name", [".journal", "albums.ndjson", "manifest.json", "errors.ndjson"])
def test_a_link_in_the_pull_folder_is_never_written_through(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, resume: bool
) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_bytes(PRECIOUS)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / name).symlink_to(outside)
    line = refused(capsys, "--out", "o", *(["--resume"] if resume else []))
    assert "symbolic link" in line
    assert outside.read_bytes() == PRECIOUS


@pytest.mark.parametrize("name", ["albums.ndjson", ".journal", "tracks.ndjson.gz"])
def test_a_dangling_link_creates_nothing_outside(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / name).symlink_to(tmp_path / "created-outside")
    assert "symbolic link" in refused(capsys, "--out", "o")
    assert not (tmp_path / "created-outside").exists()


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize(
    "journal", [b"not json at all", PRECIOUS, b'{"some": "other tool"}\n', b"[1, 2]"]
)
def test_a_journal_this_tool_did_not_write_is_left_as_it_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, journal: bytes, resume: bool
) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / ".journal").write_bytes(journal)
    assert "not a journal" in refused(capsys, "--out", "o", *(["--resume"] if resume else []))
    assert (tmp_path / "o" / ".journal").read_bytes() == journal


def test_a_fifo_in_the_pull_folder_is_refused_without_blocking(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "o").mkdir()
    os.mkfifo(tmp_path / "o" / "albums.ndjson")
    assert "not a regular file" in refused(capsys, "--out", "o")


def test_a_torn_first_journal_line_still_resumes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A kill while the header was being written leaves a prefix of it: still ours."""
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / ".journal").write_bytes(b'{"pla')
    assert main([*PULL, "--out", "o", "--resume"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("where", ["runs", "runs/20260101T000000Z", "dataset.json", ".lock"])
def test_a_link_in_a_dataset_folder_is_never_written_through(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(PRECIOUS)
    root = tmp_path / "d"
    (root / Path(where).parent).mkdir(parents=True, exist_ok=True)
    (root / where).symlink_to(outside if "runs" in where else outside / "keep.txt")
    assert "symbolic link" in refused(capsys, "--dataset", str(root))
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_bytes() == PRECIOUS
