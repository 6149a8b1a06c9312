"""Switchable behaviours: rate limit, quota, token expiry, access modes, faults, latency."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from async_spotify_etl.sandbox.behaviours import Fault, FaultPlan, RollingWindow
from async_spotify_etl.sandbox.config import SandboxConfig

from .conftest import Api, ApiFactory


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _status(api: Api, clock: FakeClock, at: float) -> tuple[int, str | None, bytes]:
    clock.now = at
    status, headers, body = await api.raw("/browse/new-releases")
    return status, headers.get("Retry-After"), body


async def test_rolling_window_retry_after_is_time_until_a_slot_frees(
    api_factory: ApiFactory,
) -> None:
    clock = FakeClock()
    api = await api_factory(rate_limit=3, rate_window=10.0, clock=clock)
    await api.login()
    for at in (0.0, 2.0, 5.0):
        assert (await _status(api, clock, at))[0] == 200
    status, retry_after, body = await _status(api, clock, 6.0)
    assert (status, retry_after) == (429, "4")  # the request at t=0 leaves the window at 10
    assert orjson.loads(body) == {"error": {"status": 429, "message": "API rate limit exceeded"}}
    assert (await _status(api, clock, 9.0))[:2] == (429, "1")
    assert (await _status(api, clock, 10.0))[0] == 200
    assert (await _status(api, clock, 10.5))[:2] == (429, "2")  # t=2 leaves at 12: 1.5 -> 2
    stats = api.sandbox.stats()
    assert stats["throttled"] == 3
    assert stats["during_retry_after"] == 1  # t=9 arrived before the advised t=10
    assert stats["requests"]["new-releases"] == {"200": 4, "429": 3}


def test_rolling_window_forgets_old_requests() -> None:
    window = RollingWindow(limit=2, window=30.0)
    assert window.admit(0.0) is None
    assert window.admit(29.0) is None
    assert window.admit(29.5) == 1
    assert window.admit(30.0) is None
    assert window.admit(31.0) == 28


async def test_token_expires_after_its_lifetime(api_factory: ApiFactory) -> None:
    clock = FakeClock()
    api = await api_factory(token_lifetime=60.0, clock=clock)
    status, body = await api.fetch_token()
    assert body["expires_in"] == 60
    api.token = body["access_token"]
    clock.now = 59.9
    assert (await api.get("/browse/new-releases"))[0] == 200
    clock.now = 60.0
    status, body = await api.get("/browse/new-releases")
    assert (status, body["error"]["status"]) == (401, 401)
    await api.login()
    assert (await api.get("/browse/new-releases"))[0] == 200


@pytest.mark.parametrize("token", ["", "unknown-token"])
async def test_missing_or_unknown_token_is_401(api: Api, token: str) -> None:
    await api.login()
    status, headers, raw = await api.raw("/albums/" + "0" * 22, token=token)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer ")
    assert orjson.loads(raw) == {
        "error": {"status": 401, "message": "Missing/invalid/expired access token"}
    }


async def test_quota_exhaustion_answers_quota_exceeded_for_hours(api_factory: ApiFactory) -> None:
    api = await api_factory(quota=4, quota_retry_after=7200)
    for _ in range(4):
        assert (await api.get("/search", {"q": "tag:new", "type": "album"}))[0] == 200
    for _ in range(2):
        status, headers, body = await api.raw("/albums/" + "0" * 22)
        assert (status, headers["Retry-After"]) == (429, "7200")
        assert orjson.loads(body) == {
            "error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}
        }
    assert (await api.fetch_token())[0] == 200  # the accounts service is not part of the quota
    stats = api.sandbox.stats()
    assert (stats["throttled"], stats["during_retry_after"]) == (2, 1)


async def test_development_mode_forbids_removed_endpoints(api_factory: ApiFactory) -> None:
    api = await api_factory(access="development")
    album_id = api.sandbox.truth()["markets"]["US"][0]
    for path, params in (("/browse/new-releases", None), ("/albums", {"ids": album_id})):
        status, body = await api.get(path, params)
        assert (status, body) == (403, {"error": {"status": 403, "message": "Forbidden"}})


_DEV_ALBUM_FIELDS = {"label", "popularity", "available_markets", "album_group"}
_DEV_TRACK_FIELDS = {"available_markets", "linked_from", "popularity"}


@pytest.mark.parametrize("access", ["extended", "development"])
async def test_development_mode_drops_removed_fields(api_factory: ApiFactory, access: str) -> None:
    api = await api_factory(access=access)
    truth = api.sandbox.truth()
    album_keys: set[str] = set()
    track_keys: set[str] = set()
    for album_id in list(truth["albums"])[:40]:
        status, album = await api.get(f"/albums/{album_id}")
        assert status == 200
        album_keys |= set(album)
        for track in album["tracks"]["items"]:
            track_keys |= set(track)
    status, found = await api.get("/search", {"q": "tag:new", "type": "album", "limit": 10})
    assert status == 200
    simplified_keys = set().union(*(set(a) for a in found["albums"]["items"]))
    assert {"external_ids", "copyrights", "tracks"} <= album_keys
    if access == "development":
        assert not album_keys & _DEV_ALBUM_FIELDS
        assert not (track_keys | simplified_keys) & (_DEV_TRACK_FIELDS | _DEV_ALBUM_FIELDS)
    else:
        assert {"label", "popularity", "available_markets"} <= album_keys
        assert {"available_markets", "linked_from"} <= track_keys
        assert "available_markets" in simplified_keys


async def test_development_mode_search_limit_is_ten(api_factory: ApiFactory) -> None:
    dev = await api_factory(access="development")
    ext = await api_factory(access="extended")
    query = {"q": "tag:new", "type": "album"}
    assert (await dev.get("/search", query))[1]["albums"]["limit"] == 5
    assert (await ext.get("/search", query))[1]["albums"]["limit"] == 20
    status, body = await dev.get("/search", {**query, "limit": 11})
    assert (status, body["error"]["message"]) == (400, "Invalid limit")
    assert (await ext.get("/search", {**query, "limit": 50}))[0] == 200


async def _outcomes(api: Api, paths: list[str]) -> list[str]:
    """What each request got: a status, 'corrupt' for a 200 with bad JSON, 'dropped'
    before an answer, or 'cut' when the connection closed in the middle of the body."""
    seen = []
    for path in paths:
        try:
            status, _, body = await api.raw(path)
        except aiohttp.ServerDisconnectedError:
            seen.append("dropped")
            continue
        except aiohttp.ClientPayloadError:
            seen.append("cut")
            continue
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            seen.append(f"corrupt-{status}")
        else:
            seen.append(str(status))
    return seen


async def test_seeded_faults_repeat_exactly(api_factory: ApiFactory) -> None:
    rates = {"error_rate": 0.3, "corrupt_rate": 0.2, "drop_rate": 0.1}
    first = await api_factory(seed=11, **rates)
    album_ids = first.sandbox.truth()["markets"]["US"][:15]
    # each album twice: the second request of the same URL gets its own draw
    paths = [f"/albums/{a}/tracks" for a in album_ids for _ in range(2)]
    paths += ["/browse/new-releases"] * 20
    outcomes = await _outcomes(first, paths)
    again = await _outcomes(await api_factory(seed=11, **rates), paths)
    other = await _outcomes(await api_factory(seed=12, **rates), paths)
    assert outcomes == again
    assert outcomes != other
    assert {"200", "500", "502", "503", "corrupt-200", "cut"} <= set(outcomes)
    # aiohttp resends a GET once when the connection drops before an answer, so the
    # sandbox saw one extra request for every drop the client did not report
    seen = first.sandbox.stats()["requests"]
    total = sum(sum(seen[route].values()) for route in ("album-tracks", "new-releases"))
    drops = seen["album-tracks"].get("dropped", 0) + seen["new-releases"].get("dropped", 0)
    reported = outcomes.count("dropped") + outcomes.count("cut")
    assert drops > reported
    assert total == len(paths) + drops - reported


def test_fault_rates_hold_over_many_requests() -> None:
    plan = FaultPlan(SandboxConfig(seed=1, error_rate=0.1, corrupt_rate=0.05, drop_rate=0.05))
    faults = [plan.decide(f"GET /albums/{i}")[0] for i in range(4000)]
    errors = sum(f in (Fault.STATUS_500, Fault.STATUS_502, Fault.STATUS_503) for f in faults)
    corrupt = sum(f in (Fault.TRUNCATED, Fault.MALFORMED) for f in faults)
    assert 320 < errors < 480
    assert 140 < corrupt < 260
    assert 140 < faults.count(Fault.DROP) + faults.count(Fault.CUT_OFF) < 260
    assert faults.count(Fault.CUT_OFF) > 40


def test_latency_is_mean_plus_bounded_jitter_and_seeded() -> None:
    config = SandboxConfig(seed=5, latency=0.2, latency_jitter=0.05)
    delays = [FaultPlan(config).decide(f"GET /x/{i}")[1] for i in range(2000)]
    assert delays == [FaultPlan(config).decide(f"GET /x/{i}")[1] for i in range(2000)]
    assert min(delays) >= 0.15
    assert max(delays) <= 0.25
    assert max(delays) - min(delays) > 0.09
    assert abs(sum(delays) / len(delays) - 0.2) < 0.005
    assert FaultPlan(SandboxConfig()).decide("GET /x")[1] == 0.0


async def test_latency_overlaps_requests_in_flight(api_factory: ApiFactory) -> None:
    # long enough that all six are still in the sandbox on a busy machine
    api = await api_factory(latency=0.3)
    await api.login()
    results = await asyncio.gather(*(api.raw("/browse/new-releases") for _ in range(6)))
    assert [r[0] for r in results] == [200] * 6
    assert api.sandbox.stats()["max_in_flight"] == 6
