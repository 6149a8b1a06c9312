"""Whole files replaced atomically: the one way this package writes a file it rewrites.

A reader sees the old file or the new one, never half of either, and once
:func:`atomic_write` returns the new file survives a power cut: the bytes are written to a
temporary file in the same folder (so the rename cannot cross file systems), flushed and
fsynced, renamed over the target with :func:`os.replace`, and the folder is fsynced so
the rename itself is on disk. A failure at any step leaves the old file as it was and no
temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path


def atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` with ``data`` (bytes, or chunks of bytes written in turn).

    The new file's mode follows the umask, as a plain ``open`` would; an :class:`OSError`
    is raised as it comes, after the temporary file is removed.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    chunks = [data] if isinstance(data, bytes | bytearray | memoryview) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; a file system that cannot sync a folder
    (some network mounts refuse to open one) keeps the rename all the same."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
