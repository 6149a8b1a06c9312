"""A library caller resumes a pull knowing only its folder: the plan comes from the pull."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl import (
    BudgetSpentError,
    ClientSettings,
    PullSettings,
    SettingsError,
    run_pull,
)
from async_spotify_etl.run.resume import resume_settings
from tests.pulls import read_pull


async def test_a_library_resume_needs_only_the_folder(sandbox_factory: Any, tmp_path: Path) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=60, latency=0)
    listed = sb.truth()["markets"]["US"][:45]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(listed) + "\n")
    out = tmp_path / "out"
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=1000, budget=1)
    started = PullSettings(out=out, client=client, ids_file=ids, expand="several", artists="off")
    with pytest.raises(BudgetSpentError):
        await run_pull(started, sb.credentials)
    assert 0 < len(read_pull(out)["albums"]) < len(listed)

    unlimited = dataclasses.replace(client, budget=None)
    with pytest.raises(SettingsError, match="changed: expand"):
        await run_pull(resume_settings(out, client=unlimited, expand="album"), sb.credentials)
    settings = resume_settings(out, client=unlimited)
    assert dataclasses.replace(settings, client=client, resume=False) == started
    done = await run_pull(settings, sb.credentials)
    assert done.status == "complete"
    assert sorted(a["id"] for a in read_pull(out)["albums"]) == sorted(listed)
