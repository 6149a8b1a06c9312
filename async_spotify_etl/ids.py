"""Spotify ids: validation before an id enters a URL path, and parsing of user input."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import InvalidIdError

__all__ = ["is_spotify_id", "parse_album_ref", "validate_id"]

_ID = re.compile(r"[0-9A-Za-z]{22}")
_URI = re.compile(r"spotify:album:([0-9A-Za-z]{22})")


def is_spotify_id(value: object) -> bool:
    """True when ``value`` is a 22-character base62 string."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def validate_id(value: object) -> str:
    """Return ``value`` if it is a Spotify id, else raise :class:`InvalidIdError`."""
    if not is_spotify_id(value):
        shown = repr(value)[:60]
        raise InvalidIdError(f"not a Spotify id (22 base62 characters): {shown}")
    return value  # type: ignore[return-value]


def parse_album_ref(text: str) -> str:
    """An album id from a bare id, a ``spotify:album:`` URI or an open.spotify.com URL."""
    ref = text.strip()
    if is_spotify_id(ref):
        return ref
    if match := _URI.fullmatch(ref):
        return match.group(1)
    parts = urlsplit(ref)
    if parts.scheme in ("http", "https") and parts.hostname == "open.spotify.com":
        segments = [s for s in parts.path.split("/") if s]
        # open.spotify.com/album/ID or open.spotify.com/intl-xx/album/ID
        if len(segments) >= 2 and segments[-2] == "album" and is_spotify_id(segments[-1]):
            return segments[-1]
    raise InvalidIdError(
        f"not an album id, spotify:album: URI or open.spotify.com URL: {ref[:80]!r}"
    )
