"""#28.1: a listing whose total is more than its paging can reach says so, once per
market with both numbers, and the manifest, the summary and the dry run record it."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl.cli.progress import summary_rows
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.engine.plan import plan_requests
from async_spotify_etl.run.pull import run_pull
from tests.pulls import manifest

FAST = {"rate": 10_000.0, "burst": 1000, "concurrency": 16, "remember": False}


async def test_search_past_its_reach_warns_once_per_market_and_records_both_numbers(
    sandbox_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    markets = ("US", "GB")
    sb = await sandbox_factory(markets=markets, albums_per_market=3000, access="development")
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, **FAST)
    settings = PullSettings(out=tmp_path / "pull", markets=markets, client=client, max_albums=5)
    total = sb.state.catalogue.search_new()
    assert len(total) > 1000  # the catalogue holds more recent albums than search reaches
    result = await run_pull(settings, sb.credentials)
    assert result.exit_code == 0
    assert result.status == "complete"
    said = [r.getMessage() for r in caplog.records if "lets a query reach" in r.getMessage()]
    assert len(said) == len(markets)  # once per market
    for market, line in zip(markets, sorted(said, key=lambda m: markets.index(m[:2])), strict=True):
        assert line.startswith(
            f"{market}: search reports {len(total):,} new albums; the API lets a query reach 1,000"
        )
    reach = {"source": "search", "total": len(total), "reached": 1000}
    assert manifest(tmp_path / "pull")["reach"] == dict.fromkeys(markets, reach)
    rows = dict(summary_rows(result.manifest))
    assert (
        rows["unreached US"] == f"search reports {len(total):,}, the API lets a query reach 1,000"
    )
    caplog.clear()
    plan = await plan_requests(
        dataclasses.replace(settings, out=tmp_path / "dry"), sb.credentials, None
    )
    assert plan.reach == dict.fromkeys(markets, reach)
    assert any(n.startswith(f"US: search reports {len(total):,}") for n in plan.notes)
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "reach" in r.getMessage()
    ]


async def test_a_listing_within_its_reach_records_without_a_warning(
    sandbox_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = await sandbox_factory(markets=("US",), albums_per_market=100, access="development")
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, **FAST)
    result = await run_pull(PullSettings(out=tmp_path, client=client), sb.credentials)
    found = len(sb.truth()["search_new"])
    assert result.manifest.reach == {"US": {"source": "search", "total": found, "reached": found}}
    assert not [r for r in caplog.records if "lets a query reach" in r.getMessage()]
    assert not [k for k, _ in summary_rows(result.manifest) if k.startswith("unreached")]


async def test_the_report_and_the_dataset_index_keep_the_reach_per_run(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    from async_spotify_etl.analytics.report import build_report
    from async_spotify_etl.output.dataset import Dataset
    from async_spotify_etl.run.dataset import run_dataset

    sb = await sandbox_factory(markets=("US",), albums_per_market=3000, access="development")
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, **FAST)
    settings = PullSettings(out=tmp_path / "ds", client=client, max_albums=3)
    total = len(sb.state.catalogue.search_new())
    result = await run_dataset(settings, sb.credentials)
    assert result.exit_code == 0
    (run,) = Dataset(tmp_path / "ds").runs()
    assert run["reach"] == {"US": {"source": "search", "total": total, "reached": 1000}}
    page = build_report(tmp_path / "ds").read_text()
    assert "Listings reached" in page
    assert f"{total:,}" in page
    assert "not every album could be listed in US" in page
