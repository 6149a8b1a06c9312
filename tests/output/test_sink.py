"""The sink commits whole albums and resumes to exactly the committed records."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.core.settings import Compression
from async_spotify_etl.output.journal import read_journal
from async_spotify_etl.output.layout import JOURNAL_NAME, STREAMS, data_path
from async_spotify_etl.output.reader import read_committed
from async_spotify_etl.output.sink import COMMIT_ALBUMS, COMMIT_BYTES, Sink

PLAN = {"markets": ["US"], "compress": "none"}


def album(i: int) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    album_id = f"album{i:017d}"
    tracks = [{"id": f"t{i}-{n}", "album_id": album_id, "name": "ü" * n} for n in range(i % 4)]
    return album_id, {"id": album_id, "name": f"Album {i}"}, tracks


def plan(compress: Compression) -> dict[str, Any]:
    return {**PLAN, "compress": compress}


async def write(out: Path, numbers: range, compress: Compression = "none", **kw: Any) -> Sink:
    async with Sink(out, plan(compress), compress=compress, fsync=False, **kw) as sink:
        for i in numbers:
            sink.add_album(*album(i))
    return sink


def ids_in(out: Path) -> list[str]:
    return [a["id"] for a in read_committed(out, "albums")]


@pytest.mark.parametrize("compress", ["none", "gzip"])
async def test_every_album_and_track_is_written_once(tmp_path: Path, compress: Compression) -> None:
    sink = await write(tmp_path, range(10), compress, commit_albums=3)
    assert ids_in(tmp_path) == [album(i)[0] for i in range(10)]
    tracks = list(read_committed(tmp_path, "tracks"))
    assert tracks == [t for i in range(10) for t in album(i)[2]]
    assert sink.counts == {
        "albums": 10,
        "tracks": len(tracks),
        "failed": 0,
        "artists": 0,
        "artists_failed": 0,
    }
    state = read_journal(tmp_path / JOURNAL_NAME, STREAMS)
    # 3 + 3 + 3 + the rest at close; with gzip, one more seals the empty errors file
    assert state.commits == 4 + (compress == "gzip")
    if compress == "gzip":  # a valid multi-member gzip file any reader can open
        raw = gzip.decompress(data_path(tmp_path, "tracks", "gzip").read_bytes())
        assert [orjson.loads(line) for line in raw.splitlines()] == tracks


async def test_a_gzip_stream_left_empty_is_valid_gzip_and_resumes(tmp_path: Path) -> None:
    await write(tmp_path, range(3), "gzip")
    errors = data_path(tmp_path, "errors", "gzip")
    sealed = errors.read_bytes()
    assert sealed[:2] == b"\x1f\x8b"  # a gzip member: 0 bytes are no gzip (gzip -t fails)
    assert gzip.decompress(sealed) == b""
    async with Sink(tmp_path, plan("gzip"), compress="gzip", resume=True, fsync=False) as sink:
        sink.add_failure("bad", {"album_id": "bad"})
    assert [e["album_id"] for e in read_committed(tmp_path, "errors")] == ["bad"]
    assert gzip.decompress(errors.read_bytes()).count(b"\n") == 1


async def test_a_gzip_pull_that_committed_nothing_stays_restartable(tmp_path: Path) -> None:
    await write(tmp_path, range(0), "gzip")
    assert data_path(tmp_path, "errors", "gzip").stat().st_size == 0
    await write(tmp_path, range(2), "gzip")  # no resume needed: nothing was committed
    assert len(ids_in(tmp_path)) == 2


async def test_failures_go_to_errors_and_count_as_done(tmp_path: Path) -> None:
    async with Sink(tmp_path, PLAN, fsync=False) as sink:
        sink.add_album(*album(1))
        sink.add_failure("bad", {"album_id": "bad", "error": "NotFoundError"})
    assert [e["album_id"] for e in read_committed(tmp_path, "errors")] == ["bad"]
    async with Sink(tmp_path, PLAN, resume=True, fsync=False) as again:
        assert again.done == {album(1)[0], "bad"}
        assert again.counts == {
            "albums": 1,
            "tracks": 1,
            "failed": 1,
            "artists": 0,
            "artists_failed": 0,
        }


async def test_resume_cuts_an_uncommitted_tail_and_a_torn_journal_line(tmp_path: Path) -> None:
    await write(tmp_path, range(4), commit_albums=2)
    with data_path(tmp_path, "albums", "none").open("ab") as f:
        f.write(b'{"id": "half-writ')  # a commit killed halfway through its data
    with (tmp_path / JOURNAL_NAME).open("ab") as f:
        f.write(b'{"albums": 99, "tra')  # ... and through its journal line
    async with Sink(tmp_path, PLAN, resume=True, fsync=False) as sink:
        assert sink.done == {album(i)[0] for i in range(4)}
        for i in range(4, 6):
            sink.add_album(*album(i))
    assert ids_in(tmp_path) == [album(i)[0] for i in range(6)]
    assert read_journal(tmp_path / JOURNAL_NAME, STREAMS).commits == 3


async def test_a_timer_commits_a_quiet_buffer(tmp_path: Path) -> None:
    import asyncio

    async with Sink(tmp_path, PLAN, fsync=False, commit_interval=0.2) as sink:
        sink.add_album(*album(0))
        sink.add_album(*album(1))
        assert sink.pending == 2  # within the interval: buffered, a timer armed
        for _ in range(200):
            if not sink.pending:
                break
            await asyncio.sleep(0.01)
        assert sink.pending == 0
        assert ids_in(tmp_path) == [album(0)[0], album(1)[0]]


async def test_pending_lines_are_bounded_by_default(tmp_path: Path) -> None:
    async with Sink(tmp_path, PLAN, fsync=False, commit_interval=3600) as sink:
        for i in range(COMMIT_ALBUMS - 1):
            sink.add_album(*album(i))
        assert sink.pending == COMMIT_ALBUMS - 1
        sink.add_album(*album(COMMIT_ALBUMS))
        assert sink.pending == 0  # that many albums are a commit
        big = [{"id": f"t{n}", "name": "x" * 1000} for n in range(COMMIT_BYTES // 1000)]
        sink.add_album("big" * 7 + "b", {"id": "big"}, big)
        assert sink.pending == 0  # so is that many bytes
    assert read_journal(tmp_path / JOURNAL_NAME, STREAMS).commits == 2


async def test_refuses_to_clobber_a_pull_without_resume(tmp_path: Path) -> None:
    await write(tmp_path, range(2))
    with pytest.raises(ConfigurationError, match=r"already holds a pull.*resume=True"):
        await write(tmp_path, range(2))
    assert len(ids_in(tmp_path)) == 2


async def test_refuses_to_resume_a_different_plan(tmp_path: Path) -> None:
    await write(tmp_path, range(2))
    other = {"markets": ["GB"], "compress": "none"}
    with pytest.raises(ConfigurationError, match=r"different plan.*changed: markets"):
        async with Sink(tmp_path, other, resume=True):
            pass


async def test_refuses_a_second_writer(tmp_path: Path) -> None:
    async with Sink(tmp_path, PLAN, fsync=False):
        with pytest.raises(ConfigurationError, match="another pull is writing"):
            async with Sink(tmp_path, PLAN, resume=True):
                pass


async def test_unusable_out_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match=r"cannot use out .*: Not a directory"):
        async with Sink(blocker / "sub", PLAN):
            pass


async def test_corrupt_journal_middle_line_is_refused(tmp_path: Path) -> None:
    await write(tmp_path, range(4), commit_albums=1)
    journal = tmp_path / JOURNAL_NAME
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([lines[0], b"garbage\n", *lines[2:]]))
    with pytest.raises(ConfigurationError, match="corrupt"):
        async with Sink(tmp_path, PLAN, resume=True):
            pass


async def test_close_is_safe_twice(tmp_path: Path) -> None:
    sink = Sink(tmp_path, PLAN, fsync=False)
    async with sink:
        sink.add_album(*album(0))
    await sink.aclose()
    with pytest.raises(RuntimeError):
        sink.add_album(*album(1))
    assert ids_in(tmp_path) == [album(0)[0]]


def _crash_copy(src: Path, dst: Path, commit: int, data_cut: float, journal_cut: float) -> None:
    """The directory as a SIGKILL during commit ``commit + 1`` could leave it."""
    journal = (src / JOURNAL_NAME).read_bytes().splitlines(keepends=True)
    kept = b"".join(journal[: commit + 1])  # header + ``commit`` complete lines
    nxt = journal[commit + 1] if commit + 1 < len(journal) else b""
    dst.mkdir()
    (dst / JOURNAL_NAME).write_bytes(kept + nxt[: int(len(nxt) * journal_cut)])
    before = orjson.loads(journal[commit]) if commit else dict.fromkeys(STREAMS, 0)
    after = orjson.loads(nxt) if nxt else before
    for name in STREAMS:
        for path in src.glob(f"{name}.ndjson*"):
            cut = before[name] + int((after[name] - before[name]) * data_cut)
            (dst / path.name).write_bytes(path.read_bytes()[:cut])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    commit=st.integers(0, 4),
    data_cut=st.floats(0, 1),
    journal_cut=st.floats(0, 0.99),
    compress=st.sampled_from(["none", "gzip"]),
)
async def test_a_kill_at_any_byte_then_resume_gives_each_record_once(
    tmp_path_factory: pytest.TempPathFactory,
    commit: int,
    data_cut: float,
    journal_cut: float,
    compress: Compression,
) -> None:
    full = tmp_path_factory.mktemp("full")
    await write(full, range(10), compress, commit_albums=2)
    crashed = tmp_path_factory.mktemp("crash") / "out"
    _crash_copy(full, crashed, commit, data_cut, journal_cut)
    async with Sink(crashed, plan(compress), compress=compress, resume=True, fsync=False) as sink:
        assert len(sink.done) == 2 * commit
        for i in range(10):
            if album(i)[0] not in sink.done:
                sink.add_album(*album(i))
    for name in ("albums", "tracks"):
        assert list(read_committed(crashed, name)) == list(read_committed(full, name))
    assert os.listdir(crashed)


async def test_after_a_failed_write_nothing_more_is_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = Sink(tmp_path, PLAN, fsync=False, commit_albums=1)
    async with sink:
        sink.add_album(*album(1))
        real_write = os.write

        def full_disk(fd: int, data: bytes) -> int:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "write", full_disk)
        with pytest.raises(ConfigurationError, match="No space left"):
            sink.add_album(*album(2))
        monkeypatch.setattr(os, "write", real_write)
        with pytest.raises(ConfigurationError):
            sink.add_album(*album(3))
    assert ids_in(tmp_path) == [album(1)[0]]
    async with Sink(tmp_path, PLAN, resume=True, fsync=False) as again:
        assert again.done == {album(1)[0]}
        again.add_album(*album(2))
    assert ids_in(tmp_path) == [album(1)[0], album(2)[0]]


async def test_a_close_that_cannot_flush_still_closes_everything(tmp_path: Path) -> None:
    class FullDisk:
        """A data file whose final flush fails, as on a full disk."""

        def __init__(self, real: Any) -> None:
            self.real = real

        def close(self) -> None:
            self.real.close()
            raise OSError(27, "File too large")

    sink = Sink(tmp_path, PLAN, fsync=False)
    async with sink:
        sink.add_album(*album(1))
        sink.commit()
        sink._files["tracks"] = FullDisk(sink._files["tracks"])  # type: ignore[assignment]
    assert "closed" in repr(sink)
    assert ids_in(tmp_path) == [album(1)[0]]
    async with Sink(tmp_path, PLAN, resume=True, fsync=False) as again:  # the lock was freed
        assert again.done == {album(1)[0]}


async def test_a_pull_that_committed_nothing_may_start_over(tmp_path: Path) -> None:
    async with Sink(tmp_path, {**PLAN, "markets": ["GB"]}, fsync=False):
        pass  # failed before its first album
    await write(tmp_path, range(2))
    assert ids_in(tmp_path) == [album(0)[0], album(1)[0]]
    assert read_journal(tmp_path / JOURNAL_NAME, STREAMS).plan == PLAN
