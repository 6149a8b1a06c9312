"""``day_seconds``: the sandbox's lists move while it runs, driven by its clock."""

from __future__ import annotations

import aiohttp
import pytest

from async_spotify_etl.core.errors import SettingsError
from async_spotify_etl.sandbox import SandboxConfig
from async_spotify_etl.sandbox.catalogue import Catalogue
from tests.conftest import SandboxFactory
from tests.fakes import FakeClock


async def _listed(session: aiohttp.ClientSession, sandbox: object, token: str) -> list[str]:
    url = f"{sandbox.api_url}/browse/new-releases?country=US&limit=50"  # type: ignore[attr-defined]
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        body = await resp.json()
    return [a["id"] for a in body["albums"]["items"]]


async def test_the_lists_move_one_day_each_day_length(
    sandbox_factory: SandboxFactory, clock: FakeClock
) -> None:
    """Day 1 begins one day length after start, day 2 two; each serves that day's list,
    which is what a sandbox configured with that day serves."""
    sb = await sandbox_factory(
        clock=clock.time, markets=("US",), albums_per_market=20, day_seconds=10
    )
    expected = []
    for day in range(3):
        config = SandboxConfig(markets=("US",), albums_per_market=20, day=day)
        catalogue = Catalogue(config, sb.api_url)
        expected.append([catalogue.shape(i).id for i in catalogue.listing("US")])
    assert expected[0] != expected[1] != expected[2]
    async with aiohttp.ClientSession() as session:
        data = {
            "grant_type": "client_credentials",
            "client_id": sb.config.client_id,
            "client_secret": sb.config.client_secret,
        }
        async with session.post(sb.token_url, data=data) as resp:
            token = (await resp.json())["access_token"]
        seen = []
        for at in (0.0, 9.9, 10.0, 19.5, 20.0, 29.9):
            clock.now = sb.state.started + at
            seen.append(await _listed(session, sb, token))
    assert seen == [expected[0], expected[0], expected[1], expected[1], expected[2], expected[2]]
    assert sb.state.day == 2
    assert sb.state.day_begins(2) == sb.state.started + 20


async def test_without_day_seconds_the_day_never_changes(
    sandbox_factory: SandboxFactory, clock: FakeClock
) -> None:
    sb = await sandbox_factory(clock=clock.time, day=3)
    clock.now += 10 * 86400
    assert sb.state.day == 3
    assert sb.state.catalogue.config.day == 3


def test_day_seconds_must_be_positive() -> None:
    with pytest.raises(SettingsError, match="day_seconds"):
        SandboxConfig(day_seconds=0)
