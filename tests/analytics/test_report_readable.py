"""The report reads right: one bar per artist, facts that fit, charts whose text is legible
and whose legend hides nothing, a plan in words, a dataset called a dataset, and a killed
pull's header and run section telling the same story."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from matplotlib.patches import Rectangle

from async_spotify_etl.analytics import charts, trend_charts
from async_spotify_etl.analytics.page import ERROR_SHOWN
from async_spotify_etl.analytics.report import build_report
from async_spotify_etl.core.errors import BudgetSpentError
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.output.manifest import load_manifest, write_manifest
from async_spotify_etl.run.pull import run_pull
from tests.pulls import read_pull

from .conftest import MakePull
from .datasets import make_dataset
from .test_report import MANIFEST, _parse

TWINS = ("Twin", "Twin", "Ana", "Bo", "Cy", "Di", "Ed", "Fay")


def _row(text: str, label: str) -> str:
    """The value cell of a two-column row of the run section."""
    found = re.search(rf'<td class="">{re.escape(label)}</td><td class="num">([^<]*)</td>', text)
    assert found, f"no {label} row"
    return found.group(1)


def test_artists_sharing_a_name_each_keep_their_own_bar(make_pull: MakePull) -> None:
    pull = make_pull(n_albums=40, artist_names=TWINS)
    by_id = Counter(a["id"] for album in pull.albums.values() for a in album["artists"])
    names = {a["id"]: a["name"] for album in pull.albums.values() for a in album["artists"]}
    assert [names[i] for i in by_id].count("Twin") == 2

    _, page = _parse(build_report(pull.out_dir))

    texts = [t.strip() for t in page.cards["top-artists"]]
    assert sorted(t for t in texts if t.startswith("Twin")) == ["Twin", "Twin (2)"]
    assert sum(t in {*TWINS, "Twin (2)"} for t in texts) == len(by_id)  # a label per artist
    twins = sorted((n for i, n in by_id.items() if names[i] == "Twin"), reverse=True)
    assert all(str(n) in texts for n in twins)


def test_a_long_error_is_cut_in_the_facts_and_the_cells_wrap(make_pull: MakePull) -> None:
    error = "ClientError: " + "https://api.example/" + "x" * 3000
    pull = make_pull(manifest={**MANIFEST, "status": "failed", "error": error})

    text, _ = _parse(build_report(pull.out_dir))

    shown = _row(text, "Error")
    assert len(shown) < ERROR_SHOWN + 60
    assert shown.startswith("ClientError: https://api.example/xxx")
    assert "manifest.json below" in shown
    assert error in text.split("<pre>", 1)[1]  # the whole error stays in the full manifest
    assert re.search(r"td \{ overflow-wrap: anywhere; \}", text)


def test_the_plan_is_said_in_words_and_an_empty_entry_is_left_out(make_pull: MakePull) -> None:
    empty = make_pull(manifest=MANIFEST)  # its plan's probes are {}
    probed = make_pull(
        manifest={**MANIFEST, "plan": {**MANIFEST["plan"], "probes": {"several-albums": 2}}}
    )

    text, _ = _parse(build_report(empty.out_dir))
    plan = text.split("<h3>Plan</h3>", 1)[1].split("</table>", 1)[0]
    assert "{" not in plan
    assert "probes" not in plan
    text, _ = _parse(build_report(probed.out_dir))
    assert _row(text, "probes") == "several-albums 2"


def test_the_genre_heatmap_text_is_the_charts_size_in_a_chart_as_wide_as_the_others() -> None:
    markets = ("US", "GB", "DE", "SE")
    genres = [f"genre {n}" for n in range(12)]
    shares = [[(i + j) % 7 / 20 for j in range(len(genres))] for i in range(len(markets))]

    svg = charts.to_svg(charts.genre_share(markets, genres, shares), "heat")

    cells = re.findall(
        r'<text style="font-size: ([\d.]+)px; text-anchor: middle; fill: #(?:ffffff|222222)"'
        r"[^>]*>\d+%</text>",
        svg,
    )
    assert len(cells) == len(markets) * len(genres)
    assert {float(size) for size in cells} == {10.0}  # the charts' font size, as every label
    width = float(re.search(r'<svg [^>]*width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    assert width <= 6.4 * 72 * 1.1  # not shrunk more than the other cards to fit the page


def test_the_churn_legend_covers_no_bar() -> None:
    markets = ("US", "GB", "DE", "SE", "FR")
    labels = [f"day {n}" for n in range(4)]
    listed = {m: [40, 38, 5, 40] for m in markets}
    delisted = {m: [3, 30, 2, 1] for m in markets}

    fig = trend_charts.churn(labels, markets, listed, delisted)
    with charts._style():
        fig.draw_without_rendering()

    (ax,) = fig.axes
    legend = ax.get_legend().get_window_extent()
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 2 * len(markets) * len(labels)
    assert not [b for b in bars if b.get_window_extent().overlaps(legend)]


async def test_a_dataset_report_speaks_of_this_dataset(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path)

    _, page = _parse(build_report(dataset.root))

    cards = {key: "".join(parts) for key, parts in page.cards.items()}
    assert "this dataset" in cards["top-artists"]
    assert not [key for key, text in cards.items() if "this pull" in text]


async def test_a_killed_pulls_header_counts_what_its_run_section_counts(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """A pull stopped among its artists, then left as a kill leaves it (manifest.json still
    says running, with the length it had as the run started)."""
    sb = await sandbox_factory(markets=("US",), albums_per_market=20, latency=0)
    out = tmp_path / "killed"
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=1000, budget=14)
    settings = PullSettings(out=out, client=client, expand="several", artists="single")
    with pytest.raises(BudgetSpentError):
        await run_pull(settings, sb.credentials)
    stopped = load_manifest(out)
    started = dataclasses.replace(stopped.runs[-1], status="running", duration_seconds=0.0)
    write_manifest(
        out, dataclasses.replace(stopped, status="running", runs=(started,), duration_seconds=0.0)
    )
    pull = read_pull(out)
    fetched = len(pull["artists"])
    credited = len({a["id"] for album in pull["albums"] for a in album["artists"]})
    assert 0 < fetched < credited

    text, _ = _parse(build_report(out))

    header = text.split("</header>", 1)[0]
    assert f"<b>{fetched:,}</b><span>artists fetched · " in header
    assert _row(text, "Count: artists") == f"{fetched:,}"
    assert _row(text, "Status") == "killed"
    assert _row(text, "Duration") == "unknown (1 run killed, length unknown)"
