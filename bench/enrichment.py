"""The enrichment of the memory scenario's pull: ``--enrich deezer,musicbrainz`` over the
first albums of its catalogue (seed 1, one market), both emulators throttling as the real
APIs do (Deezer code 4 past 50 requests in 5 s, MusicBrainz 503 past one a second). Per API:
the requests sent against the stated minimum (docs/enrich.md), the wall time against the
API's own rate bound (requests / the rate it allows), and the throttling answers met.
The whole catalogue would take hours at MusicBrainz's one request a second, so the pull
takes its first albums (``--max-albums``): the bound scales with them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from .runner import ROOT, _measure
from .sandbox_proc import SandboxProcess

__all__ = ["enrichment_table", "measure_enrichment"]

#: The memory scenario's catalogue (its smaller size), the Spotify part unthrottled.
CATALOGUE = {"seed": 1, "markets": ["US"], "albums_per_market": 5000}
FLAGS = ("--concurrency", "16", "--rate", "10000", "--burst", "1000", "--no-progress")
#: Requests per second each API allows: Deezer 50 per 5 s, MusicBrainz one a second.
ALLOWED = {"deezer": 10.0, "musicbrainz": 1.0}


def measure_enrichment(
    workdir: Path, *, quick: bool, albums: int | None = None
) -> list[dict[str, Any]]:
    """One pull of the first ``albums`` albums (20 quick, 200 in full) with both APIs'
    enrichment; one row per API."""
    albums = albums or (20 if quick else 200)
    out = workdir / "enrich" / "out"
    config = {**CATALOGUE, "deezer_throttle": True, "musicbrainz_throttle": True}
    with SandboxProcess(config) as sb:
        cmd = [sys.executable, "-m", "async_spotify_etl", "pull", "--out", str(out), *FLAGS]
        cmd += ["--api-url", sb.api_url, "--accounts-url", sb.token_url, "--market", "US"]
        cmd += ["--max-albums", str(albums), "--enrich", "deezer,musicbrainz"]
        env = {
            **os.environ,
            "SPOTIFY_CLIENT_ID": sb.client_id,
            "SPOTIFY_CLIENT_SECRET": sb.client_secret,
            "DEEZER_API_URL": f"{sb.origin}/deezer",
            "MUSICBRAINZ_API_URL": f"{sb.origin}/musicbrainz/ws/2",
            "PYTHONPATH": str(ROOT),
        }
        logs = workdir / "enrich" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        code, wall, _ = _measure(cmd, env, logs)
        served = sb.inspect("stats")["apis"]
    rows: list[dict[str, Any]] = []
    run: dict[str, Any] = {}
    if code == 0:
        run = json.loads((out / "manifest.json").read_text())["runs"][-1]
    enrich = run.get("enrich", {})
    minimum = enrich.get("minimum_requests", {})
    for api, allowed in ALLOWED.items():
        sent = enrich.get("requests", {}).get(api, {})
        requests = sum(sent.get("requests", {}).values())
        throttled = served[api]["throttled"] + served[api]["shed"]
        rows.append(
            {
                "api": api,
                "exit": code,
                "albums": albums,
                "matched": enrich.get("matched", {}).get(api),
                "requests": requests,
                "minimum": sum(v for k, v in minimum.items() if k.startswith(api)),
                "retries": sent.get("retries"),
                "bound": (requests - sent.get("retries", 0)) / allowed,
                "wall": enrich.get("seconds", {}).get(api, wall),
                "throttled": throttled,
            }
        )
        print(f"enrich: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def enrichment_table(rows: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of :func:`measure_enrichment`."""
    lines = [
        "",
        "### Enrichment of the memory scenario's pull",
        "",
        "`--enrich deezer,musicbrainz` over the first albums of the memory scenario's"
        " catalogue, both emulators throttling as the real APIs do. The minimum is"
        " docs/enrich.md's for what was found; the rate bound is the minimum over the rate"
        " the API allows (Deezer 10/s, MusicBrainz 1/s); wall is the time that API's part"
        " took (the two run side by side, after the Spotify part). Throttled: answers that"
        " said so (Deezer code 4, MusicBrainz 503).",
        "",
        "| API | albums | matched | requests | minimum | rate bound | wall | throttled |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if row["exit"] != 0:
            lines.append(f"| {row['api']} | {row['albums']} | failed (exit {row['exit']}) |||||")
            continue
        lines.append(
            f"| {row['api']} | {row['albums']} | {row['matched']} | {row['requests']} |"
            f" {row['minimum']} | {row['bound']:.1f} s | {row['wall']:.1f} s |"
            f" {row['throttled']} |"
        )
    return lines
