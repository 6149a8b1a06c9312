"""The ``--ids`` and ``--artist-ids`` files: the albums a pull expands when it lists none,
or the artists whose releases it lists, one a line."""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InvalidIdError, SettingsError
from ..core.ids import parse_album_ref, parse_artist_ref

log = logging.getLogger(__name__)

#: Junk lines reported one by one; the rest are counted.
SHOWN_JUNK = 20


@dataclass(frozen=True)
class IdsInput:
    """The ids a file names, in order, plus its junk lines and content hash."""

    ids: tuple[str, ...]
    junk: tuple[tuple[int, str], ...]
    digest: str


def load_ids(path: Path) -> IdsInput:
    """Read album ids, URIs or URLs, one a line (``-`` is stdin), as UTF-8 with or
    without a byte-order mark; junk lines are reported."""
    return _load(path, parse_album_ref, "ids_file", "an album")


def load_artist_ids(path: Path) -> IdsInput:
    """Read artist ids, ``spotify:artist:`` URIs or ``open.spotify.com/artist/`` URLs, one
    a line, as :func:`load_ids` reads albums (``#`` comments, ``-`` for stdin, a BOM)."""
    return _load(path, parse_artist_ref, "artist_ids", "an artist")


def input_of(source: str, ids_file: Path | None) -> IdsInput | None:
    """The file a pull of ``source`` reads (None when it reads none): the artists of
    ``--source artists``, else the albums of ``--ids``."""
    if ids_file is None:
        return None
    if source == "artists":
        return load_artist_ids(ids_file)
    if source in ("auto", "ids"):
        return load_ids(ids_file)
    return None


def _load(path: Path, parse: Callable[[str], str], name: str, what: str) -> IdsInput:
    """Ids one a line; ``name`` is the setting the file is given by, spelled as a flag in
    the warnings (the CLI is where line numbers mean something)."""
    flag = "--" + ("ids" if name == "ids_file" else name.replace("_", "-"))
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise SettingsError(
            "ids_file",
            f"cannot read {{{name}}} {{path}}: {{why}}",
            path=path,
            why=exc.strerror,
        ) from exc
    # utf-8-sig: an editor's byte-order mark is not part of the first id (#23.9)
    text = data.decode("utf-8-sig", errors="replace")
    ids: list[str] = []
    junk: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            ids.append(parse(line))
        except InvalidIdError:
            junk.append((number, line.strip()[:80]))
    for number, line in junk[:SHOWN_JUNK]:
        log.warning("%s line %d is not %s id, URI or URL; skipped: %r", flag, number, what, line)
    if len(junk) > SHOWN_JUNK:
        log.warning("%s: %d more junk lines skipped", flag, len(junk) - SHOWN_JUNK)
    return IdsInput(tuple(ids), tuple(junk), hashlib.sha256(data).hexdigest())
