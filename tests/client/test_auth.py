"""The token provider under concurrency: one fetch per expiry, one refresh per stale token,
refresh a margin before expiry. Time is a fake clock; the endpoints are scripted."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.client.conftest import ClientFactory
from tests.fakes import ALBUM_ID, TOKEN_URL, FakeClock, token_body, url

PATH = f"/albums/{ALBUM_ID}"


class TokenServer:
    """Issues token-1, token-2, ... and answers API calls; records what it saw."""

    def __init__(
        self, mock_api: Any, expires_in: int = 3600, revoked: frozenset[str] = frozenset()
    ) -> None:
        self.result = mock_api.result
        self.expires_in = expires_in
        self.revoked = revoked
        self.issued: list[str] = []
        self.seen: list[str] = []

    async def token(self, url: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.01)  # slow enough for every waiting task to pile up
        self.issued.append(f"token-{len(self.issued) + 1}")
        return self.result(payload=token_body(self.issued[-1], self.expires_in))

    async def api(self, url: Any, **kwargs: Any) -> Any:
        token = kwargs["headers"]["Authorization"].removeprefix("Bearer ")
        self.seen.append(token)
        await asyncio.sleep(0.005)
        if token in self.revoked:
            return self.result(status=401, payload={"error": {"status": 401, "message": "x"}})
        return self.result(payload={"id": ALBUM_ID})


async def test_64_requests_straddling_expiry_cause_exactly_one_token_request(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    server = TokenServer(mock_api, expires_in=3600)
    mock_api.post(TOKEN_URL, callback=server.token, repeat=True)
    mock_api.get(url(PATH), callback=server.api, repeat=True)
    async with make_client(concurrency=64, refresh_margin=60.0) as api:
        await api.get_json(PATH)
        async with asyncio.TaskGroup() as group:
            for _ in range(32):
                group.create_task(api.get_json(PATH))
            await asyncio.sleep(0)  # the first 32 are on their way with token-1
            clock.now += 3600.0  # ... and now it has expired
            for _ in range(32):
                group.create_task(api.get_json(PATH))
        assert api.stats.token_refreshes == 2
    assert server.issued == ["token-1", "token-2"]
    assert server.seen.count("token-1") == 1 + 32
    assert server.seen.count("token-2") == 32


async def test_50_simultaneous_401s_cause_exactly_one_refresh(
    mock_api: Any, make_client: ClientFactory
) -> None:
    server = TokenServer(mock_api)
    mock_api.post(TOKEN_URL, callback=server.token, repeat=True)
    mock_api.get(url(PATH), callback=server.api, repeat=True)
    async with make_client(concurrency=64) as api:
        await api.get_json(PATH)
        server.revoked = frozenset({"token-1"})  # revoked while the client still trusts it
        results = await asyncio.gather(*(api.get_json(PATH) for _ in range(50)))
        assert api.stats.retries == 50
    assert results == [{"id": ALBUM_ID}] * 50
    assert server.issued == ["token-1", "token-2"]
    assert server.seen.count("token-1") == 1 + 50
    assert server.seen.count("token-2") == 50


async def test_the_token_is_refreshed_a_margin_before_it_expires(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    server = TokenServer(mock_api, expires_in=3600)
    mock_api.post(TOKEN_URL, callback=server.token, repeat=True)
    mock_api.get(url(PATH), callback=server.api, repeat=True)
    async with make_client(concurrency=64, refresh_margin=60.0) as api:
        start = clock.now
        await api.get_json(PATH)
        clock.now = start + 3539.0
        await api.get_json(PATH)
        assert server.issued == ["token-1"]
        clock.now = start + 3541.0  # 59 s before Spotify would reject token-1
        await api.get_json(PATH)
    assert server.issued == ["token-1", "token-2"]
    assert server.seen == ["token-1", "token-1", "token-2"]


async def test_a_short_lived_token_is_not_refreshed_on_every_request(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    server = TokenServer(mock_api, expires_in=10)
    mock_api.post(TOKEN_URL, callback=server.token, repeat=True)
    mock_api.get(url(PATH), callback=server.api, repeat=True)
    async with make_client(concurrency=64, refresh_margin=60.0) as api:
        start = clock.now
        for offset in (0.0, 1.0, 5.0, 8.9):
            clock.now = start + offset
            await api.get_json(PATH)
        assert server.issued == ["token-1"]
        clock.now = start + 9.1  # a tenth of its life left, not 60 s: refresh early
        await api.get_json(PATH)
    assert server.issued == ["token-1", "token-2"]
