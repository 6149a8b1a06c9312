"""Spotify ids: validation before an id enters a URL path, and parsing of user input."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import InvalidIdError

#: The longest bad id :func:`shown_id` keeps.
SHOWN_ID_CHARS = 64

_ID = re.compile(r"[0-9A-Za-z]{22}")
_URI = re.compile(r"spotify:(album|artist):([0-9A-Za-z]{22})")


def is_spotify_id(value: object) -> bool:
    """True when ``value`` is a 22-character base62 string."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def validate_id(value: object) -> str:
    """Return ``value`` if it is a Spotify id, else raise :class:`InvalidIdError`."""
    if not is_spotify_id(value):
        shown = repr(value)[:60]
        raise InvalidIdError(f"not a Spotify id (22 base62 characters): {shown}")
    return value  # type: ignore[return-value]


def shown_id(value: object) -> str:
    """A value that is not a Spotify id, as the string that reports it: strings cut to
    :data:`SHOWN_ID_CHARS`, anything else as its type and repr (never a valid id, so a
    report can never be mistaken for, or turned into, a request)."""
    text = value if isinstance(value, str) else f"{type(value).__name__}:{value!r}"
    return text[:SHOWN_ID_CHARS]


def parse_album_ref(text: str) -> str:
    """An album id from a bare id, a ``spotify:album:`` URI or an open.spotify.com URL."""
    return parse_ref(text, "album")


def parse_artist_ref(text: str) -> str:
    """An artist id from a bare id, a ``spotify:artist:`` URI or an open.spotify.com URL."""
    return parse_ref(text, "artist")


def parse_ref(text: str, kind: str) -> str:
    """A ``kind`` (album, artist) id from a bare id, a ``spotify:KIND:`` URI or an
    ``open.spotify.com/KIND/`` URL (with or without an ``intl-xx`` segment)."""
    ref = text.strip()
    if is_spotify_id(ref):
        return ref
    if (match := _URI.fullmatch(ref)) and match.group(1) == kind:
        return match.group(2)
    parts = urlsplit(ref)
    if parts.scheme in ("http", "https") and parts.hostname == "open.spotify.com":
        segments = [s for s in parts.path.split("/") if s]
        # open.spotify.com/KIND/ID or open.spotify.com/intl-xx/KIND/ID
        if len(segments) >= 2 and segments[-2] == kind and is_spotify_id(segments[-1]):
            return segments[-1]
    raise InvalidIdError(
        f"not an {kind} id, spotify:{kind}: URI or open.spotify.com URL: {ref[:80]!r}"
    )
