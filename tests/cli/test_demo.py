"""``scripts/demo`` runs a real pull on the embedded sandbox, loads it into DuckDB, writes
the report, and says where the files are."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import orjson

from async_spotify_etl import read_committed

ROOT = Path(__file__).resolve().parents[2]


def test_demo_pulls_from_the_embedded_sandbox_without_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    env["DEMO_OUT"] = str(tmp_path / "pull")
    # The demo's own pacing, latency and rate limit, only a smaller catalogue to stay quick.
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo"), "--sandbox-albums", "30", "--rate", "200"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "spotify-etl pull: complete" in done.stdout
    assert f"{tmp_path / 'pull'}/albums.ndjson" in done.stdout
    made = orjson.loads((tmp_path / "pull" / "manifest.json").read_bytes())
    assert made["markets"] == ["US", "GB", "DE", "SE"]
    assert made["throttled"] == 0  # the sandbox's rate limit was respected
    assert made["requests"] == made["minimum_requests"]
    assert made["arguments"]["sandbox"]["rate_limit"] == 300
    assert "over 50 tracks" in done.stdout
    # What the demo builds from the pull: the database holds every album, the report exists.
    out = tmp_path / "pull"
    albums = sum(1 for _ in read_committed(out, "albums"))
    assert albums == made["counts"]["albums"] > 0
    with duckdb.connect(str(out / "pull.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM albums").fetchone() == (albums,)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.startswith("<!doctype html>")
    assert f"<b>{albums:,}</b><span>albums</span>" in report
    lines = done.stdout.splitlines()
    assert any(
        line.startswith("DuckDB database: ") and f"{out}/pull.duckdb" in line for line in lines
    )
    assert any(line.startswith("HTML report: ") and f"{out}/report.html" in line for line in lines)
    # spotify-etl is in .venv, not on PATH: the demo says how to run it (#24.17)
    assert ".venv/bin/spotify-etl" in done.stdout
    assert "source .venv/bin/activate" in done.stdout


def test_a_market_given_to_the_demo_replaces_its_four(tmp_path: Path) -> None:
    """#24.11: `scripts/demo --market US` pulls the US only, as the script says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    env["DEMO_OUT"] = str(tmp_path / "pull")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo"), "--market", "US", "--sandbox-albums", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    made = orjson.loads((tmp_path / "pull" / "manifest.json").read_bytes())
    assert made["markets"] == ["US"]
    assert "US, GB, DE and SE" not in done.stdout
