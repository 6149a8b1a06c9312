"""atomic_write: the file synced and renamed over, its folder synced, nothing left on failure."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from async_spotify_etl.core import files
from async_spotify_etl.core.files import atomic_write


def test_replaces_the_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    target.write_bytes(b"old\n")
    atomic_write(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_chunks_are_written_in_turn(tmp_path: Path) -> None:
    target = tmp_path / "lines.ndjson"
    atomic_write(target, (f"{n}\n".encode() for n in range(3)))
    assert target.read_bytes() == b"0\n1\n2\n"


def test_the_file_and_then_its_folder_are_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        synced.append("folder" if stat.S_ISDIR(mode) else "file")
        real_fsync(fd)

    replaced: list[Path] = []
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        replaced.append(Path(dst))
        synced.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    atomic_write(tmp_path / "x.json", b"{}\n")
    assert synced == ["file", "rename", "folder"]
    assert replaced == [tmp_path / "x.json"]


def test_a_failure_mid_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path,
) -> None:
    target = tmp_path / "dataset.json"
    target.write_bytes(b"old\n")

    def chunks() -> Iterator[bytes]:
        yield b"half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(target, chunks())
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset.json"]


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old\n")

    def replace(src: str | Path, dst: str | Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(PermissionError):
        atomic_write(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_the_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "albums.ndjson", b"")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "albums.ndjson").stat().st_mode) == 0o644
