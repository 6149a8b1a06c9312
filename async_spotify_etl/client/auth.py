"""Client-credentials access tokens: one fetch however many tasks need a new token.

Read without the lock; on a miss or near expiry take the lock, re-check, fetch once.
Expiry runs on a monotonic clock minus a margin, so a token is replaced before Spotify
would reject it; a 401 invalidates only the token that failed, so fifty simultaneous
401s cause one refresh.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp
import orjson
from yarl import URL

from ..core.errors import (
    AuthenticationError,
    RateLimitedError,
    ServerError,
    SettingsError,
    TransportError,
    error_for_status,
)
from ..core.settings import DEFAULT_REFRESH_MARGIN, Credentials
from .bodies import ErrorBody, Token
from .redact import credential_forms, redact
from .retry import RETRYABLE_STATUSES, RetryPolicy
from .urls import transport_error

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Token responses are tiny; anything bigger is not a token response.
_MAX_TOKEN_BODY = 64 * 1024
#: The refresh margin never exceeds this share of a token's lifetime: Spotify's one-hour
#: tokens keep the full margin, a 2-second token is renewed 0.2 s before it expires.
_MAX_MARGIN_SHARE = 0.1


class TokenProvider:
    """Fetches and caches a client-credentials token from ``token_url``.

    Borrows an aiohttp session. Bad credentials raise :class:`AuthenticationError` at
    once; a 5xx, 429 or timeout from the token endpoint is retried with ``retry``.
    """

    def __init__(
        self,
        credentials: Credentials,
        session: aiohttp.ClientSession,
        token_url: URL,
        *,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._credentials = credentials
        self._session = session
        self._token_url = token_url
        self._margin = refresh_margin
        self._retry = retry if retry is not None else RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._refused: AuthenticationError | None = None
        self._refresh_at = 0.0
        #: Token requests answered with a token (the first one included).
        self.refreshes = 0
        self.waited_seconds = 0.0

    def __repr__(self) -> str:
        if self._token is None:
            state = "no token"
        else:
            state = f"token valid for {self._refresh_at - self._clock():.0f} s"
        return f"<TokenProvider {self._token_url.origin()} [{state}, refreshes={self.refreshes}]>"

    def _current(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        return None

    async def token(self) -> str:
        """A valid access token, fetching one if none is cached or it is about to expire."""
        if (token := self._current()) is not None:
            return token
        async with self._lock:
            # Another task may have refreshed while this one waited for the lock.
            if (token := self._current()) is not None:
                return token
            if self._refused is not None:  # refused credentials stay refused: ask once
                raise AuthenticationError(*self._refused.args)
            try:
                asked_at, fresh = await self._fetch()
            except AuthenticationError as exc:
                self._refused = exc
                raise
            # Refresh a margin early, but by at most a small share of a short token's
            # life (the sandbox's, in tests), so it is not renewed far more often than
            # it expires.
            margin = min(self._margin, fresh.expires_in * _MAX_MARGIN_SHARE)
            self._token = fresh.access_token
            # Counted from when it was asked for: the answer may have been slow.
            self._refresh_at = asked_at + fresh.expires_in - margin
            self.refreshes += 1
            logger.debug("new access token, refresh in %.0f s", fresh.expires_in - margin)
            return fresh.access_token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after a 401, unless it was already replaced."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> tuple[float, Token]:
        """When the successful request was sent, and the token it got."""
        retries = 0
        while True:
            asked_at = self._clock()
            try:
                return asked_at, await self._request()
            except (TransportError, ServerError, RateLimitedError) as exc:
                if not self._retry.can_retry(retries):
                    raise
                delay = self._retry.delay(retries, getattr(exc, "retry_after", None))
                retries += 1
                logger.info("token request failed (%s); retry %d in %.1f s", exc, retries, delay)
                self.waited_seconds += delay
                await self._sleep(delay)

    async def _request(self) -> Token:
        pair = f"{self._credentials.client_id}:{self._credentials.client_secret}"
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        try:
            async with self._session.post(
                self._token_url,
                data="grant_type=client_credentials",
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                body = await response.content.read(_MAX_TOKEN_BODY + 1)
                status = response.status
        except TimeoutError:
            raise TransportError(f"token request to {self._token_url} timed out") from None
        except aiohttp.ClientError as exc:
            name = type(exc).__name__
            failed = f"token request to {self._token_url} failed: {name}"
            raise transport_error("the token URL", str(self._token_url), exc, failed) from None
        return self._parse(status, body)

    def _not_the_token_endpoint(self, what: str) -> SettingsError:
        return SettingsError(
            "token_url",
            "{token_url} {url} {what}: is it the token endpoint (…/api/token)?",
            url=self._token_url,
            what=what,
        )

    def _parse(self, status: int, body: bytes) -> Token:
        try:
            data: object = orjson.loads(body) if len(body) <= _MAX_TOKEN_BODY else None
        except orjson.JSONDecodeError:
            data = None
        if status == 200:
            if data is None:
                raise self._not_the_token_endpoint("answered 200 with a body that is not JSON")
            return Token.from_json(data)
        if status in (404, 405):  # a URL that serves no token endpoint, not refused credentials
            raise self._not_the_token_endpoint(f"answered HTTP {status}")
        # A hostile or broken server could echo the secret or the Basic header back
        # (in any encoding); never pass it on.
        credentials = self._credentials
        forms = credential_forms(credentials.client_id, credentials.client_secret)
        message = redact(ErrorBody.from_json(data).message, forms)
        if status in RETRYABLE_STATUSES or status == 429:
            raise error_for_status(status, str(self._token_url), message)
        detail = f": {message}" if message else ""
        raise AuthenticationError(
            f"the token endpoint refused the client credentials (HTTP {status}){detail}"
        )
