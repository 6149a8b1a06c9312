"""Progress display, summary table and manifest: the numbers shown are the numbers kept."""

from __future__ import annotations

import dataclasses
import io
import logging
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from async_spotify_etl.cli import progress
from async_spotify_etl.cli.progress import (
    ProgressReporter,
    print_summary,
    render_summary,
    summary_text,
)
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.output.manifest import Manifest, arguments_of, write_manifest
from async_spotify_etl.run.progress import Snapshot


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(progress.time, "monotonic", fake)
    return fake


async def test_log_mode_reports_counts_and_request_rate(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    current = [Snapshot(found=10, done=0, tracks=0, failed=0, requests=0, waited_seconds=0)]
    with ProgressReporter(lambda: current[0], "log") as reporter:
        assert reporter._timer is not None  # armed on the loop, cancelled on exit
        clock.now += 10
        current[0] = Snapshot(
            found=40, done=25, tracks=300, failed=1, requests=50, waited_seconds=3
        )
        with caplog.at_level(logging.INFO):
            reporter.tick()
    assert reporter._timer is None
    assert "25/40 albums, 300 tracks, 1 failed, 5.0 req/s, 3 s waited on 429s" in caplog.text


async def test_bar_mode_draws_albums_done_of_found(clock: FakeClock) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150)
    snap = Snapshot(found=10, done=3, tracks=42, failed=0, requests=7, waited_seconds=0)
    with ProgressReporter(lambda: snap, "bar", console=console):
        clock.now += 1
    text = out.getvalue()
    assert "3/10" in text
    assert "42 tracks" in text


async def test_off_mode_shows_nothing(caplog: pytest.LogCaptureFixture) -> None:
    snap = Snapshot(found=1, done=1, tracks=1, failed=0, requests=1, waited_seconds=0)
    with caplog.at_level(logging.INFO), ProgressReporter(lambda: snap, "off") as reporter:
        assert reporter._timer is None
    assert caplog.text == ""


def make_manifest() -> Manifest:
    return Manifest(
        status="complete",
        plan={"source": "search", "expand": "album"},
        markets=["US", "GB"],
        counts={"albums": 12, "tracks": 345, "failed": 2},
        this_run={"albums": 5, "tracks": 100, "failed": 0},
        requests={"search": 4, "album": 14},
        minimum_requests={"search": 4, "album": 12},
        resumed=True,
    )


def test_summary_shows_counts_requests_against_minimum_and_whole_paths() -> None:
    out = io.StringIO()
    long_path = Path("/a/really/long/directory/name/that/would/not/fit/in/a/narrow/table/x.ndjson")
    render_summary(make_manifest(), {"albums": long_path}, Console(file=out, width=60))
    text = out.getvalue()
    assert "search → album" in text
    assert "12 (5 this run)" in text
    assert "18 (plan minimum 16)" in text
    assert f"albums: {long_path}" in text


def test_plain_summary_has_the_same_rows_aligned_and_whole_paths() -> None:
    long_path = Path("/a/really/long/directory/name/that/would/not/fit/in/a/narrow/table/x.ndjson")
    lines = summary_text(make_manifest(), {"albums": long_path}).splitlines()
    assert lines[0] == "spotify-etl pull: complete"
    assert "  plan                   search → album" in lines
    assert "  albums                 12 (5 this run)" in lines
    assert "  requests               18 (plan minimum 16)" in lines
    assert lines[-1] == f"albums: {long_path}"


def test_the_summary_counts_auto_probes_beside_the_minimum() -> None:
    manifest = dataclasses.replace(
        make_manifest(),
        plan={
            "source": "search",
            "expand": "album",
            "probes": {"new-releases": 1, "several-albums": 1},
        },
        requests={"search": 4, "album": 14, "new-releases": 1, "several-albums": 1},
        waited_seconds=3.0,
        backoff_seconds=1.25,
    )
    lines = summary_text(manifest, {}).splitlines()
    assert "  requests               20 (plan minimum 16 + 2 probes)" in lines
    assert "  waited on Retry-After  3.0 s" in lines
    assert "  retry backoff          1.2 s" in lines


@pytest.mark.parametrize(("tty", "table"), [(True, True), (False, False)])
def test_the_summary_is_a_table_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tty: bool, table: bool
) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: tty)
    print_summary(make_manifest(), {"albums": Path("x.ndjson")})
    out = capsys.readouterr().out
    assert "18 (plan minimum 16)" in out
    assert ("│" in out) is table


def test_manifest_is_written_atomically_with_totals(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, make_manifest())
    data = orjson.loads(path.read_bytes())
    assert data["requests_total"] == 18
    assert data["minimum_requests_total"] == 16
    assert data["counts"]["failed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_arguments_never_carry_secrets_in_urls() -> None:
    client = ClientSettings(api_url="https://user:s3cret@api.example/v1", rate=3.0)
    arguments = arguments_of(PullSettings(out=Path("o"), client=client))
    assert arguments["api_url"] == "https://api.example/v1"
    assert arguments["rate"] == 3.0
    assert "s3cret" not in orjson.dumps(arguments).decode()
