"""Helpers for the sandbox tests: an HTTP session that speaks to one sandbox."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest

from async_spotify_etl.sandbox import Sandbox


class Api:
    """Raw HTTP against a sandbox: every response's status, headers and parsed body."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: Sandbox) -> None:
        self.session = session
        self.sandbox = sandbox
        self.token: str | None = None

    async def fetch_token(self, form: dict[str, str] | None = None, **headers: str) -> Any:
        """POST the token endpoint; returns (status, body)."""
        if not headers and form is None:
            creds = self.sandbox.credentials
            raw = f"{creds.client_id}:{creds.client_secret}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        data = {"grant_type": "client_credentials"} if form is None else form
        async with self.session.post(self.sandbox.token_url, data=data, headers=headers) as r:
            return r.status, orjson.loads(await r.read())

    async def login(self) -> str:
        status, body = await self.fetch_token()
        assert status == 200, body
        self.token = body["access_token"]
        return self.token

    async def raw(
        self, path: str, params: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` (relative to /v1, or an absolute URL) with the current token."""
        if self.token is None and token is None:
            await self.login()
        url = path if path.startswith("http") else self.sandbox.api_url + path
        bearer = token if token is not None else self.token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        async with self.session.get(url, params=params, headers=headers) as r:
            return r.status, dict(r.headers), await r.read()

    async def get(
        self, path: str, params: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, Any]:
        """GET and parse the JSON body."""
        status, _, body = await self.raw(path, params, token)
        return status, orjson.loads(body)


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def api_factory(sandbox_factory: Any) -> AsyncIterator[ApiFactory]:
    """``await api_factory(**config)`` -> an :class:`Api` on a fresh sandbox."""
    async with aiohttp.ClientSession() as session:

        async def factory(**fields: Any) -> Api:
            return Api(session, await sandbox_factory(**fields))

        yield factory


@pytest.fixture
async def api(api_factory: ApiFactory) -> Api:
    """An :class:`Api` on a default sandbox."""
    return await api_factory()
