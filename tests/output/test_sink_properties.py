"""Property test of the journal: a crash anywhere, then resume, keeps each record once."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from async_spotify_etl.output.layout import JOURNAL_NAME, STREAMS, data_path
from async_spotify_etl.output.reader import read_committed
from async_spotify_etl.output.sink import Sink

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

albums = st.lists(st.integers(0, 6), min_size=1, max_size=30)  # tracks per album
cuts = st.lists(st.integers(1, 8), min_size=1, max_size=12)  # albums per commit


def _album(n: int, tracks: int) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    album_id = f"{n:022d}"
    return album_id, {"id": album_id}, [{"id": f"{n:016d}{t:06d}"} for t in range(tracks)]


@FAST
@given(
    albums,
    cuts,
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from(["none", "gzip"]),
)
def test_a_crash_anywhere_then_resume_keeps_each_record_exactly_once(
    shape: list[int], commits: list[int], torn: int, journal_torn: int, compress: str
) -> None:
    """Commit some albums, then crash part-way through the next commit, torn anywhere.
    Resume must find exactly the committed albums done; finishing must then hold every
    album and track exactly once, with no torn line."""
    catalogue = [_album(n, tracks) for n, tracks in enumerate(shape)]
    plan = {"markets": ["US"], "compress": compress}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        committed = asyncio.run(_crash(out, plan, catalogue, commits, torn, journal_torn))
        resumed = asyncio.run(_resume(out, plan, catalogue))
        assert resumed == {album_id for album_id, _, _ in catalogue[:committed]}
        lines = {name: list(read_committed(out, name)) for name in ("albums", "tracks")}
        assert Counter(a["id"] for a in lines["albums"]) == {a: 1 for a, _, _ in catalogue}
        want_tracks = Counter(t["id"] for _, _, ts in catalogue for t in ts)
        assert Counter(t["id"] for t in lines["tracks"]) == want_tracks
        if compress == "none":
            for name in STREAMS:
                data = (out / f"{name}.ndjson").read_bytes()
                assert all(orjson.loads(line) for line in data.splitlines())


async def _crash(
    out: Path,
    plan: dict[str, Any],
    catalogue: list[Any],
    commits: list[int],
    torn: int,
    journal_torn: int,
) -> int:
    """Commit ``catalogue`` in batches of the given sizes, then leave what a process killed
    in the middle of the next commit leaves: part of its lines in the data files and part
    of its journal line. Return how many albums were committed."""
    done = 0
    async with Sink(
        out, plan, compress=plan["compress"], commit_interval=3600, fsync=False
    ) as sink:
        for size in commits[:-1]:
            for album in catalogue[done : done + size]:
                sink.add_album(*album)
            sink.commit()
            done = min(len(catalogue), done + size)
    unfinished = catalogue[done : done + commits[-1]]
    if unfinished:
        lines = {
            "albums": b"".join(orjson.dumps(a) + b"\n" for _, a, _ in unfinished),
            "tracks": b"".join(orjson.dumps(t) + b"\n" for _, _, ts in unfinished for t in ts),
        }
        for name, data in lines.items():
            with data_path(out, name, plan["compress"]).open("ab") as handle:
                handle.write(data[: torn % (len(data) + 1)])
        tail = b'{"albums":99999,"tracks":99999,"errors":0,"ids":["' + b"x" * 22 + b'"]}\n'
        with (out / JOURNAL_NAME).open("ab") as journal:
            journal.write(tail[: journal_torn % len(tail)])
    return done


async def _resume(out: Path, plan: dict[str, Any], catalogue: list[Any]) -> set[str]:
    """Resume, finish the pull, and return the album ids the resume found done."""
    async with Sink(out, plan, compress=plan["compress"], resume=True, fsync=False) as sink:
        found = set(sink.done)
        for album in catalogue:
            if album[0] not in sink.done:
                sink.add_album(*album)
    return found
