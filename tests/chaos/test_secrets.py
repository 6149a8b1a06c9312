"""Scenario 8: secrets. A pull that meets every kind of trouble (expiring tokens, faults,
429s), logged as text and as JSON: the client secret and every token the sandbox issued
appear nowhere in its output, logs, manifest, data, errors or journal. Every other
scenario runs the same scan on its own logs and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import cli_env, expected_records, pull_args, run_cli, scan_for_secrets, tally


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_secret_or_token_in_any_log_or_file(
    sandbox_factory: SandboxFactory, tmp_path: Path, log_format: str
) -> None:
    sb = await sandbox_factory(
        seed=12,
        markets=("US", "GB"),
        albums_per_market=40,
        token_lifetime=1.0,
        error_rate=0.05,
        corrupt_rate=0.03,
        drop_rate=0.02,
        rate_limit=40,
        rate_window=1.0,
        latency=0.01,
        client_secret="chaos-secrets-" + log_format,
    )
    out = tmp_path / "out"
    args = pull_args(sb, out, "--expand", "album", "--rate", "200", "--burst", "20")
    run = await run_cli(
        [*args, "--log-format", log_format, "--max-retries", "10"], cli_env(sb), tmp_path
    )
    assert run.code == 0, run.stderr
    stats = sb.stats()
    # The run met what makes a client log: retries, 429s and several tokens.
    assert stats["tokens_issued"] >= 2
    assert stats["throttled"] > 0
    assert len(run.stderr.splitlines()) > 5
    counts = tally(out, expected_records(sb.truth(), sb.config.markets))
    assert (counts.lost, counts.duplicates) == (0, 0)
    leaks = scan_for_secrets(sb, [run.stdout, run.stderr], [out])
    record(
        Figures(
            f"secrets ({log_format} logs)",
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            during_retry_after=stats["during_retry_after"],
            traced=False,
            exit_codes=[run.code],
            notes=f"{leaks} occurrences of the secret or of {stats['tokens_issued']} tokens"
            f" in {len(run.stderr.splitlines())} log lines and {len(list(out.iterdir()))} files",
        )
    )
    assert leaks == 0


async def test_the_scan_finds_a_token_or_the_secret_where_there_is_one(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=5, client_secret="chaos-scan")
    run = await run_cli(pull_args(sb, tmp_path / "out"), cli_env(sb), tmp_path)
    assert run.code == 0, run.stderr
    assert scan_for_secrets(sb, [run.stderr], [tmp_path]) == 0
    token = sb.state.tokens.issued[0]
    (tmp_path / "out" / "leak.txt").write_text(f"Authorization: Bearer {token}\n")
    assert scan_for_secrets(sb, [run.stderr], [tmp_path]) == 1
    assert scan_for_secrets(sb, [f"secret={sb.config.client_secret}"], []) == 1
