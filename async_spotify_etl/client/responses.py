"""What one HTTP answer from the Web API means: JSON, a reason to retry, or a typed error.

Kept apart from the client's loop so each status rule reads as one line; the body is
read under a size cap before anything looks at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from ..core.errors import (
    EndpointUnavailableError,
    MalformedAnswerError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    SpotifyETLError,
    UnauthorizedError,
    error_for_status,
)
from .bodies import ErrorBody
from .redact import redact
from .retry import RETRYABLE_STATUSES, parse_retry_after

#: Endpoints development-mode apps lost in 2026: their 403 means "use the fallback".
LOST_IN_DEVELOPMENT_MODE = frozenset({"new-releases", "several-albums", "several-artists"})
#: Longest server message carried into an exception.
_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class Answer:
    """A whole answer: status, headers and the (capped) body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass(frozen=True)
class Retry:
    """Why an answer may be retried: a stale token, a 429, or a transient fault."""

    kind: Literal["auth", "throttle", "fault"]
    error: SpotifyETLError
    retry_after: float | None = None
    quota_exceeded: bool = False


async def read_body(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body, refused once it passes ``cap`` bytes: by its Content-Length, else counted."""
    try:
        declared = response.content_length
    except ValueError:  # a malformed Content-Length: rely on counting below
        declared = None
    if declared is not None and declared > cap:
        raise ResponseTooLargeError(f"body of {declared} bytes exceeds the {cap} byte cap")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > cap:
            raise ResponseTooLargeError(f"body exceeds the {cap} byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


def interpret(answer: Answer, url: str, endpoint: str, token: str) -> Any:
    """The JSON of a 2xx, a :class:`Retry` for what may be retried, else raise the typed
    error. ``token`` and any Basic or Bearer credential are blanked out of the server's
    message (a server might echo them, see :mod:`.redact`)."""
    if 200 <= answer.status < 300:
        try:
            return orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            raise MalformedAnswerError(f"malformed or truncated JSON from {url}") from None
    error = ErrorBody.from_json(_loads_or_none(answer.body))
    # blanked before it is cut short, so no cut leaves part of a credential behind
    message = redact(error.message, (token,) if token else ())[:_MESSAGE_CHARS]
    retry_after = parse_retry_after(answer.headers.get("Retry-After"))
    status = answer.status
    if status == 401:
        return Retry("auth", UnauthorizedError(401, url, message))
    if status == 429:
        limited = RateLimitedError(429, url, message, retry_after)
        return Retry("throttle", limited, retry_after, error.quota_exceeded)
    if status in RETRYABLE_STATUSES:
        return Retry("fault", ServerError(status, url, message), retry_after)
    if status == 403 and endpoint in LOST_IN_DEVELOPMENT_MODE:
        raise EndpointUnavailableError(403, url, message)
    raise error_for_status(status, url, message)


def _loads_or_none(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
