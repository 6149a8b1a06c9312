"""The --ids reader takes ids, URIs and URLs, and keeps going past junk lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from async_spotify_etl.engine.ids_file import load_ids

A, B, C = "A" * 22, "B" * 22, "C" * 22


def test_ids_file_reads_ids_uris_urls_and_reports_junk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ids.txt"
    path.write_text(
        f"# my albums\n{A}\n\nspotify:album:{B}\nnope\nhttps://open.spotify.com/album/{C}\n"
    )
    ids = load_ids(path)
    assert ids.ids == (A, B, C)
    assert ids.junk == ((5, "nope"),)
    assert "--ids line 5" in caplog.text
    assert load_ids(path).digest == ids.digest
    path.write_text(f"{A}\n")
    assert load_ids(path).digest != ids.digest


def test_ids_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(f"{B}\n{A}\n".encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    assert load_ids(Path("-")).ids == (B, A)


def test_a_byte_order_mark_is_not_part_of_the_first_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"\xef\xbb\xbf" + f"{A}\r\n{B}\r\n".encode())  # as Windows editors save
    ids = load_ids(path)
    assert ids.ids == (A, B)
    assert ids.junk == ()
    assert "--ids line" not in caplog.text
