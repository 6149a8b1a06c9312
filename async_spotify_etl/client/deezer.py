"""The Deezer public API (``api.deezer.com``): albums by UPC, their tracks, artists.

Deezer answers every API error with HTTP 200 and an ``error`` body: code 4 ("Quota limit
exceeded", past 50 requests per 5 s, with no Retry-After) is waited out behind the shared
gate and asked again, code 700 (service busy) is retried as a fault, code 800 ("no data")
is a miss. Requests are paced evenly below the quota and pinned to English
(``Accept-Language: en``) so genre names do not follow the caller's country.
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

from ..core.errors import BadRequestError, MalformedAnswerError, ServerError, error_for_status
from ..core.settings import DEFAULT_MAX_BODY_BYTES, EnrichSettings
from ..core.types import JSONObject
from .public import MISS, PublicClient, Verdict, throttled
from .responses import Answer
from .retry import RETRYABLE_STATUSES

#: The largest page ``/album/{id}/tracks`` is asked for (Deezer clamps ``limit`` at 100).
TRACKS_PAGE = 100
#: The first wait after a code 4: the quota counts a 5 s window and sends no Retry-After.
QUOTA_WINDOW = 5.0
_QUOTA, _BUSY, _NO_DATA = 4, 700, 800


def upc_forms(upc: str) -> list[str]:
    """The forms a UPC is looked up in, in order: where it is a UPC-A padded with leading
    zeros (Spotify's 13 digits ``0…``), its 12 digits first, as Deezer stores it; then as
    given, then with its leading zeros stripped one at a time. Spaces and dashes are
    dropped; a blank UPC has no form; an EAN-13 that starts with another digit is sent whole."""
    digits = "".join(ch for ch in upc if ch not in " -")
    forms = []
    while digits:
        forms.append(digits)
        if not digits.startswith("0"):
            break
        digits = digits[1:]
    twelve = [form for form in forms if len(form) == 12]
    if twelve and len(forms[0]) > 12:
        forms.remove(twelve[0])
        forms.insert(0, twelve[0])
    return forms


class DeezerClient(PublicClient):
    """Deezer's Simple API, key-less; one per pull."""

    name = "Deezer"

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
            s.deezer_url,
            AsyncLimiter(1, 1.0 / s.deezer_rate),
            max_retries=s.enrich_retries,
            timeout=s.enrich_timeout,
            max_body_bytes=DEFAULT_MAX_BODY_BYTES,
            backoff_base=0.5,
            backoff_cap=30.0,
            contact=s.contact,
            session=session,
            headers={"Accept-Language": "en"},
            sleep=sleep,
            clock=clock,
            random=random,
        )

    def judge(self, answer: Answer, url: str) -> Verdict:
        if answer.status in RETRYABLE_STATUSES or answer.status == 429:
            return Verdict("fault", error=ServerError(answer.status, url, "HTTP error"))
        if answer.status != 200:
            raise error_for_status(answer.status, url, "unexpected HTTP status from Deezer")
        try:
            body = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            raise MalformedAnswerError(f"malformed or truncated JSON from {url}") from None
        if not isinstance(body, dict):
            raise MalformedAnswerError(f"Deezer answered JSON that is not an object: {url}")
        error = body.get("error")
        if not error:
            return Verdict("ok", body)
        code = error.get("code") if isinstance(error, dict) else None
        message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        if code == _QUOTA:
            return Verdict("throttle", error=throttled(url, f"Deezer code 4: {message}"))
        if code == _BUSY:
            return Verdict("fault", error=ServerError(503, url, f"Deezer code 700: {message}"))
        if code == _NO_DATA:
            return Verdict("miss")
        raise BadRequestError(400, url, f"Deezer error {code}: {message}"[:200])

    def throttle_delay(self, throttles: int, retry_after: float | None) -> float:
        return self.backoff(throttles, QUOTA_WINDOW * 2.0**throttles)

    async def album_by_upc(self, upc: str | None) -> tuple[JSONObject | None, str | None]:
        """The album Deezer holds under ``upc`` and the form that matched, or (None, None)
        once every form missed."""
        for form in upc_forms(upc or ""):
            album = await self.get(f"/album/upc:{form}", "deezer-album-upc")
            if album is not MISS:
                return album, form
        return None, None

    async def album_tracks(self, album_id: int) -> list[JSONObject]:
        """Every item of ``/album/{id}/tracks`` (they carry ``isrc``), pages of 100."""
        items: list[JSONObject] = []
        while True:
            params = {"limit": TRACKS_PAGE, "index": len(items)}
            page = await self.get(f"/album/{album_id}/tracks", "deezer-album-tracks", params)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                break  # a miss, or no list: what was read is all there is
            items.extend(item for item in data if isinstance(item, dict))
            total = page.get("total")
            if not data or "next" not in page or (isinstance(total, int) and len(items) >= total):
                break
        return items

    async def artist(self, artist_id: int) -> JSONObject | None:
        """The artist object (``nb_fan``, ``nb_album``), or None on a miss."""
        found: Any = await self.get(f"/artist/{artist_id}", "deezer-artist")
        return found if isinstance(found, dict) else None
