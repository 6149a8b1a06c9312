"""The report's genre and artist charts, from real sandbox pulls: what they show, and what
they say when the data lacks a field (development mode)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl.analytics.report import build_report
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.run.pull import run_pull
from tests.pulls import read_pull

from .test_report import ARTIST_CHARTS, _parse

MARKETS = ("US", "GB")


async def sandbox_pull(
    sandbox_factory: Any, out: Path, access: str = "extended", artists: str = "auto"
) -> dict[str, Any]:
    sb = await sandbox_factory(seed=12, markets=MARKETS, albums_per_market=60, access=access)
    client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=2000.0, burst=200)
    settings = PullSettings(out=out, markets=MARKETS, artists=artists, client=client)  # type: ignore[arg-type]
    await run_pull(settings, sb.credentials)
    truth: dict[str, Any] = sb.truth()
    return truth


def cards(out: Path) -> dict[str, str]:
    _, page = _parse(build_report(out))
    return {key: "".join(parts) for key, parts in page.cards.items()}


async def test_genre_and_artist_charts_show_what_the_pull_holds(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    truth = await sandbox_pull(sandbox_factory, tmp_path)
    shown = cards(tmp_path)
    pull = read_pull(tmp_path)
    genres = {a["id"]: a["genres"] for a in pull["artists"]}
    by_album = Counter(
        g
        for album in pull["albums"]
        for g in {g for a in album["artists"] for g in genres[a["id"]]}
    )
    ((top, n),) = by_album.most_common(1)
    assert all("<svg>" in shown[key] for key in ARTIST_CHARTS)
    assert top in shown["top-genres-albums"]
    assert str(n) in shown["top-genres-albums"]
    by_track = Counter(
        g for t in pull["tracks"] for g in {g for a in t["artists"] for g in genres[a["id"]]}
    )
    assert by_track.most_common(1)[0][0] in shown["top-genres-tracks"]
    assert top in shown["genre-share-by-market"]
    assert all(m in shown["genre-share-by-market"] for m in MARKETS)
    facts = truth["artists"]
    popular = max(facts.values(), key=lambda f: (f["popularity"], f["followers"]))
    assert popular["name"] in shown["popular-artists"]
    followed = max(facts.values(), key=lambda f: f["followers"])
    assert followed["name"] in shown["followed-artists"]
    assert f"{followed['followers']:,}" in shown["followed-artists"]
    unclassified = sum(not f["genres"] for f in facts.values())
    assert (
        f"{unclassified} of {len(facts)} artists fetched have no genre"
        in shown["top-genres-albums"]
    )


@pytest.mark.parametrize("artists", ["auto", "single"])
async def test_development_mode_says_plainly_what_the_data_lacks(
    sandbox_factory: Any, tmp_path: Path, artists: str
) -> None:
    await sandbox_pull(sandbox_factory, tmp_path, "development", artists)
    shown = cards(tmp_path)
    if artists == "auto":  # skipped: nothing to chart, and the card says why
        for key in ARTIST_CHARTS:
            assert "<svg>" not in shown[key]
            assert "This pull fetched no artist" in shown[key]
        return
    assert "<svg>" in shown["top-genres-albums"]
    for key, field in (("popular-artists", "popularity"), ("followed-artists", "followers")):
        assert "<svg>" not in shown[key]
        assert f"carry no {field}: Spotify gives development-mode apps none" in shown[key]
