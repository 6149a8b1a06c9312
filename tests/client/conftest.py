"""The client tests' one client factory: ``make_client(**ClientSettings changes)``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from async_spotify_etl.client.http import SpotifyClient
from tests.fakes import CREDENTIALS, FakeClock, fast_settings

#: ``make_client(**changes)``: a SpotifyClient on the test's fake clock, fast settings.
ClientFactory = Callable[..., SpotifyClient]


@pytest.fixture
def make_client(clock: FakeClock) -> ClientFactory:
    """Clients that sleep on ``clock``, never on the wall, with jitter fixed at its middle."""

    def make(**changes: object) -> SpotifyClient:
        return SpotifyClient(
            CREDENTIALS,
            fast_settings(**changes),
            sleep=clock.sleep,
            clock=clock.time,
            random=lambda: 0.5,
        )

    return make
