"""``--rate auto`` through the client: against the sandbox's rolling window (real time, so
a short window and assertions on what the server counted, never on durations), the 429s
that must not teach, and the hand-given rate and window keeping their meaning."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.core.errors import ConfigurationError, QuotaExceededError, ResumableStop
from async_spotify_etl.core.settings import POLITE_RATE, ClientSettings
from tests.client.conftest import ClientFactory
from tests.fakes import ALBUM_ID, TOKEN_URL, FakeClock, token_body, url

PATH = f"/albums/{ALBUM_ID}"


async def test_auto_learns_the_sandboxs_limit_in_one_episode(sandbox_factory: Any) -> None:
    limit, window = 12, 1.5
    sb = await sandbox_factory(
        rate_limit=limit, rate_window=window, albums_per_market=24, latency=0.01
    )
    paths = [f"/albums/{album_id}" for album_id in sb.truth()["albums"]][:24]
    settings = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate="auto")
    async with SpotifyClient(sb.credentials, settings) as client:
        bodies = await asyncio.gather(*(client.get_json(p, endpoint="album") for p in paths))
        auto = client.pacer.auto
    assert len(bodies) == 24
    assert auto is not None
    assert auto.limit is not None
    assert auto.source == "learned"
    assert auto.limit.requests == limit
    assert window <= auto.limit.seconds <= window + 1.2  # Retry-After is in whole seconds
    seen = sb.stats()
    # one episode: the first 429 and what was in flight with it, never a second one
    assert 1 <= seen["throttled"] <= settings.concurrency
    assert seen["requests"]["album"]["200"] == 24


_QUOTA = {"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}}


@pytest.mark.parametrize(
    ("answer", "stop"),
    [
        ({"payload": _QUOTA, "headers": {"Retry-After": "3"}}, QuotaExceededError),
        ({"headers": {"Retry-After": "600"}}, ResumableStop),  # beyond max_wait
    ],
    ids=["quota", "retry-after-beyond-max-wait"],
)
async def test_a_429_that_is_no_rolling_window_teaches_nothing(
    mock_api: Any,
    clock: FakeClock,
    make_client: ClientFactory,
    answer: dict[str, Any],
    stop: type[Exception],
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), payload={"id": ALBUM_ID})
    mock_api.get(url(PATH), status=429, **answer)
    async with make_client(rate="auto", max_wait=120.0) as api:
        await api.get_json(PATH, endpoint="album")
        clock.now += 0.5
        with pytest.raises(stop):
            await api.get_json(PATH, endpoint="album")
        auto = api.pacer.auto
    assert auto is not None
    assert (auto.limit, auto.phase) == (None, "slow-start")


async def test_a_rolling_429_through_the_client_teaches(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), payload={"id": ALBUM_ID})
    mock_api.get(url(PATH), status=429, headers={"Retry-After": "4"})
    mock_api.get(url(PATH), payload={"id": ALBUM_ID})
    async with make_client(rate="auto") as api:
        await api.get_json(PATH, endpoint="album")
        clock.now += 0.5
        await api.get_json(PATH, endpoint="album")  # 429, then accepted after the gate
        auto = api.pacer.auto
    assert auto is not None
    assert auto.limit is not None
    assert auto.limit.requests == 1
    assert auto.limit.seconds == pytest.approx(4.5)


@pytest.mark.parametrize(
    ("changes", "rate"),
    [({"rate": 7.0}, 7.0), ({"rate": "auto", "window": (30, 5.0)}, POLITE_RATE)],
)
async def test_a_rate_or_window_given_by_hand_keeps_its_meaning(
    make_client: ClientFactory, changes: dict[str, Any], rate: float
) -> None:
    async with make_client(**changes) as api:
        pacer = api.pacer
        assert pacer.auto is None
        assert pacer.configured_rate == rate
        window = changes.get("window")
        if window is not None:
            assert pacer.window is not None
            assert (pacer.window.limit, pacer.window.seconds) == window


def test_settings_take_auto_and_refuse_other_words() -> None:
    assert ClientSettings(rate="auto").auto_rate
    assert not ClientSettings(rate="auto", window=(30, 5.0)).auto_rate
    with pytest.raises(ConfigurationError, match="rate must be positive or auto, got 'fast'"):
        ClientSettings(rate="fast")  # type: ignore[arg-type]


async def test_429s_without_retry_after_do_not_collapse_the_rate(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    """A server counting 60 requests per rolling 30 s that never says Retry-After (#23.4):
    each silent 429 closes the gate for the window's length and cuts the rate once, so
    the pull keeps close to what the server sustains, and the rate climbs back."""
    limit, window, requests = 60, 30.0, 600
    counted: list[float] = []
    throttled = 0

    def answer(_url: Any, **_kwargs: Any) -> Any:
        nonlocal throttled
        clock.now += 0.02  # the way there
        counted[:] = [t for t in counted if t > clock.now - window]
        if len(counted) >= limit:
            throttled += 1
            return mock_api.result(status=429, payload={"error": {"status": 429}})
        counted.append(clock.now)
        clock.now += 0.02
        return mock_api.result(payload={"id": ALBUM_ID})

    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), callback=answer, repeat=True)
    async with make_client(rate="auto") as api:
        started = clock.now
        for _ in range(requests):
            await api.get_json(PATH, endpoint="album")
        elapsed = clock.now - started
        auto = api.pacer.auto
        assert auto is not None
        assert api.pacer.silent_wait() == 30.0  # no window learned: Spotify's
        rate_at_end = auto.rate_at(clock.now)
        climbed = auto.rate_at(clock.now + 200.0)
    assert throttled >= 8
    ideal = requests / limit * window  # 300 s at exactly the server's pace
    # a full window's wait per episode costs some; collapsed, the pull never ended
    assert elapsed <= 2 * ideal
    assert rate_at_end >= 0.5 * limit / window  # never below half what the server holds
    assert climbed > rate_at_end  # and it climbs back while no 429 comes
