"""The real-time scenario (``python -m bench.realtime``) end to end on short sandbox days,
so it cannot rot unnoticed: one latency per listing change, idle polls costing one listing
request per market. Nothing here looks at a timing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.realtime import MARKETS, _nats_server, measure
from tests.nats_server import unavailable


async def test_each_listing_change_has_a_latency_and_idle_polls_cost_the_listing(
    tmp_path: Path,
) -> None:
    if (why := unavailable()) is not None:
        pytest.skip(why)
    server, port = _nats_server(tmp_path)
    try:
        result = await measure(
            every=0.5, day_seconds=2.0, days=2, store=tmp_path, port=port, albums=10
        )
    finally:
        server.terminate()
        server.wait()
    assert len(result.latencies) == 2
    assert all(lat > 0 for lat in result.latencies)
    assert result.idle_requests
    assert set(result.idle_requests) == {len(MARKETS)}  # one listing page per market
    rows = result.rows(0.5)
    assert rows[0].startswith("| event latency at --every 0.5 (s) | median ")


def test_the_scenario_says_one_line_without_nats_server(tmp_path: Path) -> None:
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bench.realtime", "--days", "0"],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "the real-time scenario needs nats-server (apt-get install nats-server)"
    )
