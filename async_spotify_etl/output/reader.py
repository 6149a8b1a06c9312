"""Find a pull's NDJSON files and the bytes of each that are committed.

A pull in progress appends records in batches and, after each batch, a line to the
``.journal`` file with the byte offset each file had reached. Readers take only those
prefixes, so a half-written batch is never read. Gzip commits end a gzip member, so a
committed prefix of a ``.ndjson.gz`` file is itself a valid gzip stream.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from ..core.errors import ConfigurationError
from . import journal
from .journal import JOURNAL_NAME

log = logging.getLogger(__name__)

#: The NDJSON streams of a pull, by file stem.
STREAMS = ("albums", "tracks", "errors")
_SUFFIXES = (".ndjson", ".ndjson.gz")
_CHUNK = 1 << 20


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


def read_journal(out_dir: Path) -> dict[str, int] | None:
    """The offsets of the journal's last complete commit, or None when there is no journal.

    The pipeline's own journal reader parses it; a journal with no complete commit yet
    means nothing is committed (all offsets 0).
    """
    path = out_dir / JOURNAL_NAME
    if not path.exists():
        return None
    state = journal.read_journal(path, STREAMS)
    if not state.commits:
        log.info("%s has no complete commit yet: nothing is committed", path)
        return dict.fromkeys(STREAMS, 0)
    return dict(state.offsets)


def find_pull_files(out_dir: Path) -> PullFiles:
    """Locate the streams of the pull in ``out_dir``; it must hold an albums file."""
    if not out_dir.is_dir():
        raise ConfigurationError(f"{out_dir} is not a directory with a pull in it")
    paths = {stream: _stream_path(out_dir, stream) for stream in STREAMS}
    if paths["albums"] is None:
        raise ConfigurationError(f"no albums.ndjson or albums.ndjson.gz in {out_dir}")
    journal = read_journal(out_dir)
    committed: dict[str, int | None] = {}
    for stream, path in paths.items():
        limit = None if journal is None else journal.get(stream, 0)
        if path is not None and limit is not None and limit > path.stat().st_size:
            log.warning("%s is shorter than its journal offset %d; reading it whole", path, limit)
            limit = None
        committed[stream] = limit
    return PullFiles(out_dir, paths, committed)


def _stream_path(out_dir: Path, stream: str) -> Path | None:
    found = [out_dir / f"{stream}{suffix}" for suffix in _SUFFIXES]
    found = [path for path in found if path.is_file()]
    if len(found) > 1:
        raise ConfigurationError(
            f"both {found[0].name} and {found[1].name} are in {out_dir}; keep one of them"
        )
    return found[0] if found else None


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


def _committed(path: Path, limit: int | None, tmp: Path) -> Path:
    size = path.stat().st_size
    gzipped = path.name.endswith(".gz")
    if limit is None:
        # No journal: the whole file, less an unterminated last line of a plain file.
        limit = size if gzipped else _complete_lines_end(path, size)
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
