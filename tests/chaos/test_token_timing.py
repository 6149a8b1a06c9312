"""A token is taken when the pacer releases a request, not before the request's wait.

Found by the token-churn scenario: with 32 workers paced well below their number, each
request waited in the pacer longer than its token had left, reached the API with an
expired token, got a 401, refreshed, waited again and failed on the second 401.
"""

from __future__ import annotations

import asyncio

from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.client.pacing import Ticket
from async_spotify_etl.core.settings import ClientSettings
from tests.conftest import SandboxFactory

LIFETIME = 2.0
PAGE = {"country": "US", "limit": 1}


async def test_a_request_held_at_the_429_gate_past_its_token_life_gets_a_fresh_token(
    sandbox_factory: SandboxFactory,
) -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    sb = await sandbox_factory(token_lifetime=LIFETIME, clock=clock)
    settings = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=1000.0, burst=100)
    async with SpotifyClient(sb.credentials, settings, clock=clock, sleep=sleep) as client:
        await client.get_json("/browse/new-releases", PAGE, endpoint="new-releases")
        client.pacer.record_throttle(Ticket(clock()), LIFETIME + 0.5)
        await client.get_json("/browse/new-releases", PAGE, endpoint="new-releases")
    assert now[0] > LIFETIME  # the second request really waited past the first token's life
    assert sb.stats()["requests"]["new-releases"] == {"200": 2}  # no 401: no stale token sent
    assert client.stats.token_refreshes == 2
