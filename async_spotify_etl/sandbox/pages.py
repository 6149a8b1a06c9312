"""Spotify's wire shapes, assembled from cached bytes: paging objects and error bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

import orjson

_MARKET = re.compile(r"[A-Z]{2}")


class BadParam(Exception):
    """A query parameter Spotify would reject with 400 and this message."""


def error_body(status: int, message: str, reason: str | None = None) -> bytes:
    """Spotify's regular error object."""
    error: dict[str, object] = {"status": status, "message": message}
    if reason is not None:
        error["reason"] = reason
    return orjson.dumps({"error": error})


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(f"Invalid {name}") from None
    if not low <= value <= high:
        raise BadParam(f"Invalid {name}")
    return value


def paging_params(
    query: Mapping[str, str], *, default: int, max_limit: int, max_offset: int = 100_000_000
) -> tuple[int, int]:
    """``limit`` and ``offset`` from a query, validated like Spotify does."""
    limit = _int(query, "limit", default, 1, max_limit)
    offset = _int(query, "offset", 0, 0, max_offset)
    return limit, offset


def market_param(query: Mapping[str, str], name: str = "market") -> str | None:
    """An optional ISO 3166-1 alpha-2 market code."""
    value = query.get(name)
    if value is None or value == "from_token":
        return None
    if not _MARKET.fullmatch(value):
        raise BadParam(f"Invalid {'market' if name == 'market' else 'country'} code")
    return value


def _link(url: str, query: Mapping[str, str], offset: int, limit: int) -> str:
    rest = [(k, v) for k, v in query.items() if k not in ("offset", "limit")]
    return f"{url}?{urlencode([('offset', offset), ('limit', limit), *rest])}"


def paging(
    url: str,
    query: Mapping[str, str],
    items: Sequence[bytes],
    *,
    offset: int,
    limit: int,
    total: int,
) -> bytes:
    """A paging object around pre-serialized items; links are absolute and keep the query."""
    following = _link(url, query, offset + limit, limit) if offset + limit < total else None
    previous = _link(url, query, max(0, offset - limit), limit) if offset > 0 else None
    head = orjson.dumps({"href": _link(url, query, offset, limit)})[:-1]
    tail = orjson.dumps(
        {"limit": limit, "next": following, "offset": offset, "previous": previous, "total": total}
    )[1:]
    return b"".join((head, b',"items":[', b",".join(items), b"],", tail))
