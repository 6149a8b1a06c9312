"""Scenario 3: a 429 storm. The sandbox allows few requests per short rolling window and
the client's --rate is far above it: once a 429 has reached the client, no request leaves
until its Retry-After is over, every 429 closes the shared gate at once, the sandbox sees
inside a Retry-After only requests that were already on their way, and the pull completes
with every record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from async_spotify_etl.run.pull import run_pull
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import expected_records, pick, pull_settings, scan_for_secrets, tally
from .wire import Wire

ALBUMS = pick(60, 400)
LIMIT = 40
WINDOW = 2.0


async def test_a_429_storm_is_waited_out_without_a_request_during_retry_after(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="async_spotify_etl")
    sb = await sandbox_factory(
        seed=21,
        markets=("US", "GB"),
        albums_per_market=ALBUMS,
        rate_limit=LIMIT,
        rate_window=WINDOW,
        latency=0.01,
        client_secret="chaos-storm-secret",
    )
    # 1000 requests a second against a limit of 20: a rate "far too high".
    settings = pull_settings(
        sb, tmp_path, expand="album", client={"rate": 1000.0, "burst": 50, "concurrency": 16}
    )
    wire = Wire()
    try:
        async with wire.client(sb.credentials, settings.client) as client:
            wire.watch(client.pacer)
            result = await run_pull(settings, sb.credentials, client=client)
    finally:
        await wire.aclose()
    stats = sb.stats()
    early = wire.sent_during_retry_after(sb.api_url)
    in_flight = wire.in_flight_at_429s(sb.api_url)
    counts = tally(tmp_path, expected_records(sb.truth(), sb.config.markets))
    record(
        Figures(
            f"429 storm ({LIMIT} per {WINDOW:g} s, --rate 1000)",
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            during_retry_after=early,
            exit_codes=[result.exit_code],
            notes=f"{stats['throttled']} 429s, each closing the gate;"
            f" {result.manifest.waited_seconds:.0f} s waited;"
            f" {stats['during_retry_after']} arrivals the sandbox saw in a Retry-After, of"
            f" {in_flight} requests in flight when a 429 reached the client",
        )
    )
    assert stats["throttled"] > 0  # the storm happened
    assert len(wire.throttled) == stats["throttled"]
    # Counted from each 429's arrival at the client, whether or not it closed its gate.
    assert early == 0
    # Every 429 closed the shared gate, before any other request of the client started.
    assert len(wire.gates) == len(wire.throttled)
    assert wire.ungated() == 0
    # What the sandbox saw inside a Retry-After had left before the client read the 429.
    assert stats["during_retry_after"] <= in_flight
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    assert result.exit_code == 0
    assert scan_for_secrets(sb, [caplog.text], [tmp_path]) == 0
