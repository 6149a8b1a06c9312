"""dlt in the tests: every file it writes under tmp_path, no telemetry, no config from home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import Server, server, unavailable

pytest.importorskip("dlt", reason="the dlt extra is not installed: pip install -e '.[dlt]'")


@pytest.fixture(autouse=True)
def dlt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dlt's data, project and pipelines folders in tmp_path; telemetry off; no stray config
    from the environment."""
    for name in list(os.environ):
        if name.startswith(("SOURCES__", "DESTINATION__", "SPOTIFY_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """A real PostgreSQL server for the session (skips, saying why, where none can be had)."""
    reason = unavailable()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    with server() as running:
        yield running
