"""SpotifyClient against scripted answers (aioresponses): what is retried, what is not,
what stops the run. Sleep and clock are fake, so nothing here waits."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.core.errors import (
    AuthenticationError,
    BadRequestError,
    EndpointUnavailableError,
    ForbiddenError,
    HTTPStatusError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    ResponseTooLargeError,
    ResumableStop,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from tests.client.conftest import ClientFactory
from tests.fakes import ALBUM_ID, CREDENTIALS, TOKEN_URL, FakeClock, fast_settings, token_body, url

PATH = f"/albums/{ALBUM_ID}"
OK = {"id": ALBUM_ID, "name": "ok"}


def attempts(mock_api: Any, method: str = "GET") -> int:
    return sum(len(calls) for (m, _), calls in mock_api.requests.items() if m == method)


FAULTS: list[dict[str, Any]] = [
    {"status": 500},
    {"status": 502},
    {"status": 503},
    {"status": 504},
    {"exception": TimeoutError()},
    {"exception": aiohttp.ServerDisconnectedError()},
    {"exception": aiohttp.ClientPayloadError("Response payload is not completed")},
    {"body": '{"id": "4aawyAB9vmqN3uQ7FjRGTy", "na', "content_type": "application/json"},
    {"body": "<html>Bad gateway</html>", "content_type": "text/html"},
]
FAULT_IDS = ["500", "502", "503", "504", "timeout", "dropped", "truncated", "cut-json", "html"]


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
async def test_each_retryable_fault_is_retried(
    mock_api: Any, clock: FakeClock, fault: dict[str, Any], make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), **fault)
    mock_api.get(url(PATH), **fault)
    mock_api.get(url(PATH), payload=OK)
    async with make_client() as api:
        assert await api.get_json(PATH, endpoint="album") == OK
        stats = api.stats
    assert attempts(mock_api) == 3
    assert stats.requests == {"album": 3}
    assert stats.retries == 2
    # full jitter with random()=0.5: half of base*2**attempt
    assert clock.sleeps == [0.25, 0.5]
    assert stats.backoff_seconds == pytest.approx(0.75)
    assert stats.waited_seconds == 0  # no Retry-After was given


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"status": 503}, ServerError), ({"exception": TimeoutError()}, TransportError)],
)
async def test_retries_are_bounded_by_max_retries(
    mock_api: Any,
    clock: FakeClock,
    fault: dict[str, Any],
    error: type[Exception],
    make_client: ClientFactory,
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), repeat=True, **fault)
    async with make_client(max_retries=3) as api:
        with pytest.raises(error):
            await api.get_json(PATH, endpoint="album")
    assert attempts(mock_api) == 4
    assert len(clock.sleeps) == 3


@pytest.mark.parametrize(
    ("status", "endpoint", "error"),
    [
        (400, "album", BadRequestError),
        (403, "album", ForbiddenError),
        (404, "album", NotFoundError),
        (403, "new-releases", EndpointUnavailableError),
        (403, "several-albums", EndpointUnavailableError),
    ],
)
async def test_non_retryable_statuses_raise_typed_errors_at_once(
    mock_api: Any,
    clock: FakeClock,
    status: int,
    endpoint: str,
    error: type[Exception],
    make_client: ClientFactory,
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    body = {"error": {"status": status, "message": "Forbidden" if status == 403 else "nope"}}
    mock_api.get(url(PATH), status=status, payload=body, repeat=True)
    async with make_client() as api:
        with pytest.raises(error) as caught:
            await api.get_json(PATH, endpoint=endpoint)
    assert caught.value.status == status  # type: ignore[attr-defined]
    assert attempts(mock_api) == 1
    assert clock.sleeps == []
    if endpoint == "album" and status == 403:
        assert not isinstance(caught.value, EndpointUnavailableError)


async def test_401_refreshes_the_token_once_and_retries(
    mock_api: Any, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body("first-token"))
    mock_api.post(TOKEN_URL, payload=token_body("second-token"))
    mock_api.get(url(PATH), status=401, payload={"error": {"status": 401, "message": "x"}})
    mock_api.get(url(PATH), payload=OK)
    async with make_client() as api:
        assert await api.get_json(PATH, endpoint="album") == OK
        assert api.stats.token_refreshes == 2
    sent = [c.kwargs["headers"]["Authorization"] for c in next(iter_gets(mock_api))]
    assert sent == ["Bearer first-token", "Bearer second-token"]


async def test_a_second_401_raises_instead_of_looping(
    mock_api: Any, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body(), repeat=True)
    mock_api.get(url(PATH), status=401, repeat=True)
    async with make_client() as api:
        with pytest.raises(UnauthorizedError):
            await api.get_json(PATH, endpoint="album")
    assert attempts(mock_api) == 2
    assert attempts(mock_api, "POST") == 2


def iter_gets(mock_api: Any) -> Any:
    return (calls for (method, _), calls in mock_api.requests.items() if method == "GET")


@pytest.mark.parametrize("status", [400, 401])
async def test_bad_credentials_raise_at_once(
    mock_api: Any, status: int, make_client: ClientFactory
) -> None:
    body = {"error": "invalid_client", "error_description": "Invalid client secret"}
    mock_api.post(TOKEN_URL, status=status, payload=body, repeat=True)
    async with make_client() as api:
        with pytest.raises(AuthenticationError, match="invalid_client"):
            await api.get_json(PATH, endpoint="album")
    assert attempts(mock_api, "POST") == 1
    assert attempts(mock_api) == 0


async def test_refused_credentials_are_asked_once_for_all_tasks(
    mock_api: Any, make_client: ClientFactory
) -> None:
    body = {"error": "invalid_client", "error_description": "Invalid client"}
    mock_api.post(TOKEN_URL, status=400, payload=body, repeat=True)
    async with make_client() as api:
        results = await asyncio.gather(
            *(api.get_json(PATH) for _ in range(20)), return_exceptions=True
        )
    assert all(isinstance(r, AuthenticationError) for r in results)
    assert attempts(mock_api, "POST") == 1


@pytest.mark.parametrize("fault", [{"status": 503}, {"exception": TimeoutError()}])
async def test_token_endpoint_faults_are_retried(
    mock_api: Any, clock: FakeClock, fault: dict[str, Any], make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, **fault)
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), payload=OK)
    async with make_client() as api:
        assert await api.get_json(PATH, endpoint="album") == OK
    assert attempts(mock_api, "POST") == 2
    assert clock.sleeps == [0.25]


async def test_quota_exceeded_stops_at_once_and_for_every_later_request(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    quota = {"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}}
    mock_api.get(url(PATH), status=429, payload=quota, headers={"Retry-After": "21600"})
    async with make_client() as api:
        with pytest.raises(QuotaExceededError) as caught:
            await api.get_json(PATH, endpoint="album")
        with pytest.raises(QuotaExceededError):
            await api.get_json(PATH, endpoint="album")
    assert caught.value.retry_after == 21600
    assert attempts(mock_api) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("retry_after", ["121", "Wed, 25 Nov 2099 12:00:00 GMT"])
async def test_retry_after_beyond_max_wait_stops_resumably(
    mock_api: Any, clock: FakeClock, retry_after: str, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), status=429, headers={"Retry-After": retry_after})
    async with make_client(max_wait=120.0) as api:
        with pytest.raises(ResumableStop) as caught:
            await api.get_json(PATH, endpoint="album")
    assert not isinstance(caught.value, QuotaExceededError)
    assert caught.value.retry_after > 120
    assert attempts(mock_api) == 1
    assert clock.sleeps == []


async def test_429_closes_the_gate_for_retry_after_then_retries(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), status=429, headers={"Retry-After": "3"})
    mock_api.get(url(PATH), payload=OK)
    async with make_client() as api:
        assert await api.get_json(PATH, endpoint="album") == OK
        stats = api.stats
    assert stats.throttled == 1
    assert stats.retries == 1
    # Retry-After 3 plus jitter (random()=0.5 of a 0.5 s bound)
    assert sum(clock.sleeps) == pytest.approx(3.25)
    assert stats.waited_seconds == pytest.approx(3.25)
    assert stats.backoff_seconds == 0


async def test_a_429_without_retry_after_closes_the_gate_for_the_window(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), status=429)
    mock_api.get(url(PATH), payload=OK)
    async with make_client(window=(50, 10.0)) as api:
        assert await api.get_json(PATH, endpoint="album") == OK
        stats = api.stats
    # the given window's 10 s plus jitter, not a half-second backoff into a full window
    assert stats.waited_seconds == pytest.approx(10.25)


async def test_429s_without_end_raise_rate_limited(
    mock_api: Any, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), status=429, repeat=True)
    async with make_client(max_retries=2) as api:
        with pytest.raises(RateLimitedError):
            await api.get_json(PATH, endpoint="album")
    assert attempts(mock_api) == 3


@pytest.mark.parametrize("declared", [True, False])
async def test_oversize_body_is_refused_not_retried(
    mock_api: Any, declared: bool, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    big = '{"pad": "' + "x" * 5000 + '"}'
    # A lying Content-Length must not let an oversize body through either.
    headers = {"Content-Length": str(len(big)) if declared else "10"}
    mock_api.get(url(PATH), body=big, content_type="application/json", headers=headers)
    async with make_client(max_body_bytes=1024) as api:
        with pytest.raises(ResponseTooLargeError) as caught:
            await api.get_json(PATH, endpoint="album")
    # refused from the header when it tells the truth, by counting when it lies
    assert ("bytes exceeds" in str(caught.value)) is declared
    assert attempts(mock_api) == 1


async def test_the_client_is_closed_safely_twice_and_refuses_use_after(
    make_client: ClientFactory,
) -> None:
    api = make_client()
    async with api:
        pass
    await api.aclose()
    with pytest.raises(RuntimeError):
        await api.get_json(PATH)
    assert "closed" in repr(api)


async def test_a_borrowed_session_stays_open(mock_api: Any, clock: FakeClock) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), payload=OK)
    async with aiohttp.ClientSession() as session:
        async with SpotifyClient(
            CREDENTIALS, fast_settings(), session=session, sleep=clock.sleep, clock=clock.time
        ) as api:
            assert await api.get_json(PATH) == OK
        assert not session.closed
    await asyncio.sleep(0)


async def test_a_503_retry_after_is_honoured_up_to_max_wait(
    mock_api: Any, clock: FakeClock, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), status=503, headers={"Retry-After": "7"})
    mock_api.get(url(PATH), status=503, headers={"Retry-After": "86400"})
    mock_api.get(url(PATH), payload=OK)
    async with make_client(max_wait=120.0) as api:
        assert await api.get_json(PATH, endpoint="album") == OK
    assert clock.sleeps == [pytest.approx(7.25), 120.0]


async def test_a_redirect_is_never_followed(mock_api: Any, make_client: ClientFactory) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(url(PATH), status=302, headers={"Location": "https://evil.example/steal"})
    async with make_client() as api:
        with pytest.raises(HTTPStatusError) as caught:
            await api.get_json(PATH, endpoint="album")
    assert caught.value.status == 302
    assert attempts(mock_api) == 1  # and nothing went to evil.example (it would not match)
