"""``spotify-etl pull --enrich``: the flag, the dry run's count, a development-mode sandbox
pull, and a kill -9 in the middle of the enrichment resumed to exactly an uninterrupted one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl import read_committed
from async_spotify_etl.cli import main
from async_spotify_etl.client.deezer import upc_forms
from async_spotify_etl.output.sink import recorded_plan
from tests.pulls import manifest

pytestmark = pytest.mark.usefixtures("clean_env")

SANDBOX = ["--sandbox", "--sandbox-latency", "0", "--sandbox-rate-limit", "0", "--rate", "2000"]
DEVELOPMENT = [*SANDBOX, "--sandbox-access", "development", "--sandbox-albums", "30"]
ENRICH_STREAMS = ("deezer_albums", "deezer_tracks", "deezer_artists", "musicbrainz_releases")


def test_enrich_names_only_the_apis_it_knows(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["pull", *SANDBOX, "--out", "o", "--enrich", "deezer,lastfm"])
    assert exit_.value.code == 2
    assert "expected a comma-separated list of deezer, musicbrainz" in capsys.readouterr().err
    assert not Path("o").exists()


def test_a_pull_without_enrich_writes_no_enrichment_file() -> None:
    assert main(["pull", *DEVELOPMENT, "--out", "o", "--quiet"]) == 0
    assert not [p for p in Path("o").iterdir() if p.name.startswith(("deezer", "musicbrainz"))]
    assert "enrich" not in (recorded_plan(Path("o")) or {})  # the plan a pull always had


def test_the_dry_run_counts_the_enrichment_the_pull_then_makes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pull", *DEVELOPMENT, "--enrich", "deezer,musicbrainz", "--out", "o", "--quiet"]
    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert not Path("o").exists()
    line = next(x for x in out.splitlines() if x.startswith("enrichment requests: "))
    planned = dict(
        (name, int(n))
        for name, n in (
            part.rsplit(" ", 1) for part in line.split("(")[1].split(")")[0].split(", ")
        )
    )
    assert main(argv) == 0
    made = manifest(Path("o"))["runs"][-1]["enrich"]
    sent = made["requests"]["deezer"]["requests"] | made["requests"]["musicbrainz"]["requests"]
    albums = list(read_committed(Path("o"), "deezer_albums"))
    misses = [a for a in albums if a["deezer"] is None]
    # every album is counted once; a miss costs each UPC form and no track page
    extra = sum(len(upc_forms(a["upc"] or "")) - 1 for a in misses)
    assert sent["deezer-album-upc"] == planned["deezer-album-upc"] + extra
    assert sent["deezer-album-tracks"] == planned["deezer-album-tracks"] - len(misses)
    assert sent["musicbrainz-release-search"] == planned["musicbrainz-release-search"]
    assert sent == made["minimum_requests"]  # and the run sent no more than its minimum
    assert "enrichment time: at least" in out


def test_a_development_mode_sandbox_pull_enriches_from_deezer_and_musicbrainz(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pull", *DEVELOPMENT, "--enrich", "deezer,musicbrainz", "--out", "o"]
    assert main([*argv, "--no-progress"]) == 0
    shown = capsys.readouterr().out
    out = Path("o")
    albums = list(read_committed(out, "albums"))
    assert albums
    for artist in read_committed(out, "artists"):  # development mode: no popularity here
        raise AssertionError(f"development mode fetched an artist: {artist}")
    enriched = {s: list(read_committed(out, s)) for s in ENRICH_STREAMS}
    ids = sorted(a["id"] for a in albums)
    assert sorted(a["album_id"] for a in enriched["deezer_albums"]) == ids  # one line each
    assert sorted(a["album_id"] for a in enriched["musicbrainz_releases"]) == ids
    matched = [a for a in enriched["deezer_albums"] if a["deezer"] is not None]
    assert matched  # Deezer's fans stand in for the popularity development mode lacks
    assert all(isinstance(a["deezer"]["fans"], int) for a in matched)
    assert any(
        a["deezer"] is not None and "nb_fan" in a["deezer"] for a in enriched["deezer_artists"]
    )
    releases = [r for r in enriched["musicbrainz_releases"] if r["release"] is not None]
    assert releases  # a minority, as MusicBrainz knows a minority of new releases
    assert all(r["release_group"]["genres"] is not None for r in releases)
    assert "spotify-etl pull: complete" in shown
    assert manifest(out)["arguments"]["enrich"] == ["deezer", "musicbrainz"]
    assert recorded_plan(out)["enrich"] == ["deezer", "musicbrainz"]  # a resume keeps it


def start(out: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "async_spotify_etl", "pull", *SANDBOX, "--sandbox-albums"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    return subprocess.Popen(
        [*argv, "12", "--enrich", "deezer", "--out", str(out), "--no-progress", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def comparable(out: Path) -> dict[str, list[Any]]:
    """The enrichment files without their extraction times, sorted; sandboxes on other
    ports serve the same bodies under other links."""
    result: dict[str, list[Any]] = {}
    for stream in ("deezer_albums", "deezer_tracks", "deezer_artists"):
        records = [
            {**r, "_etl": {k: v for k, v in r["_etl"].items() if k != "extracted_at"}}
            for r in read_committed(out, stream)
        ]
        result[stream] = sorted(
            records, key=lambda r: str(r.get("track_id") or r.get("album_id") or r["artist_id"])
        )
    data = re.sub(rb"http://127\.0\.0\.1:\d+", b"http://sandbox", orjson.dumps(result))
    same: dict[str, list[Any]] = orjson.loads(data)
    return same


def test_sigkill_in_the_middle_of_the_enrichment_then_resume_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    reference = tmp_path / "reference"
    proc = start(reference)
    _, err = proc.communicate(timeout=120)  # a hang guard, not a timing assertion
    assert proc.returncode == 0, err
    out = tmp_path / "out"
    proc = start(out)
    deadline = time.monotonic() + 60  # a hang guard, not a timing assertion
    target = out / "deezer_albums.ndjson"
    while not (target.exists() and target.stat().st_size > 0):
        assert proc.poll() is None, "the pull ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # and its stderr closed
    done = len(list(read_committed(out, "deezer_albums")))
    assert done < len(comparable(reference)["deezer_albums"])  # caught in the middle
    resume = ["pull", *SANDBOX, "--sandbox-albums", "12", "--out", str(out), "--resume"]
    assert main([*resume, "--quiet"]) == 0
    assert comparable(out) == comparable(reference)
    again = manifest(out)["runs"][-1]["enrich"]
    assert again["looked_up"]["deezer"] == len(comparable(reference)["deezer_albums"]) - done


def test_the_enrichment_urls_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --sandbox they are the real hosts unless DEEZER_API_URL and
    MUSICBRAINZ_API_URL say otherwise; one that is not a URL is one line, exit 2."""
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "id")
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "secret")
    monkeypatch.setenv("DEEZER_API_URL", "ftp://example.org")
    argv = ["pull", "--api-url", "http://127.0.0.1:9/v1", "--accounts-url"]
    argv += ["http://127.0.0.1:9/api/token", "--enrich", "deezer", "--out", "o", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Deezer URL must be an http(s) URL with a host" in err
    assert err.count("\n") == 1


def test_a_development_mode_enriched_pull_loads_and_charts_popularity_and_genres() -> None:
    """The issue's whole path on the CLI: a development-mode sandbox pull (no Spotify
    popularity, no artists) with --enrich deezer,musicbrainz, loaded into DuckDB, gives
    the report non-empty "most popular artists" and genre charts, each naming its source."""
    import duckdb

    from tests.analytics.test_report_artists import cards

    argv = ["pull", *DEVELOPMENT, "--enrich", "deezer,musicbrainz", "--out", "o", "--quiet"]
    assert main(argv) == 0
    assert main(["load", "--duckdb", "o.duckdb", "o", "--quiet"]) == 0
    with duckdb.connect("o.duckdb", read_only=True) as con:
        sources = dict(
            con.execute(
                "SELECT popularity_source, count(*) FROM artist_popularity"
                " WHERE popularity IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
        fans = con.execute(
            "SELECT count(*) FROM deezer_albums WHERE matched AND fans IS NOT NULL"
        ).fetchone()
        genres = dict(
            con.execute("SELECT source, count(*) FROM album_genres GROUP BY 1").fetchall()
        )
    assert set(sources) == {"deezer"}  # development mode: Spotify has none to give
    assert fans is not None
    assert fans[0] > 0
    assert genres.get("deezer", 0) > 0
    assert genres.get("musicbrainz", 0) > 0
    shown = cards(Path("o"))
    assert "<svg>" in shown["popular-artists"]
    assert "Source: Deezer" in shown["popular-artists"]
    for key in ("top-genres-albums", "top-genres-tracks"):
        assert "<svg>" in shown[key], key
        assert "Source: Deezer" in shown[key], key
