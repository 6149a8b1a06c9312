"""Lenient readers for the bodies Spotify returns.

Albums and tracks stay plain dicts, kept verbatim for the output; these helpers only pull
out what the extractor decides on (ids, paging, tokens, errors) and never crash on the
fields Spotify adds, drops or spells differently (``album_type`` "ep" or "ALBUM",
``label``/``popularity`` absent in development mode, ``null`` slots in lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.errors import MalformedAnswerError, TransportError
from ..core.ids import is_spotify_id, shown_id
from ..core.types import JSONObject


def _object(value: object, what: str) -> JSONObject:
    if not isinstance(value, dict):
        raise MalformedAnswerError(f"expected a JSON object for {what}, got {type(value).__name__}")
    return value


def _int(value: object, default: int | None = None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True)
class Page:
    """One page of a Spotify paging object. ``items`` holds only well-formed objects with a
    valid id; ``skipped`` counts the ``null`` or malformed slots that were dropped, and
    ``invalid_ids`` holds, made safe by :func:`.ids.shown_id`, the ids of those that were
    objects with an ``id`` that is not a Spotify id (data to report, never to request)."""

    items: list[JSONObject]
    total: int | None
    limit: int | None
    offset: int
    next: str | None
    skipped: int = 0
    invalid_ids: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, body: object, key: str | None = None) -> Page:
        """Read a paging object, or the one under ``body[key]`` (``"albums"`` for listings)."""
        paging = _object(body, "a page")
        if key is not None:
            paging = _object(paging.get(key), f"the {key!r} page")
        raw_items = paging.get("items")
        if not isinstance(raw_items, list):
            raise MalformedAnswerError("page has no 'items' list")
        items = [
            item for item in raw_items if isinstance(item, dict) and is_spotify_id(item.get("id"))
        ]
        invalid = () if len(items) == len(raw_items) else _invalid_ids(raw_items)
        next_url = paging.get("next")
        return cls(
            items=items,
            total=_int(paging.get("total")),
            limit=_int(paging.get("limit")),
            offset=_int(paging.get("offset"), 0) or 0,
            next=next_url if isinstance(next_url, str) and next_url else None,
            skipped=len(raw_items) - len(items),
            invalid_ids=invalid,
        )


def _invalid_ids(raw_items: list[Any]) -> tuple[str, ...]:
    """The ids, made safe, of the objects whose ``id`` is present but not a Spotify id."""
    ids = (item.get("id") for item in raw_items if isinstance(item, dict))
    return tuple(shown_id(i) for i in ids if i is not None and not is_spotify_id(i))


@dataclass(frozen=True)
class Token:
    """A client-credentials access token. The token itself never appears in a repr."""

    access_token: str = field(repr=False)
    expires_in: float
    token_type: str = "Bearer"

    @classmethod
    def from_json(cls, body: object) -> Token:
        """Read a token response; ``token_type`` is compared case-insensitively."""
        data = _object(body, "a token response")
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransportError("token response has no access_token")
        token_type = data.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TransportError(f"unsupported token_type {token_type!r}")
        expires_in = data.get("expires_in")
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
            raise TransportError("token response has no numeric expires_in")
        return cls(token, float(expires_in), "Bearer")


@dataclass(frozen=True)
class ErrorBody:
    """An error body in either shape: the Web API's ``{"error": {"status", "message",
    "reason"?}}`` or the accounts service's RFC 6749 ``{"error", "error_description"}``."""

    status: int | None
    message: str
    reason: str | None = None

    @classmethod
    def from_json(cls, body: object) -> ErrorBody:
        """Read an error body; anything unreadable gives an empty message."""
        if not isinstance(body, dict):
            return cls(None, "")
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            reason = error.get("reason")
            return cls(
                _int(error.get("status")),
                message if isinstance(message, str) else "",
                reason if isinstance(reason, str) else None,
            )
        if isinstance(error, str):
            description = body.get("error_description")
            text = f"{error}: {description}" if isinstance(description, str) else error
            return cls(None, text, error)
        return cls(None, "")

    @property
    def quota_exceeded(self) -> bool:
        """True for the development-mode daily quota 429 (not a plain rate limit)."""
        return self.reason == "QUOTA_EXCEEDED"
