"""output/manifest.py owns manifest.json: one typed Manifest written and read there, the
recorded arguments and the plan derived from the settings' fields, the minimum in the scope
of the requests it is compared with."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl import (
    BudgetSpentError,
    ClientSettings,
    ClientStats,
    PullSettings,
    SettingsError,
    run_pull,
)
from async_spotify_etl.cli.progress import summary_text
from async_spotify_etl.core.settings import EnrichSettings, plan_of, setting_fields
from async_spotify_etl.output.layout import manifest_path
from async_spotify_etl.output.manifest import (
    Manifest,
    ManifestError,
    RunRecord,
    arguments_of,
    load_manifest,
    write_manifest,
)
from async_spotify_etl.run.resume import recorded_settings
from async_spotify_etl.sandbox import Sandbox

SETTINGS = (PullSettings, ClientSettings, EnrichSettings)


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda c: c.__name__)
def test_every_setting_says_whether_it_is_part_of_the_plan(cls: type) -> None:
    """A new field must be marked PLAN (a resume must keep it) or NOT_PLAN: unmarked, it
    would be left out of the plan and of manifest.json's arguments without a word."""
    unmarked = [f.name for f in dataclasses.fields(cls) if "plan" not in f.metadata]
    assert unmarked == []


def test_a_setting_left_unmarked_is_refused_where_the_plan_is_derived() -> None:
    @dataclasses.dataclass(frozen=True)
    class Grown(PullSettings):
        added_later: int = 0

    with pytest.raises(TypeError, match="added_later is not marked"):
        plan_of(Grown(out=Path("o")))
    with pytest.raises(TypeError, match="added_later is not marked"):
        arguments_of(Grown(out=Path("o")))


def test_the_arguments_record_every_setting_artists_and_budget_included() -> None:
    client = ClientSettings(budget=40, rate=7.0)
    settings = PullSettings(out=Path("o"), artists="off", markets=("US", "GB"), client=client)
    arguments = arguments_of(settings)
    names = {f.name for cls in SETTINGS for f in dataclasses.fields(cls)} - {"client", "enrichment"}
    assert set(arguments) == names
    assert (arguments["artists"], arguments["budget"]) == ("off", 40)
    assert arguments["markets"] == ["US", "GB"]
    assert orjson.loads(orjson.dumps(arguments)) == arguments  # plain JSON


def test_the_plan_is_the_settings_marked_plan() -> None:
    settings = PullSettings(out=Path("o"), artists="single", client=ClientSettings(budget=5))
    plan = plan_of(settings)
    assert plan == {
        "markets": ["US"],
        "source": "auto",
        "expand": "auto",
        "since": None,
        "include_groups": ["album", "single"],
        "artists": "single",
        "max_albums": None,
        "compress": "none",
        "enrich": [],
    }
    marked = {f.name for f, _ in setting_fields(settings) if f.metadata["plan"]}
    assert marked == set(plan)


def test_the_client_stats_go_into_the_manifest_as_the_client_gives_them() -> None:
    stats = ClientStats(
        requests={"album": 3},
        retries=2,
        throttled=1,
        waited_seconds=1.5,
        token_refreshes=1,
        pacing={"rate": 5.0, "window": None},
    )
    runs = [
        RunRecord("stopped", "t0", "t1", 2.0, {"albums": 3}, stats.as_dict(), {"album": 3}),
        RunRecord("complete", "t2", "t3", 1.0, {"albums": 1}, stats.as_dict(), {"album": 1}),
    ]
    manifest = Manifest.of_runs(runs, status="complete")
    for name, value in stats.as_dict().items():
        assert hasattr(manifest, name), f"ClientStats.{name} does not reach the manifest"
        if name not in ("requests", "pacing"):
            assert getattr(manifest, name) == 2 * value
    assert manifest.requests == {"album": 6}
    assert manifest.minimum_requests == {"album": 4}
    assert manifest.pacing == stats.pacing
    assert manifest.duration_seconds == 3.0


def test_what_is_written_reads_back_as_the_same_manifest(tmp_path: Path) -> None:
    run = RunRecord(
        "complete", "t0", "t1", 2.0, {"albums": 3, "tracks": 9}, ClientStats().as_dict(), {}
    )
    manifest = Manifest.of_runs(
        [run], status="complete", counts={"albums": 3}, arguments={"budget": None}
    )
    write_manifest(tmp_path, manifest)
    assert load_manifest(tmp_path) == manifest
    written = orjson.loads(manifest_path(tmp_path).read_bytes())
    assert written["runs"][0]["albums"] == 3  # a run's counts stay at its top level


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "no manifest.json"),
        (b"{not json", "unreadable"),
        (b"[1]", "does not hold a JSON object"),
        (b'{"counts": {}}', "has no status"),
        (b'{"status": "complete", "counts": [1]}', "counts is not an object"),
        (b'{"status": "complete", "runs": 3}', "runs are not a list"),
    ],
)
def test_a_manifest_that_is_not_one_is_one_clear_reason(
    tmp_path: Path, body: bytes | None, message: str
) -> None:
    if body is not None:
        manifest_path(tmp_path).write_bytes(body)
    with pytest.raises(ManifestError, match=message):
        load_manifest(tmp_path)


async def _pull(sb: Sandbox, out: Path, **fields: Any) -> Any:
    budget = fields.pop("budget", None)
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=1000, budget=budget)
    settings = PullSettings(out=out, client=client, expand="several", **fields)
    return await run_pull(settings, sb.credentials)


async def test_a_resume_keeps_the_plan_and_may_change_the_budget(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = await sandbox_factory(albums_per_market=60, markets=("US",), latency=0)
    out = tmp_path / "out"
    with pytest.raises(BudgetSpentError):
        await _pull(sb, out, artists="off", budget=3)
    assert load_manifest(out).arguments["budget"] == 3
    assert recorded_settings(out) == {
        "markets": ("US",),
        "source": "auto",
        "expand": "several",
        "artists": "off",
        "compress": "none",
    }
    with pytest.raises(SettingsError, match="changed: artists"):
        await _pull(sb, out, artists="single", resume=True)
    done = await _pull(sb, out, artists="off", resume=True, budget=500)
    assert done.status == "complete"
    manifest = load_manifest(out)
    assert (manifest.arguments["budget"], manifest.arguments["artists"]) == (500, "off")


async def test_after_a_resume_requests_and_minimum_are_compared_in_the_same_scope(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """A resume lists again; the pull's requests are shown against every run's minimum,
    and this run's against this run's, never the pull's against the last run's."""
    sb = await sandbox_factory(albums_per_market=100, markets=("US",), latency=0)
    out = tmp_path / "out"
    with pytest.raises(BudgetSpentError):
        await _pull(sb, out, artists="off", budget=4)
    done = await _pull(sb, out, artists="off", resume=True)
    manifest = done.manifest
    first, last = manifest.runs
    assert first.minimum_requests["new-releases"] == last.minimum_requests["new-releases"] == 2
    pull_minimum = sum(first.minimum_requests.values()) + sum(last.minimum_requests.values())
    assert sum(manifest.minimum_requests.values()) == pull_minimum
    pull_sent = sum(manifest.requests.values())
    run_sent, run_minimum = sum(last.requests.values()), sum(last.minimum_requests.values())
    assert pull_sent == sum(first.requests.values()) + run_sent
    assert run_minimum < pull_minimum
    row = f"{pull_sent} (plan minimum {pull_minimum}); this run {run_sent}"
    row += f" (plan minimum {run_minimum})"
    assert f"  requests               {row}" in summary_text(manifest, {}).splitlines()
