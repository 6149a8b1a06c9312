"""The access mode remembered: a second run of the same app sends no probe (counted by
the sandbox), and a memory the server contradicts falls back and is corrected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl.client.memory import Memory, cache_dir
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.run.pull import run_pull
from tests.pulls import assert_matches_truth, manifest

MARKETS = ("US", "GB", "DE")
FAST = {"rate": 10_000.0, "burst": 1000, "concurrency": 16}


def settings_for(sb: Any, out: Path) -> PullSettings:
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, **FAST)
    return PullSettings(out=out, markets=MARKETS, client=client)


def served(sb: Any, route: str) -> int:
    return sum(sb.stats()["requests"].get(route, {}).values())


def remembered(sb: Any) -> dict[str, bool]:
    return Memory(cache_dir(), sb.credentials.client_id, sb.api_url).data.fresh_access()


@pytest.mark.parametrize("access", ["development", "extended"])
async def test_a_run_that_remembers_sends_no_probe(
    sandbox_factory: Any, tmp_path: Path, access: str
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=30, access=access, seed=4)
    first = await run_pull(settings_for(sb, tmp_path / "first"), sb.credentials)
    development = access == "development"
    assert first.manifest.plan["probes"] == (
        {"new-releases": 1, "several-albums": 1} if development else {}
    )
    assert remembered(sb) == {"new-releases": not development, "several-albums": not development}
    before = {route: served(sb, route) for route in ("new-releases", "several-albums")}
    second = await run_pull(settings_for(sb, tmp_path / "second"), sb.credentials)
    assert second.status == "complete"
    assert_matches_truth(tmp_path / "second", sb.truth(), MARKETS, access)
    made = manifest(tmp_path / "second")
    assert made["plan"]["probes"] == {}
    allowed = not development
    assert made["plan"]["remembered"] == {"new-releases": allowed, "several-albums": allowed}
    assert made["plan"]["source"] == first.manifest.plan["source"]
    assert made["plan"]["expand"] == first.manifest.plan["expand"]
    assert made["requests"] == made["minimum_requests"]  # not one request beyond the plan
    if development:  # not one request to the endpoints the app may not use
        assert {route: served(sb, route) for route in before} == before


async def test_a_403_where_memory_allowed_falls_back_and_corrects_it(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=30, access="development")
    memory = Memory(cache_dir(), sb.credentials.client_id, sb.api_url)
    memory.data.access = {"new-releases": True, "several-albums": True}
    memory.data.access_at = dt.datetime.now(dt.UTC)
    memory.save()
    result = await run_pull(settings_for(sb, tmp_path), sb.credentials)
    assert result.status == "complete"
    assert_matches_truth(tmp_path, sb.truth(), MARKETS, "development")
    probes = result.manifest.plan["probes"]
    # every market started at once on the memory's word: at most one 403 each
    assert 1 <= probes["new-releases"] <= len(MARKETS)
    assert probes["several-albums"] >= 1
    assert served(sb, "new-releases") == probes["new-releases"]
    assert remembered(sb) == {"new-releases": False, "several-albums": False}
