"""Scenario 7: bad input. Wrong or missing credentials, a malformed .env, invalid flag
values, an unwritable --out, --resume on another plan's directory and a full disk: each
ends with its documented exit code and exactly one line on stderr, and no file already
written is damaged."""

from __future__ import annotations

import hashlib
import resource
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.sandbox import Sandbox
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import cli_env, expected_records, pull_args, run_cli, scan_for_secrets, tally

FAST = ("--rate", "500", "--burst", "50", "--concurrency", "8")
USAGE, AUTH = 2, 3

FLAG_CASES = {
    "concurrency 0": ("--concurrency", "0"),
    "negative concurrency": ("--concurrency=-4",),
    "rate 0": ("--rate", "0"),
    "negative rate": ("--rate=-2.5",),
    "market not a code": ("--market", "USA"),
    "unknown market code": ("--market", "ZZ"),
    "UK for GB": ("--market", "US,UK"),
    "unknown source": ("--source", "everything"),
}


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` by content hash."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


async def _sandbox(factory: SandboxFactory) -> Sandbox:
    return await factory(seed=6, markets=("US",), albums_per_market=60, client_secret="chaos-bad")


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("case", list(FLAG_CASES))
async def test_invalid_flag_values_exit_2_with_one_line(
    sandbox_factory: SandboxFactory, tmp_path: Path, case: str
) -> None:
    sb = await _sandbox(sandbox_factory)
    out = tmp_path / "out"
    run = await run_cli([*pull_args(sb, out), *FLAG_CASES[case]], cli_env(sb), tmp_path)
    assert run.code == USAGE, run.stderr
    _one_line(run.stderr)
    assert not out.exists() or fingerprint(out) == {}
    assert scan_for_secrets(sb, [run.stdout, run.stderr], [tmp_path], issued=False) == 0
    record(Figures(f"bad input: {case}", expected=0, exit_codes=[run.code]))


async def test_wrong_credentials_exit_3_with_one_line_and_no_secret(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await _sandbox(sandbox_factory)
    env = cli_env(sb, SPOTIFY_CLIENT_SECRET="chaos-wrong-secret")
    run = await run_cli(pull_args(sb, tmp_path / "out"), env, tmp_path)
    assert run.code == AUTH, run.stderr
    line = _one_line(run.stderr)
    logs = [run.stdout, run.stderr]
    assert scan_for_secrets(sb, logs, [tmp_path], secret="chaos-wrong-secret", issued=False) == 0
    record(Figures("bad input: wrong credentials", expected=0, exit_codes=[run.code]))
    assert "credentials" in line


@pytest.mark.parametrize("env_file", [None, "malformed"])
async def test_missing_credentials_or_malformed_env_file_exit_2(
    sandbox_factory: SandboxFactory, tmp_path: Path, env_file: str | None
) -> None:
    sb = await _sandbox(sandbox_factory)
    extra: list[str] = []
    if env_file:
        dotenv = tmp_path / "broken.env"
        dotenv.write_text(
            'SPOTIFY_CLIENT_ID=abc\nSPOTIFY_CLIENT_SECRET="chaos-env-secret\nnot a line\n'
        )
        extra = ["--env-file", str(dotenv)]
    run = await run_cli([*pull_args(sb, tmp_path / "out"), *extra], cli_env(None), tmp_path)
    assert run.code == USAGE, run.stderr
    line = _one_line(run.stderr)
    assert ("SPOTIFY_CLIENT" in line) if env_file is None else ("broken.env" in line)
    out = tmp_path / "out"
    logs = [run.stdout, run.stderr]
    assert scan_for_secrets(sb, logs, [out], secret="chaos-env-secret", issued=False) == 0
    what = "malformed .env" if env_file else "missing credentials"
    record(Figures(f"bad input: {what}", expected=0, exit_codes=[run.code]))


async def test_unwritable_out_exits_2_with_one_line(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await _sandbox(sandbox_factory)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    run = await run_cli(pull_args(sb, blocker / "out"), cli_env(sb), tmp_path)
    assert run.code == USAGE, run.stderr
    assert "a-file" in _one_line(run.stderr)
    assert blocker.read_text() == "not a directory\n"
    assert scan_for_secrets(sb, [run.stdout, run.stderr], [tmp_path], issued=False) == 0
    record(Figures("bad input: unwritable --out", expected=0, exit_codes=[run.code]))


async def test_resume_with_another_plan_exits_2_and_touches_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await _sandbox(sandbox_factory)
    out = tmp_path / "out"
    first = await run_cli(pull_args(sb, out, *FAST, "--max-albums", "20"), cli_env(sb), tmp_path)
    assert first.code == 0, first.stderr
    before = fingerprint(out)
    other = [*pull_args(sb, out, *FAST, "--max-albums", "20"), "--expand", "tracks", "--resume"]
    run = await run_cli(other, cli_env(sb), tmp_path)
    assert run.code == USAGE, run.stderr
    assert "different plan" in _one_line(run.stderr)
    assert fingerprint(out) == before
    again = await run_cli(pull_args(sb, out, *FAST, "--max-albums", "20"), cli_env(sb), tmp_path)
    assert again.code == USAGE  # without --resume a pull directory is never overwritten
    assert fingerprint(out) == before
    logs = [text for r in (first, run, again) for text in (r.stdout, r.stderr)]
    assert scan_for_secrets(sb, logs, [out]) == 0
    record(
        Figures(
            "bad input: --resume on another plan", exit_codes=[first.code, run.code, again.code]
        )
    )


async def test_a_full_disk_stops_with_one_line_and_resume_completes(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A full disk, simulated cheaply: RLIMIT_FSIZE makes writes past a size fail with
    EFBIG (Python ignores SIGXFSZ), as ENOSPC would."""
    sb = await sandbox_factory(seed=6, markets=("US", "GB"), albums_per_market=150)
    out = tmp_path / "out"
    limit = 200_000

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = await run_cli(pull_args(sb, out, *FAST), cli_env(sb), tmp_path, preexec_fn=small_disk)
    assert full.code == USAGE, full.stderr
    _one_line(full.stderr)
    resumed = await run_cli(pull_args(sb, out, *FAST, "--resume"), cli_env(sb), tmp_path)
    assert resumed.code == 0, resumed.stderr
    counts = tally(out, expected_records(sb.truth(), sb.config.markets))
    record(
        Figures(
            "full disk (RLIMIT_FSIZE), then --resume",
            runs=2,
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            exit_codes=[full.code, resumed.code],
        )
    )
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    assert orjson.loads((out / "manifest.json").read_bytes())["status"] == "complete"
    logs = [full.stdout, full.stderr, resumed.stdout, resumed.stderr]
    assert scan_for_secrets(sb, logs, [out]) == 0
