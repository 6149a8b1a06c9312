"""The pacing memory across runs as a user makes them (#22.3, #24.1): a sandbox that keeps
its port (so its runs share a memory, as Spotify's do), and ``spotify-etl pull`` run one
after another at once, a dry run between."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.cli import main
from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.client.memory import Memory, cache_dir
from async_spotify_etl.core.settings import ClientSettings
from async_spotify_etl.sandbox import Sandbox, SandboxConfig

LIMIT, WINDOW = 12, 3.0


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sandbox]:
    """A rate-limited sandbox on its own loop in a thread (the CLI runs its own loop in
    the main thread), with the app's credentials in the environment."""
    config = SandboxConfig(
        markets=("US",), rate_limit=LIMIT, rate_window=WINDOW, albums_per_market=24, latency=0.01
    )
    loop = asyncio.new_event_loop()
    ready, stop = threading.Event(), asyncio.Event()
    held: list[Sandbox] = []

    async def serve() -> None:
        async with Sandbox(config) as sb:
            held.append(sb)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(30)
    sb = held[0]
    monkeypatch.chdir(tmp_path)
    for name in ("SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", sb.credentials.client_id)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", sb.credentials.client_secret)
    yield sb
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    loop.close()


def pull(sb: Sandbox, out: str, *more: str, quiet: bool = True) -> int:
    argv = ["pull", "--api-url", sb.api_url, "--accounts-url", sb.token_url, "--market", "US"]
    argv += ["--expand", "album", "--artists", "off", "--out", out, *more]
    return main([*argv, "--quiet"] if quiet else argv)


def fill_window(sb: Sandbox) -> None:
    """Send the server's whole window at once, as an earlier run's last requests would."""

    async def fill() -> None:
        settings = ClientSettings(
            api_url=sb.api_url, token_url=sb.token_url, rate=1000.0, burst=100, remember=False
        )
        ids = list(sb.truth()["albums"])[:LIMIT]
        async with SpotifyClient(sb.credentials, settings) as client:
            await asyncio.gather(*(client.get_json(f"/albums/{i}") for i in ids))

    asyncio.run(fill())


def memory_of(sb: Sandbox) -> Memory:
    return Memory(cache_dir(), sb.credentials.client_id, sb.api_url)


def test_a_dry_run_right_after_a_pull_stores_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pull(sandbox, "a") == 0
    path = memory_of(sandbox).path
    learned = orjson.loads(path.read_bytes())
    assert learned["limit"]["requests"] == LIMIT
    throttled = sandbox.stats()["throttled"]
    # at once, into a full window: the dry run's listing meets a 429 that would "teach"
    # a limit far below the truth
    fill_window(sandbox)
    capsys.readouterr()
    assert pull(sandbox, "b", "--dry-run") == 0
    assert sandbox.stats()["throttled"] > throttled  # it did meet one
    out = capsys.readouterr().out
    # timed at the remembered limit, in rounded words (#24.15)
    assert re.search(r"time at \d+(\.\d{1,2})? requests/s:", out), out
    assert re.search(r"remembered for this app, 12 requests per \d+\.\d s$", out, re.M), out
    assert orjson.loads(path.read_bytes()) == learned  # and stored nothing
    assert pull(sandbox, "c", "--dry-run", "--forget-limit") == 0
    assert orjson.loads(path.read_bytes()) == learned  # not even a limit forgotten


def test_back_to_back_pulls_store_no_limit_below_the_truth(sandbox: Sandbox) -> None:
    assert pull(sandbox, "a") == 0
    first = memory_of(sandbox).limit()
    assert first is not None
    assert first.requests == LIMIT
    # the second at once: its first requests meet a window the first one's still fill
    throttled = sandbox.stats()["throttled"]
    assert pull(sandbox, "b") == 0
    assert sandbox.stats()["throttled"] > throttled  # it did meet that 429
    kept = memory_of(sandbox).limit()
    assert kept is not None
    assert kept.requests >= LIMIT  # not what an earlier run's requests left room for
    assert kept.seconds >= WINDOW


def test_the_pacing_line_is_words(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert pull(sandbox, "a", quiet=False) == 0
    out, err = capsys.readouterr()
    # the summary's row and the log line say it in words, never a Python repr (#24.15)
    assert re.search(r"auto: limit 12 requests per \d+\.\d s \(learned this run\)", out), out
    assert re.search(r"the limit is 12 requests per \d+\.\d s \(learned\), pacing 12", err), err
    assert "<" not in out + err
