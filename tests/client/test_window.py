"""The rolling-window cap end to end: against the sandbox's own rolling window, through
the settings, and as the ``--window`` flag.

The sandbox test needs real time (the server's window), so it uses a 1 s window and
asserts only on what the server counted, never on durations.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl.cli import main
from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.core.settings import ClientSettings


async def test_a_window_set_to_the_servers_limit_draws_no_429(sandbox_factory: Any) -> None:
    sb = await sandbox_factory(
        rate_limit=10, rate_window=1.0, albums_per_market=35, latency=0.01, latency_jitter=0.01
    )
    paths = [f"/albums/{album_id}" for album_id in sb.truth()["albums"]][:35]
    settings = ClientSettings(
        api_url=sb.api_url,
        token_url=sb.token_url,
        rate=10_000.0,  # the bucket alone would send all 35 at once ...
        burst=1000,
        concurrency=32,
        window=(10, 1.0),  # ... the window keeps them under the server's limit
    )
    async with SpotifyClient(sb.credentials, settings) as client:
        bodies = await asyncio.gather(*(client.get_json(p, endpoint="album") for p in paths))
        assert client.stats.throttled == 0
    seen = sb.stats()
    assert len(bodies) == 35
    assert seen["requests"]["album"] == {"200": 35}
    assert seen["throttled"] == 0
    assert seen["during_retry_after"] == 0
    assert 1 < seen["max_in_flight"] <= 10  # in flight at once: never above the window


@pytest.mark.parametrize("window", [(0, 5.0), (30, 0.0), (30, -1.0), (30, float("inf"))])
def test_settings_refuse_an_impossible_window(window: tuple[int, float]) -> None:
    with pytest.raises(ConfigurationError, match="window"):
        ClientSettings(window=window)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("30", "--window: not N/SECONDS: '30'"),
        ("30/x", "--window: not N/SECONDS: '30/x'"),
        ("2.5/5", "--window: not N/SECONDS: '2.5/5'"),
        ("0/5", "--window: needs N of 1 or more and SECONDS above 0, got 0/5"),
        ("30/0", "--window: needs N of 1 or more and SECONDS above 0, got 30/0"),
        ("30/inf", "--window: needs N of 1 or more and SECONDS above 0, got 30/inf"),
    ],
)
def test_a_bad_window_flag_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], value: str, says: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["pull", "--window", value])
    assert stop.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert says in errors[0]


def test_the_window_flag_reaches_the_pull_and_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    argv = ["pull", "--sandbox", "--sandbox-latency", "0", "--sandbox-albums", "5"]
    assert main([*argv, "--rate", "2000", "--window", "500/2.5", "--out", str(out)]) == 0
    made = orjson.loads((out / "manifest.json").read_bytes())
    assert made["arguments"]["window"] == [500, 2.5]
    assert made["arguments"]["burst"] == 5
    capsys.readouterr()


def test_help_shows_the_window_flag_off_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["pull", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--window N/SECONDS" in text
    assert "(default: off)" in text
