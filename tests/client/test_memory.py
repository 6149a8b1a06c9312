"""What runs remember about their app: the limit a run learns paces the next one from its
first request (no 429 then), the file holds no secret, a stale or forgotten limit is
learned again, and the manifest and summary say which limit was used."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl.cli.progress import summary_text
from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.client.learning import Limit
from async_spotify_etl.client.memory import CACHE_ENV, Memory, Remembered, cache_dir, memory_key
from async_spotify_etl.core.settings import ClientSettings, Credentials, PullSettings
from async_spotify_etl.run.pull import run_pull

LIMIT, WINDOW = 12, 1.5


class ShiftedClock:
    """The loop's clock plus an offset: moving it past a window empties the sandbox's."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return asyncio.get_running_loop().time() + self.offset


async def limited(sandbox_factory: Any, albums: int = 24) -> tuple[Any, ShiftedClock]:
    clock = ShiftedClock()
    sb = await sandbox_factory(
        markets=("US",),
        rate_limit=LIMIT,
        rate_window=WINDOW,
        albums_per_market=albums,
        latency=0.01,
        clock=clock,
    )
    return sb, clock


async def fetch_albums(sb: Any, **changes: Any) -> SpotifyClient:
    settings = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate="auto")
    paths = [f"/albums/{album_id}" for album_id in sb.truth()["albums"]]
    async with SpotifyClient(sb.credentials, settings.replace(**changes)) as client:
        await asyncio.gather(*(client.get_json(p, endpoint="album") for p in paths))
    return client


async def test_the_next_run_paces_by_the_learned_limit_and_draws_no_429(
    sandbox_factory: Any,
) -> None:
    sb, clock = await limited(sandbox_factory)
    first = await fetch_albums(sb)
    assert first.stats.pacing["limit_source"] == "learned"
    assert first.stats.throttled >= 1
    clock.offset += WINDOW  # the next day, as far as the window knows
    throttled_before = sb.stats()["throttled"]
    second = await fetch_albums(sb)
    assert second.stats.pacing["limit_source"] == "remembered"
    assert second.stats.pacing["limit"] == first.stats.pacing["limit"]
    assert sb.stats()["throttled"] == throttled_before  # not one 429 in the second run


async def test_forget_limit_learns_it_again(sandbox_factory: Any) -> None:
    sb, clock = await limited(sandbox_factory)
    await fetch_albums(sb)
    clock.offset += WINDOW
    again = await fetch_albums(sb, forget_limit=True)
    assert again.stats.pacing["limit_source"] == "learned"
    assert again.stats.throttled >= 1


def test_the_file_holds_no_secret_and_is_named_by_a_hash(cache_dir: Path) -> None:
    credentials = Credentials("my-client-id-1234", "my-secret-5678")
    api = "https://api.example.test/v1"
    memory = Memory(cache_dir, credentials.client_id, api)
    now = dt.datetime.now(dt.UTC)
    memory.data.limit, memory.data.limit_at = Limit(180, 30.4), now
    memory.data.access, memory.data.access_at = {"new-releases": False}, now
    memory.save()
    (path,) = cache_dir.iterdir()  # written atomically: no temporary file is left
    assert path.name == f"{memory_key(credentials.client_id, api)}.json"
    body = path.read_bytes()
    for secret in (credentials.client_id, credentials.client_secret, "example.test"):
        assert secret.encode() not in body
        assert secret not in path.name
    assert orjson.loads(body)["limit"]["requests"] == 180
    assert Memory(cache_dir, credentials.client_id, api).data.fresh_limit() == Limit(180, 30.4)
    # another app, or the same app on another API, remembers nothing of it
    assert Memory(cache_dir, "other-id", api).data.limit is None
    assert Memory(cache_dir, credentials.client_id, api + "2").data.limit is None


def test_a_limit_older_than_a_week_is_learned_again() -> None:
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    memory = Remembered(limit=Limit(30, 5.0), limit_at=at, clean_rate=40.0, clean_at=at)
    assert memory.fresh_limit(at + dt.timedelta(days=6)) == Limit(30, 5.0)
    assert memory.fresh_limit(at + dt.timedelta(days=8)) is None
    assert memory.fresh_clean_rate(at + dt.timedelta(days=8)) is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"version": 99, "limit": {"requests": 3, "seconds": 1, "learned_at": "2026-11-01"}}',
        b'{"version": 1, "limit": {"requests": -3, "seconds": 1, "learned_at": "x"}}',
        b"[]",
    ],
)
def test_an_unreadable_file_is_as_good_as_none(cache_dir: Path, body: bytes) -> None:
    memory = Memory(cache_dir, "id", "https://api")
    memory.path.write_bytes(body)
    assert Memory(cache_dir, "id", "https://api").data == Remembered()


def test_the_cache_directory_follows_the_environment(tmp_path: Path) -> None:
    home_cache = Path.home() / ".cache" / "async_spotify_etl"
    assert cache_dir(environ={}) == home_cache
    assert cache_dir(environ={"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "async_spotify_etl"
    assert cache_dir(environ={CACHE_ENV: str(tmp_path), "XDG_CACHE_HOME": "/x"}) == tmp_path
    assert cache_dir(tmp_path / "given", environ={CACHE_ENV: "/x"}) == tmp_path / "given"


def test_an_unwritable_cache_is_only_logged(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    memory = Memory(blocker / "cache", "id", "https://api")
    memory.data.clean_rate, memory.data.clean_at = 5.0, dt.datetime.now(dt.UTC)
    memory.save()  # no exception: the pull's data matters more than its memory
    assert not (blocker / "cache").exists()


async def test_manifest_and_summary_say_which_limit_was_used(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb, clock = await limited(sandbox_factory, albums=20)
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate="auto")
    plan = {"source": "new-releases", "expand": "album"}
    first = await run_pull(PullSettings(tmp_path / "a", client=client, **plan), sb.credentials)
    clock.offset += WINDOW
    second = await run_pull(PullSettings(tmp_path / "b", client=client, **plan), sb.credentials)
    assert first.manifest.pacing["limit_source"] == "learned"
    assert second.manifest.pacing["limit_source"] == "remembered"
    assert second.manifest.runs[-1].stats["pacing"] == second.manifest.pacing
    assert second.manifest.throttled == 0
    limit = first.manifest.pacing["limit"]
    text = summary_text(second.manifest, {})
    assert f"auto: limit {limit['requests']} per {limit['seconds']:g} s (remembered)" in text
    assert "(learned this run)" in summary_text(first.manifest, {})


async def test_a_remembered_limit_that_draws_a_429_is_learned_again(sandbox_factory: Any) -> None:
    sb, _ = await limited(sandbox_factory)
    memory = Memory(cache_dir(), sb.credentials.client_id, sb.api_url)
    memory.data.limit, memory.data.limit_at = Limit(40, WINDOW), dt.datetime.now(dt.UTC)
    memory.save()
    client = await fetch_albums(sb)
    assert client.stats.throttled >= 1
    assert client.stats.pacing["limit_source"] == "learned"
    relearned = Memory(cache_dir(), sb.credentials.client_id, sb.api_url).data.fresh_limit()
    assert relearned is not None
    assert relearned.requests <= LIMIT  # what the server counted, not the 40 remembered
