"""The access mode remembered: a second run of the same app sends no probe (counted by
the sandbox), and a memory the server contradicts falls back and is corrected."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl.client.memory import Memory, cache_dir
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.engine.access import Access, Choice
from async_spotify_etl.engine.artists import ArtistFetcher
from async_spotify_etl.engine.expansion import Expander
from async_spotify_etl.engine.listing import Lister
from async_spotify_etl.engine.outcomes import PullStats
from async_spotify_etl.engine.plan import plan_requests
from async_spotify_etl.engine.stopping import Stop
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
    expected = {"new-releases": not development, "several-albums": not development}
    if not development:  # the artists stage's several-artists answered too
        expected["several-artists"] = True
    assert remembered(sb) == expected
    before = {route: served(sb, route) for route in ("new-releases", "several-albums")}
    second = await run_pull(settings_for(sb, tmp_path / "second"), sb.credentials)
    assert second.status == "complete"
    assert_matches_truth(tmp_path / "second", sb.truth(), MARKETS, access)
    made = manifest(tmp_path / "second")
    assert made["plan"]["probes"] == {}
    assert made["plan"]["remembered"] == expected
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


def remember(sb: Any, access: dict[str, bool]) -> None:
    memory = Memory(cache_dir(), sb.credentials.client_id, sb.api_url)
    memory.data.access, memory.data.access_at = access, dt.datetime.now(dt.UTC)
    memory.save()


async def test_the_dry_run_plans_what_a_remembered_development_mode_sends(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """The app's memory says development mode: the dry run plans search, Get Album and no
    artists, as the real run then sends, without one request to new-releases."""
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=30, access="extended", seed=4)
    remember(sb, {"new-releases": False, "several-albums": False})
    before = Memory(cache_dir(), sb.credentials.client_id, sb.api_url).path.read_bytes()
    settings = settings_for(sb, tmp_path)
    plan = await plan_requests(settings, sb.credentials, None)
    assert (plan.source, plan.expand, plan.artists) == ("search", "album", "off")
    assert served(sb, "new-releases") == 0
    assert Memory(cache_dir(), sb.credentials.client_id, sb.api_url).path.read_bytes() == before
    result = await run_pull(settings, sb.credentials)
    sent = {k: v for k, v in result.manifest.requests.items() if k != "token"}
    assert sent == plan.requests
    assert result.manifest.plan["source"] == plan.source


async def test_the_dry_run_plans_a_remembered_extended_mode(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=30, access="extended", seed=4)
    remember(sb, {"new-releases": True, "several-albums": True, "several-artists": True})
    plan = await plan_requests(settings_for(sb, tmp_path), sb.credentials, None)
    assert (plan.source, plan.expand, plan.artists) == ("new-releases", "several", "several")
    assert not any("assumed" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("make", "endpoint"),
    [
        (lambda access, stats: Lister(None, None, stats, access), "new-releases"),  # type: ignore[arg-type]
        (lambda access, stats: Expander(None, "US", None, stats, Stop(), access), "several-albums"),  # type: ignore[arg-type]
        (lambda access, stats: ArtistFetcher(None, None, stats, Stop(), access), "several-artists"),  # type: ignore[arg-type]
    ],
)
def test_each_stage_chooses_through_the_one_primitive(make: Any, endpoint: str) -> None:
    stage = make(Access(None), PullStats("auto", "auto"))
    assert isinstance(stage._choice, Choice)
    assert stage._choice.endpoint == endpoint


async def test_the_choice_first_call_decides_a_403_falls_back_the_memory_remembers(
    tmp_path: Path,
) -> None:
    from async_spotify_etl.core.errors import EndpointUnavailableError

    memory = Memory(tmp_path, "app", "http://api")
    probes: dict[str, int] = {}
    choice = Choice("several-albums", Access(memory), probes)
    assert await choice.use() is True  # the first caller decides
    waiting = asyncio.ensure_future(choice.use())
    await asyncio.sleep(0)
    assert not waiting.done()  # the others wait for its answer
    choice.undecided()  # a failure that is not a 403: the next caller decides
    assert await waiting is True
    choice.refused(EndpointUnavailableError(403, "http://api/albums"))
    assert await choice.use() is False
    assert probes == {"several-albums": 1}
    assert memory.changed
    assert memory.data.fresh_access() == {"several-albums": False}
    again = Choice("several-albums", Access(memory), {})
    assert again.remembered
    assert await again.use() is False
    read_only = Choice("new-releases", Access(memory, read_only=True), {})
    memory.save()
    assert not memory.changed
    assert await read_only.use() is True
    read_only.worked()
    assert not memory.changed  # a dry run never writes


async def test_the_development_mode_warnings_are_given_once_per_app(
    sandbox_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """#24.15: a daily --quiet run does not repeat the three development-mode warnings;
    even once the remembered access mode is stale and probed again, they stay info lines."""
    sb = await sandbox_factory(markets=MARKETS, albums_per_market=30, access="development")

    def warned() -> list[str]:
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        caplog.clear()
        return said

    await run_pull(settings_for(sb, tmp_path / "day1"), sb.credentials)
    first = warned()
    assert len(first) == 3
    assert sorted(m.split(":")[0] for m in first) == [
        "artists skipped",
        "new-releases answered 403",
        "several-albums answered 403",
    ]
    await run_pull(settings_for(sb, tmp_path / "day2"), sb.credentials)
    assert warned() == []
    memory = Memory(cache_dir(), sb.credentials.client_id, sb.api_url)
    memory.data.access_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)  # stale: probed again
    memory.save()
    result = await run_pull(settings_for(sb, tmp_path / "day9"), sb.credentials)
    assert result.manifest.plan["probes"] == {"new-releases": 1, "several-albums": 1}
    assert warned() == []
