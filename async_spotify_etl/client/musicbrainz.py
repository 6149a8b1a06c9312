"""The MusicBrainz web service (``musicbrainz.org/ws/2``, JSON): releases by barcode and
their release groups' genres and tags.

MusicBrainz allows one request a second per IP and wants every application named in its
User-Agent (403 without one). It sheds load with 503 and a Retry-After (1 over the rate,
0 when merely busy, even at a compliant rate): waited out, the longer of Retry-After and
an exponential backoff, then asked again. A 404 is a miss.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from aiolimiter import AsyncLimiter

from ..core.errors import MalformedAnswerError, ServerError, error_for_status
from ..core.settings import DEFAULT_MAX_BODY_BYTES, EnrichSettings
from ..core.types import JSONObject
from .bodies import ErrorBody
from .public import PublicClient, Verdict, throttled
from .responses import Answer
from .retry import RETRYABLE_STATUSES, parse_retry_after

#: Release search hits asked for: ties at score 100 are several editions of one barcode.
SEARCH_LIMIT = 10


def barcode_key(barcode: object) -> str:
    """A barcode as MusicBrainz's index compares it: digits without spaces or leading zeros."""
    return str(barcode or "").replace(" ", "").lstrip("0")


def best_release(hits: object, upc: str) -> JSONObject | None:
    """The first release hit with score 100 whose barcode equals ``upc`` ignoring leading
    zeros, or None."""
    if not isinstance(hits, list) or not barcode_key(upc):
        return None
    for hit in hits:
        if (
            isinstance(hit, dict)
            and hit.get("score") == 100
            and barcode_key(hit.get("barcode")) == barcode_key(upc)
        ):
            return hit
    return None


class MusicBrainzClient(PublicClient):
    """MusicBrainz WS/2, key-less and read-only; one request at a time per pull."""

    name = "MusicBrainz"

    def __init__(
        self,
        settings: EnrichSettings | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        s = settings or EnrichSettings()
        super().__init__(
            s.musicbrainz_url,
            AsyncLimiter(1, s.musicbrainz_interval),
            max_retries=s.enrich_retries,
            timeout=s.enrich_timeout,
            max_body_bytes=DEFAULT_MAX_BODY_BYTES,
            backoff_base=1.0,
            backoff_cap=30.0,
            contact=s.contact,
            session=session,
            sleep=sleep,
            clock=clock,
            random=random,
        )

    def judge(self, answer: Answer, url: str) -> Verdict:
        status = answer.status
        if 200 <= status < 300:
            try:
                return Verdict("ok", orjson.loads(answer.body))
            except orjson.JSONDecodeError:
                raise MalformedAnswerError(f"malformed or truncated JSON from {url}") from None
        if status == 404:
            return Verdict("miss")
        message = _message(answer.body)
        retry_after = parse_retry_after(answer.headers.get("Retry-After"))
        if status in (429, 503):
            error = throttled(url, message, retry_after)
            return Verdict("throttle", error=error, retry_after=retry_after or 0.0)
        if status in RETRYABLE_STATUSES:
            fault = ServerError(status, url, message)
            return Verdict("fault", error=fault, retry_after=retry_after)
        raise error_for_status(status, url, message)

    async def release_by_barcode(self, upc: str | None) -> JSONObject | None:
        """The best release search hit for ``upc`` (see :func:`best_release`), or None."""
        key = barcode_key(upc)
        if not key:
            return None
        params: dict[str, str | int] = {
            "query": f"barcode:{key}",
            "limit": SEARCH_LIMIT,
            "fmt": "json",
        }
        found: Any = await self.get("/release", "musicbrainz-release-search", params)
        return best_release(found.get("releases") if isinstance(found, dict) else None, key)

    async def release_group(self, mbid: str) -> JSONObject | None:
        """The release group with its genres and tags, or None on a miss."""
        params = {"inc": "genres+tags", "fmt": "json"}
        found: Any = await self.get(f"/release-group/{mbid}", "musicbrainz-release-group", params)
        return found if isinstance(found, dict) else None


def _message(body: bytes) -> str:
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return ErrorBody.from_json(decoded).message[:200]
