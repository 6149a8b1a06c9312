"""``report`` on a dataset: today's charts over all runs, then the trend cards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import orjson

from async_spotify_etl.analytics.load import load_pull
from async_spotify_etl.analytics.report import build_report
from async_spotify_etl.output.reader import read_committed

from .datasets import MARKETS, Dataset, make_dataset
from .test_report import CHARTS, _parse

TRENDS = (
    "entering-per-run",
    "time-on-list",
    "genre-share-over-time",
    "label-share-over-time",
    "churn-per-market",
    "follower-growth",
)


def _grow_followers(dataset: Dataset, k: int) -> tuple[str, int]:
    """Followers move between runs; this fixture serves every run from one sandbox day: raise one
    artist's count in run k's snapshot, in place and at the same length (its journal's
    offsets stay true). Returns the artist's name and the followers gained."""
    path = dataset.folder(k) / "artists.ndjson"
    data = path.read_bytes()
    earlier = {a["id"] for j in range(k) for a in read_committed(dataset.folder(j), "artists")}
    for line in data.splitlines():
        artist = orjson.loads(line)
        total = artist["followers"]["total"]
        digits = str(total)
        if artist["id"] in earlier and len(digits) >= 3 and digits[0] < "8":
            gained = 10 ** (len(digits) - 1)
            old = f'"total":{digits}}}'.encode()
            new = f'"total":{total + gained}}}'.encode()
            assert line.count(old) == 1
            path.write_bytes(data.replace(line, line.replace(old, new)))
            return artist["name"], gained
    raise AssertionError("no artist of an earlier run to grow")


def _text(page: Any, key: str) -> str:
    return " ".join(t.strip() for t in page.cards[key] if t.strip())


async def test_a_dataset_report_shows_the_trend_cards(sandbox_factory: Any, tmp_path: Path) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds")
    name, gained = _grow_followers(dataset, 2)
    html = build_report(dataset.root, tmp_path / "report.html")
    _, page = _parse(html)
    for key in (*CHARTS, *TRENDS):
        assert "<svg>" in page.cards[key], key
    listed = dataset.listed
    first = {a for m in MARKETS for a in listed[0][m]}
    entering = {a for k in (1, 2) for m in MARKETS for a in listed[k][m]} - first
    assert f": {len(entering)} over 2 runs after the first" in _text(page, "entering-per-run")
    assert "of 3 runs" in _text(page, "time-on-list")
    events = [
        e
        for k in (1, 2)
        for e in map(orjson.loads, (dataset.folder(k) / "events.ndjson").read_bytes().splitlines())
    ]
    assert f"{len(events)} changes over 2 runs" in _text(page, "churn-per-market")
    for market in MARKETS:
        assert market in _text(page, "churn-per-market")
    growth = _text(page, "follower-growth")
    assert name in growth
    assert f"{gained:,}" in growth  # the bar's label: the only artist that grew
    labels = _text(page, "label-share-over-time")
    assert re.search(r"for the \d labels with the most listings", labels)
    text = html.read_text()
    assert "Full manifest.json" in text  # the latest run's
    assert f"Dataset of 3 runs in <code>{dataset.root}</code>" in text


async def test_one_run_says_there_is_too_little_data(sandbox_factory: Any, tmp_path: Path) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=1)
    _, page = _parse(build_report(dataset.root))
    for key in CHARTS:
        assert "<svg>" in page.cards[key], key
    for key in TRENDS:
        assert "<svg>" not in page.cards[key], key
        if key != "follower-growth":
            assert "Only one run has a listing so far" in _text(page, key), key
    assert "growth needs two" in _text(page, "follower-growth")


def _documented_queries() -> dict[str, str]:
    """The dataset's example queries of docs/analytics.md, by their comment's first words."""
    text = (Path(__file__).parents[2] / "docs" / "analytics.md").read_text()
    block = text.split("## A dataset", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    queries = {}
    for chunk in block.strip().split("\n\n"):
        comment, _, sql = chunk.partition("\n")
        queries[comment.removeprefix("-- ").split(":")[0].split(" (")[0]] = sql
    return queries


async def test_the_documented_dataset_queries_answer(sandbox_factory: Any, tmp_path: Path) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds")
    name, gained = _grow_followers(dataset, 2)
    db = tmp_path / "ds.duckdb"
    load_pull(dataset.root, db)
    queries = _documented_queries()
    assert len(queries) == 4
    with duckdb.connect(str(db), read_only=True) as con:
        entered = con.execute(queries["Albums that entered the list in the last 7 days"]).fetchall()
        (albums,) = con.execute("SELECT count(*) FROM albums").fetchone() or (0,)
        assert len(entered) == albums  # the fixture's runs are this week's
        longest = con.execute(queries["Longest on the list"]).fetchall()
        in_all = {
            (a, m)
            for m in MARKETS
            for a in set.intersection(*(set(dataset.listed[k][m]) for k in range(3)))
        }
        assert in_all
        assert {r[2] for r in longest[: len(in_all)]} == {3}
        assert {r[3] for r in longest[: len(in_all)]} == {2}  # Dec 1 to Dec 3
        growth = con.execute(queries["Follower growth"]).fetchall()
        assert (growth[0][0], growth[0][3]) == (name, gained)
        assert all(g == 0 for *_, g in growth[1:])
        churn = con.execute(queries["Churn"]).fetchall()
        events = sum(
            len((dataset.folder(k) / "events.ndjson").read_bytes().splitlines()) for k in range(3)
        )
        assert sum(r[2] + r[3] for r in churn) == events


async def test_followers_growing_over_sandbox_days_show_in_the_report(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """Real dataset runs over three sandbox days, whose artists gain followers day by day."""
    from async_spotify_etl.core.settings import ClientSettings, PullSettings
    from async_spotify_etl.output.dataset import Dataset as Runs
    from async_spotify_etl.run.dataset import run_dataset

    root = tmp_path / "ds"
    for day in (0, 3, 6):
        sb = await sandbox_factory(seed=31, markets=MARKETS, albums_per_market=20, day=day)
        client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=2000.0)
        await run_dataset(PullSettings(out=root, markets=MARKETS, client=client), sb.credentials)
    first: dict[str, int] = {}
    latest: dict[str, tuple[str, int]] = {}
    for run in Runs(root).runs():
        for artist in read_committed(root / run["path"], "artists"):
            first.setdefault(artist["id"], artist["followers"]["total"])
            latest[artist["id"]] = (artist["name"], artist["followers"]["total"])
    gains = sorted(((t - first[a], n) for a, (n, t) in latest.items()), reverse=True)
    (top_gain, top_name), (second_gain, _) = gains[0], gains[1]
    assert top_gain > second_gain > 0  # the sandbox's followers grow
    _, page = _parse(build_report(root, tmp_path / "report.html"))
    growth = _text(page, "follower-growth")
    assert top_name in growth
    assert f"{top_gain:,}" in growth
