"""The ``--ids`` file: the albums a pull expands when it lists none, one a line."""

from __future__ import annotations

import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InvalidIdError, SettingsError
from ..core.ids import parse_album_ref

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdsInput:
    """The albums an ``--ids`` file names, in order, plus its junk lines and content hash."""

    ids: tuple[str, ...]
    junk: tuple[tuple[int, str], ...]
    digest: str


def load_ids(path: Path) -> IdsInput:
    """Read album ids, URIs or URLs, one a line (``-`` is stdin), as UTF-8 with or
    without a byte-order mark; junk lines are reported."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise SettingsError(
            "ids_file", "cannot read {ids_file} {path}: {why}", path=path, why=exc.strerror
        ) from exc
    # utf-8-sig: an editor's byte-order mark is not part of the first id (#23.9)
    text = data.decode("utf-8-sig", errors="replace")
    ids: list[str] = []
    junk: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            ids.append(parse_album_ref(line))
        except InvalidIdError:
            junk.append((number, line.strip()[:80]))
    for number, line in junk[:20]:
        log.warning("--ids line %d is not an album id, URI or URL; skipped: %r", number, line)
    if len(junk) > 20:
        log.warning("--ids: %d more junk lines skipped", len(junk) - 20)
    return IdsInput(tuple(ids), tuple(junk), hashlib.sha256(data).hexdigest())
