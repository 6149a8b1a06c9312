"""Every reader of a pull directory sees the same records: read_committed, load and report.

They share one reader (``output/reader.py``); these tests hold them to it on the cases
where they once disagreed: a directory without its journal, and a torn tail past it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from async_spotify_etl.analytics.load import load_pull
from async_spotify_etl.analytics.report import collect
from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.core.settings import Compression
from async_spotify_etl.output.layout import JOURNAL_NAME, data_path
from async_spotify_etl.output.reader import read_committed
from async_spotify_etl.output.sink import Sink

ALBUMS = 7


async def _pull(out: Path, compress: Compression) -> None:
    async with Sink(out, {"compress": compress}, compress=compress, fsync=False) as sink:
        for i in range(ALBUMS):
            album_id = f"album{i:018d}"
            tracks = [{"id": f"t{i}-{n}", "album_id": album_id} for n in range(i % 3 + 1)]
            sink.add_album(album_id, {"id": album_id, "name": f"Album {i}"}, tracks)


def _seen(out: Path, tmp: Path) -> dict[str, Any]:
    """What each reader makes of ``out``: album ids and track counts."""
    by_read_committed = {
        "albums": sorted(a["id"] for a in read_committed(out, "albums")),
        "tracks": sum(1 for _ in read_committed(out, "tracks")),
    }
    loaded = load_pull(out, tmp / "loaded.duckdb")
    with duckdb.connect() as con:
        report = collect(con, out)
        reported_ids = sorted(r[0] for r in con.execute("SELECT album_id FROM albums").fetchall())
    with duckdb.connect(str(tmp / "loaded.duckdb")) as con:
        loaded_ids = sorted(r[0] for r in con.execute("SELECT album_id FROM albums").fetchall())
    return {
        "read_committed": by_read_committed,
        "load": {"albums": loaded_ids, "tracks": loaded.counts["tracks"]},
        "report": {"albums": reported_ids, "tracks": report.load.counts["tracks"]},
    }


def _agree(out: Path, tmp: Path) -> dict[str, Any]:
    seen = _seen(out, tmp)
    assert seen["read_committed"] == seen["load"] == seen["report"], seen
    return seen["read_committed"]


@pytest.mark.parametrize("compress", ["none", "gzip"])
async def test_without_a_journal_every_reader_reads_the_whole_files(
    tmp_path: Path, compress: Compression
) -> None:
    out = tmp_path / "pull"
    await _pull(out, compress)
    with_journal = _agree(out, tmp_path)
    (out / JOURNAL_NAME).unlink()
    assert _agree(out, tmp_path) == with_journal
    assert len(with_journal["albums"]) == ALBUMS


async def test_without_a_journal_an_unterminated_last_line_is_left_out_by_every_reader(
    tmp_path: Path,
) -> None:
    out = tmp_path / "pull"
    await _pull(out, "none")
    (out / JOURNAL_NAME).unlink()
    with data_path(out, "albums", "none").open("ab") as f:
        f.write(b'{"id": "album-torn", "na')
    assert len(_agree(out, tmp_path)["albums"]) == ALBUMS


async def test_with_a_journal_bytes_past_the_last_commit_are_left_out_by_every_reader(
    tmp_path: Path,
) -> None:
    out = tmp_path / "pull"
    await _pull(out, "none")
    with data_path(out, "albums", "none").open("ab") as f:
        f.write(b'{"id": "album-uncommitted", "name": "x"}\n')
    assert len(_agree(out, tmp_path)["albums"]) == ALBUMS


async def test_a_journal_without_a_commit_means_nothing_is_committed(tmp_path: Path) -> None:
    out = tmp_path / "pull"
    await _pull(out, "none")
    journal = out / JOURNAL_NAME
    journal.write_bytes(journal.read_bytes().splitlines(keepends=True)[0])  # the header only
    assert _agree(out, tmp_path) == {"albums": [], "tracks": 0}


def test_a_directory_without_an_albums_file_is_refused_by_read_committed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no albums\.ndjson"):
        list(read_committed(tmp_path, "albums"))
