"""Scenario 4: the daily quota runs out midway. The pull stops with exit 75 and one line
saying when to resume; a later --resume finishes with every record exactly once."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import orjson

from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import cli_env, expected_records, pick, pull_args, run_cli, scan_for_secrets, tally

ALBUMS = pick(150, 1000)
FAST = ("--rate", "500", "--burst", "50", "--concurrency", "8", "--log-format", "json")
_RESUME_AT = re.compile(r"resume after (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


def _command_lines(stderr: str) -> list[str]:
    """What the command itself said: the messages of its own JSON lines (every line on
    stderr is JSON with --log-format json)."""
    entries = [orjson.loads(line) for line in stderr.splitlines() if line.strip()]
    return [e["message"] for e in entries if e["logger"] == "spotify-etl"]


async def test_quota_wall_stops_resumably_and_resume_completes_exactly(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    catalogue = {"seed": 8, "markets": ("US", "GB"), "albums_per_market": ALBUMS}
    secret = {"client_secret": "chaos-quota-secret"}
    stingy = await sandbox_factory(**catalogue, **secret, quota=pick(20, 60))
    out = tmp_path / "out"
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stopped = await run_cli(pull_args(stingy, out, *FAST), cli_env(stingy), tmp_path, guard=60)
    assert stopped.code == 75, stopped.stderr
    said = _command_lines(stopped.stderr)
    assert len(said) == 1, said
    assert "quota" in said[0].lower()
    assert "--resume" in said[0]
    match = _RESUME_AT.search(said[0])
    assert match is not None, said[0]
    resume_at = dt.datetime.fromisoformat(match.group(1)).replace(tzinfo=dt.UTC)
    # The sandbox's quota 429 says Retry-After: 6 h; the line turns it into a UTC time.
    assert resume_at - before >= dt.timedelta(seconds=stingy.config.quota_retry_after - 5)
    assert "Traceback" not in stopped.stderr
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["status"] == "stopped"
    assert 0 < manifest["counts"]["albums"] < len(stingy.truth()["albums"])

    generous = await sandbox_factory(**catalogue, **secret)
    resumed = await run_cli(
        pull_args(generous, out, *FAST, "--resume"), cli_env(generous), tmp_path, guard=120
    )
    assert resumed.code == 0, resumed.stderr
    counts = tally(out, expected_records(generous.truth(), generous.config.markets))
    record(
        Figures(
            "quota wall, then --resume",
            runs=2,
            expected=counts.expected,
            lost=counts.lost,
            duplicates=counts.duplicates,
            during_retry_after=stingy.stats()["during_retry_after"],
            traced=False,
            exit_codes=[stopped.code, resumed.code],
            notes=f"stopped after {manifest['counts']['albums']} albums",
        )
    )
    assert (counts.lost, counts.duplicates, counts.unexpected, counts.errors) == (0, 0, 0, 0)
    assert orjson.loads((out / "manifest.json").read_bytes())["resumed"] is True
    logs = [stopped.stdout, stopped.stderr, resumed.stdout, resumed.stderr]
    assert scan_for_secrets(stingy, logs, [out]) == 0
    assert scan_for_secrets(generous, logs, [out]) == 0
