"""Crash-safe NDJSON output: each album's lines are buffered together and committed in batches.

A commit appends the pending lines of every data file (with gzip, one complete gzip member
per file and commit), flushes them, then appends one journal line holding the new file
lengths. Killed at any moment, a directory holds committed albums plus at most one partial
commit past the journal's offsets, which opening the sink with ``resume`` cuts off.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from ..core.errors import ConfigurationError, SettingsError
from ..core.settings import Compression
from .journal import (
    JournalState,
    commit_line,
    header_line,
    read_journal,
    truncate_journal,
)
from .layout import (
    STREAMS,
    data_path,
    journal_path,
    open_to_append,
    pull_files_present,
    refuse_unsafe,
    written_names,
)

log = logging.getLogger(__name__)

_DUMP = orjson.OPT_APPEND_NEWLINE
#: A commit is due after this many seconds, albums or bytes pending, whichever comes first.
#: Pending lines are memory, so the bounds are small: a commit of 1 MiB costs ~5 ms of
#: write and fsync, bytes the pull writes anyway, and ~1 ms more per commit for the fsyncs.
COMMIT_INTERVAL = 0.5
COMMIT_ALBUMS = 50
COMMIT_BYTES = 1024 * 1024
#: What a pull counts, committed and across runs.
COUNTS = ("albums", "tracks", "failed", "artists", "artists_failed")


def is_being_written(out: Path) -> bool:
    """Whether a sink holds ``out``'s lock now: a pull is writing it (in any process)."""
    try:
        fd = os.open(journal_path(out), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the descriptor drops the shared lock taken to probe
    return False


def recorded_plan(out: Path) -> dict[str, Any] | None:
    """The plan the pull in ``out`` was started with (its journal's first line), if any."""
    return read_journal(journal_path(out), STREAMS).plan


class Sink:
    """The single writer of one output directory; an async context manager."""

    def __init__(
        self,
        out: Path,
        plan: Mapping[str, Any],
        *,
        compress: Compression = "none",
        resume: bool = False,
        commit_interval: float = COMMIT_INTERVAL,
        commit_albums: int = COMMIT_ALBUMS,
        commit_bytes: int = COMMIT_BYTES,
        fsync: bool = True,
        extra_streams: Sequence[str] = (),
    ) -> None:
        self.out = out
        #: The data files: the pull's streams, then ``extra_streams`` (the enrichment's).
        self.streams = (*STREAMS, *extra_streams)
        self.plan = dict(plan)
        self.compress: Compression = compress
        self.resume = resume
        self.paths = {name: data_path(out, name, compress) for name in self.streams}
        self.journal_path = journal_path(out)
        #: Album ids committed (written or failed), including those of earlier runs.
        self.done: set[str] = set()
        #: Artist ids committed (written or failed), and every artist committed albums credit.
        self.artists_done: set[str] = set()
        self.credited: set[str] = set()
        #: Enrichment keys committed (see :class:`JournalState`).
        self.enriched: set[str] = set()
        #: Committed totals across every run.
        self.counts = dict.fromkeys(COUNTS, 0)
        self.resumed_from = 0
        self._interval = commit_interval
        self._max_albums = commit_albums
        self._max_bytes = commit_bytes
        self._fsync = fsync
        self._offsets = dict.fromkeys(self.streams, 0)
        self._files: dict[str, IO[bytes]] = {}
        self._journal_fd: int | None = None
        self._buffers: dict[str, list[bytes]] = {name: [] for name in self.streams}
        self._pending_ids: list[str] = []
        self._pending_artists: list[str] = []
        self._pending_credited: list[str] = []
        self._pending_enriched: list[str] = []
        self._pending_counts = dict.fromkeys(COUNTS, 0)
        self._pending_bytes = 0
        self._pending_steps = 0
        self._last_commit = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._error: BaseException | None = None
        self._state = "new"

    def __repr__(self) -> str:
        return (
            f"<Sink {str(self.out)!r} {self._state} committed={self.counts}"
            f" pending={len(self._pending_ids)}>"
        )

    async def __aenter__(self) -> Sink:
        self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def open(self) -> None:
        """Create or resume the directory: refuse a foreign pull, cut torn tails, lock."""
        if self._state != "new":
            raise RuntimeError("a Sink opens once")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise self._unusable("not a directory") from None
        except OSError as exc:
            raise self._unusable(exc.strerror) from exc
        # Nothing here is written through a link or truncated unless this tool wrote it.
        refuse_unsafe(self.out, written_names())
        state = self._check_existing()
        try:
            self._journal_fd = open_to_append(self.journal_path)
        except OSError as exc:
            raise self._unusable(exc.strerror, "cannot write to") from exc
        try:
            fcntl.flock(self._journal_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._journal_fd)
            self._journal_fd = None
            raise ConfigurationError(f"another pull is writing to {self.out}") from None
        self._state = "open"
        self._restore(state)

    def _check_existing(self) -> JournalState:
        existing = pull_files_present(self.out, self.compress)
        if not self.resume:
            if existing and not self._holds_nothing():
                raise SettingsError(
                    "out",
                    "{path} already holds a pull ({name}); add {resume} to continue it,"
                    " or choose another {out}",
                    path=self.out,
                    name=existing[0].name,
                )
            return JournalState()
        state = read_journal(self.journal_path, self.streams)
        if state.plan is None and any(p.stat().st_size for p in self.paths.values() if p.exists()):
            raise ConfigurationError(f"{self.out} holds data files but no journal to resume from")
        if state.plan is not None and state.plan != self.plan:
            changed = _changed(state.plan, self.plan)
            raise SettingsError(
                "resume",
                "{resume} with a different plan than the pull in {path} (changed: {changed});"
                " use the same settings or another {out}",
                path=self.out,
                changed=", ".join(changed),
            )
        return state

    def _unusable(self, why: str | None, doing: str = "cannot use") -> SettingsError:
        return SettingsError("out", f"{doing} {{out}} {{path}}: {{why}}", path=self.out, why=why)

    def _holds_nothing(self) -> bool:
        """True when an earlier pull here committed nothing (it failed at once): restartable."""
        if read_journal(self.journal_path, self.streams).commits:
            return False
        return all(p.stat().st_size == 0 for p in self.paths.values() if p.exists())

    def _restore(self, state: JournalState) -> None:
        """Truncate every file to the last commit and open it for appending."""
        try:
            assert self._journal_fd is not None
            truncate_journal(self._journal_fd, state.valid_length if state.plan else 0)
            if state.plan is None:
                self._write_journal(header_line(self.plan))
            for name, path in self.paths.items():
                committed = state.offsets.get(name, 0)
                self._files[name] = handle = os.fdopen(open_to_append(path), "ab")
                size = os.fstat(handle.fileno()).st_size
                if size < committed:
                    raise ConfigurationError(
                        f"{path} is shorter than its journal says ({size} < {committed} bytes)"
                    )
                if size > committed:
                    os.ftruncate(handle.fileno(), committed)
                self._offsets[name] = committed
        except OSError as exc:
            self._close_files()
            raise self._unusable(exc.strerror, "cannot write to") from exc
        except ConfigurationError:
            self._close_files()
            raise
        self.done = set(state.done)
        self.artists_done = set(state.artists_done)
        self.credited = set(state.credited)
        self.enriched = set(state.enriched)
        self.counts.update(state.counts)
        self.resumed_from = len(self.done)
        if state.commits:
            log.info("resuming the pull in %s: %d albums already done", self.out, len(self.done))

    def add_album(
        self,
        album_id: str,
        album: Mapping[str, Any],
        tracks: Sequence[Any],
        credited: Sequence[str] = (),
    ) -> None:
        """Buffer one album line and its track lines; they are committed together, with the
        artists the album ``credited`` that no committed album credited before."""
        self._check_usable()
        line = orjson.dumps(album, option=_DUMP)
        track_lines = [orjson.dumps(t, option=_DUMP) for t in tracks]
        self._buffers["albums"].append(line)
        self._buffers["tracks"].extend(track_lines)
        self._pending_bytes += len(line) + sum(map(len, track_lines))
        self._pending_counts["albums"] += 1
        self._pending_counts["tracks"] += len(track_lines)
        for artist_id in credited:
            if artist_id not in self.credited:
                self.credited.add(artist_id)  # kept out of the next commit lines at once
                self._pending_credited.append(artist_id)
        self._pending_ids.append(album_id)
        self._added()

    def add_failure(self, album_id: str, record: Mapping[str, Any]) -> None:
        """Buffer one errors.ndjson line; a failed album counts as done."""
        self._buffer_error(record, "failed")
        self._pending_ids.append(album_id)
        self._added()

    def add_artist(self, artist_id: str, artist: Mapping[str, Any]) -> None:
        """Buffer one artists.ndjson line."""
        self._check_usable()
        line = orjson.dumps(artist, option=_DUMP)
        self._buffers["artists"].append(line)
        self._pending_bytes += len(line)
        self._pending_counts["artists"] += 1
        self._pending_artists.append(artist_id)
        self._added()

    def add_artist_failure(self, artist_id: str, record: Mapping[str, Any]) -> None:
        """Buffer one errors.ndjson line for an artist; a failed artist counts as done."""
        self._buffer_error(record, "artists_failed")
        self._pending_artists.append(artist_id)
        self._added()

    def add_enriched(
        self, key: str, lines: Mapping[str, Sequence[Mapping[str, Any]]], *, done: bool = True
    ) -> None:
        """Buffer the lines one enrichment step wrote (``stream -> records``; an error
        record goes to ``errors``), committed together with ``key`` as done (unless not
        ``done``: a failure that stays due)."""
        self._check_usable()
        for stream, records in lines.items():
            encoded = [orjson.dumps(r, option=_DUMP) for r in records]
            self._buffers[stream].extend(encoded)
            self._pending_bytes += sum(map(len, encoded))
        if done:
            self._pending_enriched.append(key)
        self._pending_steps += 1
        self._added()

    def _buffer_error(self, record: Mapping[str, Any], count: str) -> None:
        self._check_usable()
        line = orjson.dumps(record, option=_DUMP)
        self._buffers["errors"].append(line)
        self._pending_bytes += len(line)
        self._pending_counts[count] += 1

    @property
    def pending(self) -> int:
        """Albums, artists and enrichment steps buffered and not committed yet."""
        return len(self._pending_ids) + len(self._pending_artists) + self._pending_steps

    def _check_usable(self) -> None:
        if self._error is not None:
            raise self._error
        if self._state != "open":
            raise RuntimeError(f"the sink is {self._state}")

    def _added(self) -> None:
        due = time.monotonic() - self._last_commit >= self._interval
        if due or self.pending >= self._max_albums or self._pending_bytes >= self._max_bytes:
            self.commit()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._interval, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.commit()
        except Exception as exc:  # surfaced by the next add or close
            self._error = exc

    def commit(self) -> None:
        """Make every buffered album durable: data first, then one journal line."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last_commit = time.monotonic()
        if not self.pending or self._state != "open" or self._error is not None:
            return  # after a failed write nothing more goes in: resume cuts the tail
        try:
            for name, buffer in self._buffers.items():
                if buffer:
                    self._append(name, b"".join(buffer))
            for key, value in self._pending_counts.items():
                self.counts[key] += value
            line = commit_line(
                self._offsets,
                self._pending_ids,
                self.counts,
                artists=self._pending_artists,
                credited=self._pending_credited,
                enriched=self._pending_enriched,
            )
            self._write_journal(line)
        except OSError as exc:
            # Bytes past the journal's offsets are cut off on resume; nothing more goes in.
            self._error = ConfigurationError(f"cannot write to {self.out}: {exc.strerror}")
            raise self._error from exc
        self.done.update(self._pending_ids)
        self.artists_done.update(self._pending_artists)
        self.enriched.update(self._pending_enriched)
        self._pending_ids, self._pending_artists, self._pending_credited = [], [], []
        self._pending_enriched, self._pending_steps = [], 0
        self._pending_counts = dict.fromkeys(self._pending_counts, 0)
        self._pending_bytes = 0
        for buffer in self._buffers.values():
            buffer.clear()

    def _append(self, name: str, data: bytes) -> None:
        if self.compress == "gzip":
            # One complete member per commit keeps the file valid at every commit boundary.
            packer = zlib.compressobj(6, zlib.DEFLATED, 31)
            data = packer.compress(data) + packer.flush(zlib.Z_FINISH)
        handle = self._files[name]
        handle.write(data)
        handle.flush()
        if self._fsync:
            os.fsync(handle.fileno())
        self._offsets[name] += len(data)

    def _write_journal(self, line: bytes) -> None:
        assert self._journal_fd is not None
        written = os.write(self._journal_fd, line)
        if written != len(line):
            raise OSError(28, "short write to the journal")
        if self._fsync:
            os.fsync(self._journal_fd)

    async def aclose(self) -> None:
        """Commit what is complete and close the files. Safe to call twice."""
        if self._state != "open":
            self._state = "closed"
            return
        try:
            if self._error is None:
                self.commit()
                self._seal_empty_streams()
        finally:
            self._state = "closed"
            self._close_files()

    def _seal_empty_streams(self) -> None:
        """With gzip, give a stream that stayed empty one empty member, so it is valid gzip.

        Only once the pull committed something: a pull that committed nothing stays
        restartable without ``resume``."""
        if self.compress != "gzip" or not self.done:
            return
        empty = [name for name in self.streams if self._offsets[name] == 0]
        if not empty:
            return
        try:
            for name in empty:
                self._append(name, b"")
            self._write_journal(commit_line(self._offsets, [], self.counts))
        except OSError as exc:  # the bytes past the last commit are cut off on resume
            raise ConfigurationError(f"cannot write to {self.out}: {exc.strerror}") from exc

    def _close_files(self) -> None:
        for handle in self._files.values():
            # A full disk can fail the final flush of bytes past the last commit: the
            # file is closed all the same, and a resume cuts those bytes off.
            with contextlib.suppress(OSError):
                handle.close()
        self._files.clear()
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None


def _changed(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The settings that differ between two plans, sorted; inside a setting that is a
    mapping on both sides (the sandbox's), the options that changed, with both values."""
    changed = []
    for key in sorted(before.keys() | now.keys()):
        was, new = before.get(key), now.get(key)
        if was == new:
            continue
        if isinstance(was, Mapping) and isinstance(new, Mapping):
            changed += [
                f"{key} {option} (was {was.get(option)}, now {new.get(option)})"
                for option in sorted(was.keys() | new.keys())
                if was.get(option) != new.get(option)
            ]
        else:
            changed.append(key)
    return changed
