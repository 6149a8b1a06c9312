"""The sandbox remembers every token it issued, so the suite can prove none leaked."""

from __future__ import annotations

import asyncio

from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.core.settings import ClientSettings
from tests.conftest import SandboxFactory


async def test_issued_tokens_include_the_expired_ones(sandbox_factory: SandboxFactory) -> None:
    now = [0.0]
    sb = await sandbox_factory(token_lifetime=2.0, clock=lambda: now[0])
    settings = ClientSettings(api_url=sb.api_url, token_url=sb.token_url)

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    async with SpotifyClient(sb.credentials, settings, clock=lambda: now[0], sleep=sleep) as c:
        for _ in range(3):
            await c.get_json("/browse/new-releases", {"limit": 1}, endpoint="new-releases")
            now[0] += 5.0  # past the token's life: the next request needs a new one
    issued = sb.state.tokens.issued
    assert len(issued) == len(set(issued)) == sb.stats()["tokens_issued"] == 3
    assert all(sb.state.tokens.client_of(token) is None for token in issued)  # all expired
