"""The layout of a pull directory: its file names, where each lives, and what is already there.

A pull directory holds one NDJSON file per stream (``albums.ndjson`` or, with gzip,
``albums.ndjson.gz``), the commit journal ``.journal`` and ``manifest.json``. Every module
that writes or reads one asks this module for the names, so the format is spelled once.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..core.errors import ConfigurationError
from ..core.settings import Compression

#: The NDJSON streams of a pull, by file stem; also the journal's offset keys.
STREAMS = ("albums", "tracks", "artists", "errors")
#: The streams a pull with ``enrich`` adds (see docs/enrich.md); a pull without writes none.
ENRICH_STREAMS = ("deezer_albums", "deezer_tracks", "deezer_artists", "musicbrainz_releases")
JOURNAL_NAME = ".journal"
MANIFEST_NAME = "manifest.json"
_SUFFIXES: dict[Compression, str] = {"none": ".ndjson", "gzip": ".ndjson.gz"}


def data_path(out: Path, stream: str, compress: Compression) -> Path:
    """Where ``stream`` is written: ``albums.ndjson``, or ``albums.ndjson.gz`` with gzip."""
    return out / f"{stream}{_SUFFIXES[compress]}"


def journal_path(out: Path) -> Path:
    """The commit journal of the pull in ``out``."""
    return out / JOURNAL_NAME


def manifest_path(out: Path) -> Path:
    """The manifest of the pull in ``out``."""
    return out / MANIFEST_NAME


def written_names() -> tuple[str, ...]:
    """Every name a pull writes in its directory, whatever its compression."""
    streams = (*STREAMS, *ENRICH_STREAMS)
    data = (f"{stream}{suffix}" for stream in streams for suffix in _SUFFIXES.values())
    return (JOURNAL_NAME, MANIFEST_NAME, *data)


def refuse_unsafe(folder: Path, names: Iterable[str], *, folders: bool = False) -> None:
    """Refuse, in one line, to write through any of ``names`` in ``folder`` that is a
    symbolic link (its target may be anywhere), or that is not a regular file (a FIFO
    would block; a folder, unless ``folders``): nothing is followed or truncated there."""
    for name in names:
        path = folder / name
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigurationError(f"cannot use {path}: {exc.strerror}") from exc
        if stat.S_ISLNK(mode):
            raise ConfigurationError(
                f"{path} is a symbolic link; nothing is written through one: remove it"
            )
        if not (stat.S_ISREG(mode) or (folders and stat.S_ISDIR(mode))):
            raise ConfigurationError(f"{path} is not a regular file; remove it")


def open_to_append(path: Path) -> int:
    """A descriptor appending to ``path`` (created if missing), never through a symbolic
    link and never blocking on something that is not a regular file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            refuse_unsafe(path.parent, [path.name])
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigurationError(f"{path} is not a regular file; remove it")
    return fd


def find_stream(out: Path, stream: str) -> Path | None:
    """The file that holds ``stream`` in ``out``, plain or gzip, or None; both is an error."""
    found = [p for p in (data_path(out, stream, c) for c in _SUFFIXES) if p.is_file()]
    if len(found) > 1:
        raise ConfigurationError(
            f"both {found[0].name} and {found[1].name} are in {out}; keep one of them"
        )
    return found[0] if found else None


def pull_files_present(out: Path, compress: Compression) -> list[Path]:
    """The files of a pull written with ``compress`` that already exist in ``out``."""
    candidates = (
        journal_path(out),
        manifest_path(out),
        *(data_path(out, s, compress) for s in STREAMS),
    )
    return [p for p in candidates if p.exists()]


def require_pull_dir(out: Path) -> None:
    """Refuse ``out`` unless it is a directory (readers call this before anything else)."""
    if not out.exists():
        raise ConfigurationError(f"{out} does not exist: give the folder of a pull or dataset")
    if not out.is_dir():
        raise ConfigurationError(f"{out} is not a directory with a pull in it")
