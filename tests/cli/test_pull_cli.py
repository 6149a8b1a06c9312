"""``spotify-etl pull`` in-process: flags, configuration errors, exit codes, one line each."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.cli import main
from async_spotify_etl.sandbox import Sandbox, SandboxConfig
from tests.pulls import manifest, read_pull

SANDBOX = ["--sandbox", "--sandbox-latency", "0", "--sandbox-rate-limit", "0", "--rate", "2000"]


pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def served() -> Iterator[Sandbox]:
    """A sandbox on its own loop in a thread, for the CLI's own asyncio.run to call."""
    with serving(SandboxConfig(markets=("US",), albums_per_market=10)) as sandbox:
        yield sandbox


@contextmanager
def serving(config: SandboxConfig) -> Iterator[Sandbox]:
    loop = asyncio.new_event_loop()
    sandbox = Sandbox(config)
    ready = threading.Event()

    def serve() -> None:
        loop.run_until_complete(sandbox.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(sandbox.aclose())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield sandbox
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("spotify-etl")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--rate", "0"], "--rate: must be a positive number"),
        (["--rate", "fast"], "--rate: not a number or auto: 'fast'"),
        (["--concurrency", "many"], "--concurrency: not a whole number"),
        (["--max-wait", "-1"], "--max-wait: must be zero or more seconds"),
        (["--source", "charts"], "--source: invalid choice"),
        (["--compress", "zip"], "--compress: invalid choice"),
        (["--client-secret", "x"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["pull", *argv])
    assert stop.value.code == 2
    assert says in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--market", "USA"], "--market 'USA' is not a two-letter country code"),
        (["--ids", "x.txt", "--source", "search"], "--ids needs --source ids or auto"),
        (["--source", "ids"], "--source ids needs --ids FILE"),
        (["--ids", "missing.txt"], "cannot read --ids missing.txt"),
    ],
)
def test_inconsistent_flags_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(["pull", *SANDBOX, "--out", "o", *argv]) == 2
    assert says in one_error_line(capsys.readouterr().err)


def test_missing_secret_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "abc")
    assert main(["pull", "--out", "o"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "missing SPOTIFY_CLIENT_SECRET" in line
    assert not Path("o").exists()


def test_malformed_env_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    Path(".env").write_text("SPOTIFY_CLIENT_ID=abc\nthis line is junk\n")
    assert main(["pull", "--out", "o"]) == 2
    assert ".env line 2 is not KEY=VALUE" in one_error_line(capsys.readouterr().err)
    assert main(["pull", "--env-file", "nope.env"]) == 2
    assert "cannot read --env-file nope.env" in one_error_line(capsys.readouterr().err)


def test_settings_are_refused_before_the_ids_file_is_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("ids.txt").write_text("not an id\n4aawyAB9vmqN3uQ7FjRGTy\n")
    assert main(["pull", *SANDBOX, "--ids", "ids.txt", "--expand", "tracks", "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err  # no warning about the file's bad line
    assert "--expand tracks needs a listing" in err


def test_an_env_file_that_is_a_directory_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    Path(".env").mkdir()
    assert main(["pull", "--out", "o"]) == 2
    assert "--env-file .env is a directory" in one_error_line(capsys.readouterr().err)
    assert not Path("o").exists()


def test_bad_credentials_exit_3(
    capsys: pytest.CaptureFixture[str], served: Sandbox, tmp_path: Path
) -> None:
    Path("creds.env").write_text("SPOTIFY_CLIENT_ID=wrong\nSPOTIFY_CLIENT_SECRET=wrong-secret\n")
    argv = ["pull", "--env-file", "creds.env", "--api-url", served.api_url, "--out", "o"]
    assert main([*argv, "--accounts-url", served.token_url]) == 3
    err = capsys.readouterr().err
    assert "spotify-etl: error:" in one_error_line(err)
    assert "wrong-secret" not in err
    assert manifest(tmp_path / "o")["status"] == "failed"
    # Nothing was committed, so the corrected command may start over without --resume.
    creds = served.credentials
    Path("creds.env").write_text(
        f"SPOTIFY_CLIENT_ID={creds.client_id}\nSPOTIFY_CLIENT_SECRET={creds.client_secret}\n"
    )
    assert main([*argv, "--accounts-url", served.token_url, "--quiet"]) == 0
    assert manifest(tmp_path / "o")["counts"]["albums"] == 10


def test_urls_that_are_not_the_endpoints_exit_2_naming_the_url(
    capsys: pytest.CaptureFixture[str], served: Sandbox
) -> None:
    creds = served.credentials
    Path("creds.env").write_text(
        f"SPOTIFY_CLIENT_ID={creds.client_id}\nSPOTIFY_CLIENT_SECRET={creds.client_secret}\n"
    )
    argv = ["pull", "--env-file", "creds.env", "--quiet", "--no-progress"]
    host = served.token_url.split("/api/")[0]  # the accounts host without /api/token: 404
    assert main([*argv, "--api-url", served.api_url, "--accounts-url", host, "--out", "a"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"--accounts-url {host} answered HTTP 404" in line
    no_v1 = served.api_url.removesuffix("/v1")
    assert main([*argv, "--api-url", no_v1, "--accounts-url", served.token_url, "--out", "b"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--api-url is not the Web API's base URL" in line
    assert f"{no_v1}/browse/new-releases" in line


def test_bad_api_url_exits_2_before_writing_anything(capsys: pytest.CaptureFixture[str]) -> None:
    Path(".env").write_text("SPOTIFY_CLIENT_ID=a\nSPOTIFY_CLIENT_SECRET=b\n")
    assert main(["pull", "--api-url", "http://example.com/v1", "--out", "o"]) == 2
    assert "plain http only for loopback" in one_error_line(capsys.readouterr().err)
    assert not Path("o").exists()


def test_env_file_credentials_and_urls_reach_the_api(
    capsys: pytest.CaptureFixture[str], served: Sandbox, tmp_path: Path
) -> None:
    creds = served.credentials
    Path(".env").write_text(
        f"SPOTIFY_CLIENT_ID={creds.client_id}\nSPOTIFY_CLIENT_SECRET={creds.client_secret}\n"
        f"SPOTIFY_API_URL={served.api_url}\nSPOTIFY_ACCOUNTS_URL={served.token_url}\n"
    )
    assert main(["pull", "--out", "o", "--rate", "1000", "--no-progress"]) == 0
    assert len(read_pull(tmp_path / "o")["albums"]) == 10
    assert creds.client_secret not in capsys.readouterr().out


def test_unwritable_out_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    Path("file").write_text("x")
    assert main(["pull", *SANDBOX, "--out", "file/sub"]) == 2
    assert "cannot use --out file/sub" in one_error_line(capsys.readouterr().err)


def test_a_second_pull_into_the_same_out_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", *SANDBOX, "--sandbox-albums", "5", "--out", "o", "--quiet"]) == 0
    before = Path("o/albums.ndjson").read_bytes()
    assert main(["pull", *SANDBOX, "--sandbox-albums", "5", "--out", "o", "--quiet"]) == 2
    assert "already holds a pull" in one_error_line(capsys.readouterr().err)
    assert Path("o/albums.ndjson").read_bytes() == before
    assert main(["pull", *SANDBOX, "--sandbox-albums", "6", "--out", "o", "--resume"]) == 2
    assert "different plan" in one_error_line(capsys.readouterr().err)


def test_junk_id_lines_are_reported_not_fatal(capsys: pytest.CaptureFixture[str]) -> None:
    config = SandboxConfig(markets=("US",), albums_per_market=8)

    async def listed() -> list[str]:
        async with Sandbox(config) as sb:
            ids: list[str] = sb.truth()["markets"]["US"]
            return ids

    ids = asyncio.run(listed())
    Path("ids.txt").write_text(f"{ids[0]}\nhello\nspotify:track:{ids[1]}\n{ids[2]}\n")
    code = main(["pull", *SANDBOX, "--sandbox-albums", "8", "--ids", "ids.txt", "--out", "o"])
    assert code == 0
    err = capsys.readouterr().err
    assert "--ids line 2 is not an album id" in err
    assert "--ids line 3 is not an album id" in err
    assert [a["id"] for a in read_pull(Path("o"))["albums"]] == [ids[0], ids[2]]
    assert manifest(Path("o"))["junk_id_lines"] == 2


@pytest.mark.parametrize("access", ["extended", "development"])
def test_dry_run_counts_what_the_pull_then_requests(
    capsys: pytest.CaptureFixture[str], access: str
) -> None:
    argv = ["pull", *SANDBOX, "--market", "US,GB", "--sandbox-albums", "30"]
    argv += ["--sandbox-access", access, "--out", "o", "--quiet"]
    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert not Path("o").exists()
    assert main(argv) == 0
    made = manifest(Path("o"))
    line = next(x for x in out.splitlines() if x.startswith("requests: "))
    planned = dict(
        (name, int(n))
        for name, n in (
            part.rsplit(" ", 1) for part in line.split("(")[1].split(")")[0].split(", ")
        )
    )
    pulled = made["minimum_requests"]
    # Albums are counted exactly from the listing; artists from the albums' credits only
    # (tracks credit more), so their count is a lower bound, said as "at least".
    artists = {"several-artists", "artist"}
    assert {k: v for k, v in planned.items() if k not in artists} == {
        k: v for k, v in pulled.items() if k not in artists
    }
    for endpoint in artists & pulled.keys():
        assert 1 <= planned[endpoint] <= pulled[endpoint]
    assert ("at least" in line) == bool(artists & pulled.keys())
    assert (access == "extended") == ("several-artists" in pulled)
    assert f"albums: {made['counts']['albums']}" in out
    assert "time at 2000 requests/s" in out


def test_a_full_cli_pull_prints_a_summary_and_writes_gzip(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pull", *SANDBOX, "--market", "US,GB", "--sandbox-albums", "20", "--out", "o"]
    assert main([*argv, "--compress", "gzip", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "spotify-etl pull: complete" in out
    assert "o/albums.ndjson.gz" in out
    assert sorted(p.name for p in Path("o").iterdir()) == [
        ".journal",
        "albums.ndjson.gz",
        "artists.ndjson.gz",
        "errors.ndjson.gz",
        "manifest.json",
        "tracks.ndjson.gz",
    ]
    made = manifest(Path("o"))
    assert made["arguments"]["compress"] == "gzip"
    assert len(read_pull(Path("o"))["albums"]) == made["counts"]["albums"] > 20


def test_help_lists_every_contract_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["pull", "--help"])
    text = capsys.readouterr().out
    for flag in (
        "--out", "--market", "--source", "--ids", "--expand", "--concurrency", "--rate",
        "--burst", "--max-albums", "--max-retries", "--max-wait", "--timeout", "--resume",
        "--compress", "--api-url", "--accounts-url", "--sandbox", "--dry-run", "--progress",
        "--no-progress", "--quiet", "--log-format", "--env-file", "--artist-ids", "--since",
        "--include-groups",
    ):  # fmt: skip
        assert flag in text


def test_quota_exhausted_exits_75_saying_when_and_how_to_resume(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SandboxConfig(markets=("US",), albums_per_market=60, quota=3)
    with serving(config) as sb:
        monkeypatch.setenv("SPOTIFY_CLIENT_ID", sb.credentials.client_id)
        monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", sb.credentials.client_secret)
        argv = ["pull", "--api-url", sb.api_url, "--accounts-url", sb.token_url, "--out", "o"]
        assert main([*argv, "--rate", "1000", "--quiet"]) == 75
    line = one_error_line(capsys.readouterr().err)
    assert "resume after" in line
    assert "--resume" in line
    assert manifest(Path("o"))["status"] == "stopped"


def test_resume_takes_what_to_pull_from_the_pull_itself(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = {"markets": ("US", "GB"), "albums_per_market": 30}
    plan = ["--market", "US,GB", "--expand", "album", "--compress", "gzip", "--max-albums", "20"]
    with serving(SandboxConfig(**catalogue, quota=6)) as sb:  # type: ignore[arg-type]
        monkeypatch.setenv("SPOTIFY_CLIENT_ID", sb.credentials.client_id)
        monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", sb.credentials.client_secret)
        argv = ["pull", "--api-url", sb.api_url, "--accounts-url", sb.token_url, "--out", "o"]
        assert main([*argv, *plan, "--rate", "1000", "--quiet"]) == 75
    capsys.readouterr()
    with serving(SandboxConfig(**catalogue)) as sb:  # type: ignore[arg-type]
        argv = ["pull", "--api-url", sb.api_url, "--accounts-url", sb.token_url, "--out", "o"]
        assert main([*argv, "--market", "DE", "--resume", "--quiet"]) == 2
        assert "changed: markets" in one_error_line(capsys.readouterr().err)
        assert main([*argv, "--resume", "--rate", "1000", "--quiet"]) == 0
    made = manifest(Path("o"))
    assert (made["status"], made["counts"]["albums"], made["markets"]) == (
        "complete",
        20,
        ["US", "GB"],
    )
    assert made["arguments"]["expand"] == "album"
    assert made["files"]["albums"] == "albums.ndjson.gz"


def test_an_api_that_keeps_failing_stops_resumably_with_75(
    capsys: pytest.CaptureFixture[str], served: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", served.credentials.client_id)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", served.credentials.client_secret)
    dead = "http://127.0.0.1:9/v1"  # the discard port: nothing answers there
    argv = ["pull", "--accounts-url", served.token_url, "--out", "o", "--quiet"]
    assert main([*argv, "--api-url", dead, "--max-retries", "1"]) == 75
    line = one_error_line(capsys.readouterr().err)
    # not "the API kept failing": it was never reached (#24.15)
    assert f"the host 127.0.0.1 of the API URL {dead}" in line
    assert "took no connection" in line
    assert "--resume" in line
    assert manifest(Path("o"))["status"] == "stopped"
    # when the API answers again, the resume finishes the pull
    assert main([*argv, "--api-url", served.api_url, "--resume", "--rate", "1000"]) == 0
    assert manifest(Path("o"))["counts"]["albums"] == 10


def test_an_os_error_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(args: object) -> int:
        raise OSError(28, "No space left on device", "o/tracks.ndjson")

    monkeypatch.setattr("async_spotify_etl.cli.pull.command.pull", no_space)
    assert main(["pull", *SANDBOX, "--out", "o"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == "spotify-etl: error: No space left on device (o/tracks.ndjson)"


def test_json_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["pull", *SANDBOX, "--sandbox-albums", "5", "--out", "o", "--log-format", "json"]
    # development mode: auto logs why it switches endpoints
    assert main([*argv, "--sandbox-access", "development", "--no-progress"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) >= 2
    for line in lines:
        entry = orjson.loads(line)
        assert {"at", "level", "logger", "message"} <= entry.keys()


#: What ``pull`` must not load: the server side, the analytics extra, and rich unless drawing.
HEAVY = ("aiohttp.web", "rich", "duckdb", "matplotlib", "async_spotify_etl.sandbox")


def run_python(code: str, **env: str) -> tuple[str, set[str]]:
    """Run ``code`` in a fresh interpreter: its stdout, and the modules it had imported."""
    probe = f"{code}\nimport sys\nprint(*sys.modules, file=sys.stderr)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(done.stderr.split())


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith(HEAVY)}


def test_parsing_pull_flags_imports_nothing_heavy() -> None:
    parse = "build_parser().parse_args(['pull', '--sandbox', '--out', 'o', '--rate', '5'])"
    _, loaded = run_python(f"from async_spotify_etl.cli import build_parser\n{parse}")
    assert "async_spotify_etl.cli.pull" in loaded
    assert heavy(loaded) == set()


def test_a_piped_pull_imports_nothing_heavy_and_prints_plain_lines(served: Sandbox) -> None:
    argv = ["pull", "--out", "o", "--no-progress", "--rate", "1000"]
    argv += ["--api-url", served.api_url, "--accounts-url", served.token_url]
    creds = served.credentials
    out, loaded = run_python(
        f"from async_spotify_etl.cli import main\nassert main({argv!r}) == 0",
        SPOTIFY_CLIENT_ID=creds.client_id,
        SPOTIFY_CLIENT_SECRET=creds.client_secret,
    )
    assert {"async_spotify_etl.run.pull", "aiohttp"} <= loaded
    assert heavy(loaded) == set()
    assert out.startswith("spotify-etl pull: complete\n")
    assert re.search(r"^  requests +\d+ \(plan minimum \d+\)$", out, re.MULTILINE)
    assert f"albums: {Path('o', 'albums.ndjson')}" in out


def test_the_command_runs_the_collector_rarely_during_the_pull_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from async_spotify_etl.cli.pull import command

    before = gc.get_threshold()
    assert before != command.GC_THRESHOLD
    during: list[tuple[int, ...]] = []
    real = command.run_pull

    async def watched(*args: object, **kwargs: object) -> object:
        during.append(gc.get_threshold())
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(command, "run_pull", watched)
    assert main(["pull", *SANDBOX, "--sandbox-albums", "3", "--out", "o", "--quiet"]) == 0
    assert during == [command.GC_THRESHOLD]
    assert gc.get_threshold() == before
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "x")
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "y")
    # a pull that fails restores it too
    assert (
        main(
            [
                "pull",
                "--out",
                "p",
                "--api-url",
                "http://127.0.0.1:9/v1",
                "--quiet",
                "--accounts-url",
                "http://127.0.0.1:9/api/token",
                "--max-retries",
                "0",
            ]
        )
        != 0
    )
    assert gc.get_threshold() == before


def test_the_summary_counts_access_tokens_issued_not_refreshes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pull", *SANDBOX, "--sandbox-albums", "5", "--out", "o", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"access tokens\s+1\b", out), out  # one token was issued, none refreshed
    assert "token refreshes" not in out


def test_a_market_the_listing_does_not_serve_is_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(SandboxConfig(markets=("US",), albums_per_market=4)) as sb:
        monkeypatch.setenv("SPOTIFY_CLIENT_ID", sb.credentials.client_id)
        monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", sb.credentials.client_secret)
        argv = ["pull", "--api-url", sb.api_url, "--accounts-url", sb.token_url, "--out", "o"]
        assert main([*argv, "--market", "US,DE", "--rate", "1000", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "new-releases DE: the listing is empty" in err
    assert "US: the listing is empty" not in err
    assert manifest(Path("o"))["counts"]["albums"] == 4


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--sandbox-albums", "6"], "--sandbox-albums needs --sandbox"),
        (["--sandbox-access", "development"], "--sandbox-access needs --sandbox"),
        (["--sandbox", "--api-url", "http://127.0.0.1:9/v1"], "drop --api-url or --sandbox"),
        (["--sandbox", "--accounts-url", "http://127.0.0.1:9/t"], "drop --accounts-url or"),
    ],
)
def test_flags_that_would_be_ignored_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(["pull", "--out", "o", *argv]) == 2
    assert says in one_error_line(capsys.readouterr().err)
    assert not Path("o").exists()


@pytest.mark.parametrize(
    "argv",
    [["pull", "--rate", "fast"], ["load", "--nope"], ["sandbox", "--port", "x"], ["nope"]],
)
def test_every_usage_error_has_the_one_prefix(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("spotify-etl: error: ")
    assert line.endswith("--help)")


def test_artists_in_development_mode_one_line_or_exit_2_when_forced(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pull", *SANDBOX, "--sandbox-albums", "10", "--sandbox-access", "development"]
    assert main([*argv, "--out", "skipped", "--no-progress"]) == 0
    err = capsys.readouterr().err
    (said,) = [line for line in err.splitlines() if "artists skipped" in line]
    assert "development mode" in said
    assert "--artists single" in said
    forced = [*argv, "--source", "search", "--expand", "album", "--artists", "several"]
    assert main([*forced, "--out", "forced", "--quiet"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("spotify-etl: error: several-artists is not available to this app")
    assert "set --artists to auto, single or off" in line


def test_resume_takes_the_artists_mode_from_the_journal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pull", *SANDBOX, "--sandbox-albums", "10", "--out", "o", "--quiet"]
    assert main([*argv, "--artists", "off"]) == 0
    path = Path("o/manifest.json")
    stopped = path.read_bytes().replace(b'"status": "complete"', b'"status": "stopped"', 1)
    assert b'"status": "stopped"' in stopped
    path.write_bytes(stopped)
    assert main([*argv, "--resume"]) == 0  # not "changed: artists"
    assert len(manifest(Path("o"))["runs"]) == 2  # it did run again
    assert manifest(Path("o"))["plan"]["artists"] == "off"
    assert read_pull(Path("o"))["artists"] == []
    assert main([*argv, "--resume", "--artists", "several"]) == 2
    assert "changed: artists" in capsys.readouterr().err


def test_a_pull_with_no_pacing_flag_finds_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    # --rate auto is the default: the dry run times the plan at its slow start's first rate
    argv = ["pull", "--sandbox", "--sandbox-albums", "10", "--out", "o", "--dry-run"]
    assert main(argv) == 0
    assert "--rate auto starts at 5 requests/s and climbs while no 429 comes" in (
        capsys.readouterr().out
    )
    assert main([*argv, "--rate", "5"]) == 0  # a rate given by hand is the fixed bucket
    assert "--rate auto" not in capsys.readouterr().out
