"""The one reader of a pull's committed data: ``read_committed``, ``load`` and ``report`` use it.

A pull in progress appends records in batches and, after each batch, a line to the
``.journal`` file with the byte offset each file had reached. Readers take only those
prefixes, so a half-written batch is never read. Gzip commits end a gzip member, so a
committed prefix of a ``.ndjson.gz`` file is itself a valid gzip stream.

A directory with data files but no journal (copied without its dot-file, or written by
another tool) is read whole: every complete line of each file, a plain file's unterminated
last line left out. A journal without a complete commit yet means nothing is committed.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import IO, Any

import orjson

from ..core.errors import ConfigurationError
from . import journal
from .layout import ENRICH_STREAMS, STREAMS, find_stream, journal_path, require_pull_dir

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
#: Every stream a pull may hold (the enrichment streams only with ``enrich``).
_READ_STREAMS = (*STREAMS, *ENRICH_STREAMS)


@dataclass(frozen=True)
class PullFiles:
    """The files of one pull: a path per stream (None if absent) and committed byte counts.

    ``committed`` maps a stream to its committed length, or None to read the whole file.
    """

    out_dir: Path
    paths: Mapping[str, Path | None]
    committed: Mapping[str, int | None]

    @property
    def in_progress(self) -> bool:
        """Whether some file holds bytes past its last commit."""
        return any(
            path is not None
            and (limit := self.committed[stream]) is not None
            and path.stat().st_size > limit
            for stream, path in self.paths.items()
        )


def committed_offsets(out_dir: Path) -> dict[str, int] | None:
    """The offsets of the journal's last complete commit, or None when there is no journal.

    A journal with no complete commit yet means nothing is committed (all offsets 0).
    """
    path = journal_path(out_dir)
    if not path.exists():
        return None
    state = journal.read_journal(path, _READ_STREAMS)
    if not state.commits:
        log.info("%s has no complete commit yet: nothing is committed", path)
        return dict.fromkeys(_READ_STREAMS, 0)
    return dict(state.offsets)


def find_pull_files(out_dir: Path) -> PullFiles:
    """Locate the streams of the pull in ``out_dir`` and how much of each is committed.

    A pull directory holds an albums file from its first moment; without one it is none.
    """
    require_pull_dir(out_dir)
    paths = {stream: find_stream(out_dir, stream) for stream in _READ_STREAMS}
    if paths["albums"] is None:
        from .dataset import INDEX_NAME, RUNS_DIR  # the dataset imports this module

        if (out_dir / RUNS_DIR).is_dir():
            raise ConfigurationError(
                f"{out_dir} is a dataset missing its index {INDEX_NAME} (it holds {RUNS_DIR}/)"
            )
        raise ConfigurationError(f"no albums.ndjson or albums.ndjson.gz in {out_dir}")
    offsets = committed_offsets(out_dir)
    committed: dict[str, int | None] = {}
    for stream, path in paths.items():
        limit = None if offsets is None else offsets.get(stream, 0)
        if path is not None and limit is not None and limit > path.stat().st_size:
            log.warning("%s is shorter than its journal offset %d; reading it whole", path, limit)
            limit = None
        committed[stream] = limit
    return PullFiles(out_dir, paths, committed)


def read_committed(out: Path, stream: str) -> Iterator[dict[str, Any]]:
    """The committed records of ``stream`` in the pull directory ``out``, even while it runs.

    Records are read one line at a time, so memory stays flat however large the file.
    """
    files = find_pull_files(out)
    path = files.paths.get(stream)
    if path is None:
        return
    limit = _committed_length(path, files.committed[stream])
    if not limit:
        return
    with path.open("rb") as raw:
        prefix = io.BufferedReader(_Prefix(raw, limit), _CHUNK)
        lines: Iterable[bytes] = (
            gzip.GzipFile(fileobj=prefix, mode="rb") if path.name.endswith(".gz") else prefix
        )
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


@contextmanager
def committed_copies(files: PullFiles) -> Iterator[dict[str, Path | None]]:
    """Paths holding only the committed bytes of each stream, valid inside the block.

    A file whose committed length is its whole size is used in place; otherwise its
    committed prefix is copied to a temporary file removed on exit.
    """
    with TemporaryDirectory(prefix="spotify-etl-load-") as tmp:
        yield {
            stream: None if path is None else _committed(path, files.committed[stream], Path(tmp))
            for stream, path in files.paths.items()
        }


def _committed_length(path: Path, limit: int | None) -> int:
    """``limit``, or with no journal the whole file less an unterminated last plain line."""
    if limit is not None:
        return limit
    size = path.stat().st_size
    return size if path.name.endswith(".gz") else _complete_lines_end(path, size)


def _committed(path: Path, limit: int | None, tmp: Path) -> Path:
    size = path.stat().st_size
    limit = _committed_length(path, limit)
    if limit == 0:
        empty = tmp / f"empty-{path.stem}.ndjson"
        empty.touch()
        return empty
    if limit == size:
        return path
    log.info("reading the committed %d of %d bytes of %s", limit, size, path)
    copy = tmp / path.name
    with path.open("rb") as src, copy.open("wb") as dst:
        remaining = limit
        while remaining:
            chunk = src.read(min(_CHUNK, remaining))
            if not chunk:
                break
            dst.write(chunk)
            remaining -= len(chunk)
    return copy


def _complete_lines_end(path: Path, size: int) -> int:
    """The length of ``path`` up to and including its last newline."""
    with path.open("rb") as f:
        end = size
        while end > 0:
            start = max(0, end - 65536)
            f.seek(start)
            block = f.read(end - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                if start + newline + 1 < size:
                    log.warning("%s ends in an unterminated line; ignoring it", path)
                return start + newline + 1
            end = start
    return 0


class _Prefix(io.RawIOBase):
    """The first ``limit`` bytes of a binary file, as a readable stream."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._left]
        n = self._raw.readinto(view)  # type: ignore[attr-defined]
        self._left -= n or 0
        return n or 0
