"""``spotify-etl sandbox``: flags map onto SandboxConfig; it serves until Ctrl-C."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
import signal
import sys

import aiohttp
import pytest

from async_spotify_etl.cli import build_parser, main
from async_spotify_etl.cli.sandbox import DEFAULT_PORT, config_from_args
from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.sandbox import SandboxConfig


def test_every_config_field_has_a_flag_with_the_config_default() -> None:
    args = build_parser().parse_args(["sandbox"])
    config = config_from_args(args)
    assert {f.name for f in dataclasses.fields(SandboxConfig)} <= set(vars(args))
    assert config == SandboxConfig(port=DEFAULT_PORT)


def test_flags_reach_the_config() -> None:
    argv = [
        "sandbox", "--port", "0", "--seed", "9", "--markets", "us,se", "--access",
        "development", "--rate-limit", "10", "--rate-window", "5", "--quota", "100",
        "--error-rate", "0.1", "--drop-rate", "0.05", "--latency", "0.2", "--hostile",
        "--client-id", "me", "--client-secret", "shh", "--albums-per-market", "5000",
    ]  # fmt: skip
    config = config_from_args(build_parser().parse_args(argv))
    assert config == SandboxConfig(
        port=0,
        seed=9,
        markets=("US", "SE"),
        access="development",
        rate_limit=10,
        rate_window=5.0,
        quota=100,
        error_rate=0.1,
        drop_rate=0.05,
        latency=0.2,
        hostile=True,
        client_id="me",
        client_secret="shh",
        albums_per_market=5000,
    )


def test_deezer_and_musicbrainz_flags_reach_the_config() -> None:
    argv = [
        "sandbox", "--deezer-share", "0.5", "--musicbrainz-share", "0.1", "--deezer-throttle",
        "--musicbrainz-throttle", "--musicbrainz-shed-rate", "0.25",
    ]  # fmt: skip
    config = config_from_args(build_parser().parse_args(argv))
    assert config == SandboxConfig(
        port=DEFAULT_PORT,
        deezer_share=0.5,
        musicbrainz_share=0.1,
        deezer_throttle=True,
        musicbrainz_throttle=True,
        musicbrainz_shed_rate=0.25,
    )
    with pytest.raises(ConfigurationError, match="--deezer-share must be between 0 and 1"):
        config_from_args(build_parser().parse_args(["sandbox", "--deezer-share", "1.5"]))


def test_a_bad_value_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--error-rate", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--error-rate must be between 0 and 1, got 2.0" in err  # the flag, not the field
    assert main(["sandbox", "--error-rate", "0.6", "--drop-rate", "0.6"]) == 2
    assert "--error-rate + --corrupt-rate + --drop-rate must not" in capsys.readouterr().err


async def test_serves_until_interrupted() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "async_spotify_etl", "sandbox", "--port", "0", "--seed", "4",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(90):  # a hang guard, not a timing assertion
            lines: dict[str, str] = {}
            while "Serving" not in (line := (await proc.stdout.readline()).decode()):
                assert line, "sandbox exited before serving"
                key, _, value = line.strip().partition(": ")
                lines[key] = value.strip()
            basic = base64.b64encode(f"{lines['client id']}:{lines['client secret']}".encode())
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    lines["token URL"],
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": "Basic " + basic.decode()},
                ) as token,
            ):
                assert token.status == 200
            assert lines["API URL"].endswith("/v1")
            async with (
                aiohttp.ClientSession() as session,
                session.get(lines["Deezer URL"] + "/genre") as genres,
            ):
                assert (await genres.json())["data"][0]["name"] == "All"
            proc.send_signal(signal.SIGINT)
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_help_shows_short_metavars_and_no_false_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    text = capsys.readouterr().out
    assert "(default: False)" not in text
    usage = text.split("\n\n", 1)[0]
    assert not re.search(r"\b[A-Z]+_[A-Z_]+\b", usage), usage  # no dest in capitals
    assert "--albums-per-market N" in text
    assert "--error-rate P" in text
