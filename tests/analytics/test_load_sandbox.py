"""A real pull from the sandbox, loaded into DuckDB, checked against the sandbox's truth."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from typing import Any

import duckdb
import orjson

from async_spotify_etl.analytics.load import LoadResult, load_pull
from async_spotify_etl.analytics.report import build_report
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.run.pull import run_pull

MARKETS = ("US", "GB")


async def _pull(
    sandbox_factory: Any, out: Path, access: str, compress: str, artists: str = "auto"
) -> dict[str, Any]:
    sandbox = await sandbox_factory(seed=11, markets=MARKETS, albums_per_market=40, access=access)
    settings = PullSettings(
        out=out,
        markets=MARKETS,
        compress=compress,  # type: ignore[arg-type]
        artists=artists,  # type: ignore[arg-type]
        client=ClientSettings(
            api_url=sandbox.api_url, token_url=sandbox.token_url, rate=1000.0, concurrency=8
        ),
    )
    result = await run_pull(settings, sandbox.credentials)
    assert result.status == "complete"
    truth: dict[str, Any] = sandbox.truth()
    return truth


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _raw_albums(out: Path) -> dict[str, dict[str, Any]]:
    path = out / "albums.ndjson.gz"
    data = (
        gzip.decompress(path.read_bytes())
        if path.exists()
        else (out / "albums.ndjson").read_bytes()
    )
    return {a["id"]: a for a in map(orjson.loads, data.splitlines())}


def _tracks_by_album(db: Path) -> dict[str, list[str]]:
    rows = _query(
        db,
        "SELECT album_id, list(track_id ORDER BY disc_number, track_number) FROM tracks GROUP BY 1",
    )
    return dict(rows)


async def test_extended_pull_loads_to_the_truth(sandbox_factory: Any, tmp_path: Path) -> None:
    out, db = tmp_path / "out", tmp_path / "pull.duckdb"
    truth = await _pull(sandbox_factory, out, "extended", "gzip")

    result = load_pull(out, db)

    assert result.counts["albums"] == len(truth["albums"])
    assert result.counts["tracks"] == sum(len(t) for t in truth["albums"].values())
    assert _tracks_by_album(db) == truth["albums"]
    for market in MARKETS:
        listed = _query(db, f"SELECT album_id FROM album_markets WHERE market = '{market}'")
        assert {r[0] for r in listed} == set(truth["markets"][market])
    raw = _raw_albums(out)
    rows = _query(
        db, "SELECT album_id, album_type, release_date, release_date_precision, label FROM albums"
    )
    for album_id, kind, date, precision, label in rows:
        source = raw[album_id]
        assert kind == source["album_type"].lower()
        assert precision == source["release_date_precision"]
        assert isinstance(date, dt.date)
        assert date.isoformat().startswith(source["release_date"])
        assert label == source["label"]
    _assert_artists_are_the_truth(db, truth, "extended")
    assert build_report(out).stat().st_size > 10_000
    _append_torn_batch(out, raw)
    assert load_pull(out, db) == LoadResult(result.counts, in_progress=True)


def _assert_artists_are_the_truth(db: Path, truth: dict[str, Any], access: str) -> None:
    """Every credited artist once, with the facts the sandbox gave it; genres linked."""
    rows = _query(
        db, "SELECT artist_id, name, fetched, popularity, followers, genres, image_url FROM artists"
    )
    credited = {a for ids in truth["credits"].values() for a in ids}
    assert {r[0] for r in rows} == credited == set(truth["artists"])
    for artist_id, name, fetched, popularity, followers, genres, image in rows:
        facts = truth["artists"][artist_id]
        assert fetched
        assert (name, genres) == (facts["name"], facts["genres"])
        assert (popularity, followers) == (facts.get("popularity"), facts.get("followers"))
        assert image is None or image.startswith("https://i.scdn.co/image/")
    linked = set(_query(db, "SELECT artist_id, genre FROM artist_genres"))
    assert linked == {(a, g) for a, facts in truth["artists"].items() for g in facts["genres"]}
    assert any(not facts["genres"] for facts in truth["artists"].values())  # unclassified
    assert ("popularity" in next(iter(truth["artists"].values()))) == (access == "extended")


def _append_torn_batch(out: Path, raw: dict[str, dict[str, Any]]) -> None:
    """A commit in flight: a whole gzip member of albums, a cut one of tracks, a torn journal."""
    extra = {**next(iter(raw.values())), "id": "0" * 22}
    with (out / "albums.ndjson.gz").open("ab") as f:
        f.write(gzip.compress(orjson.dumps(extra) + b"\n"))
    with (out / "tracks.ndjson.gz").open("ab") as f:
        f.write(
            gzip.compress(b'{"id": "' + b"1" * 22 + b'", "album_id": "' + b"0" * 22 + b'"}\n')[:-6]
        )
    with (out / ".journal").open("ab") as f:
        f.write(b'{"albums": 1')


async def test_development_pull_lacks_optional_fields(sandbox_factory: Any, tmp_path: Path) -> None:
    out, db = tmp_path / "out", tmp_path / "pull.duckdb"
    truth = await _pull(sandbox_factory, out, "development", "none")

    load_pull(out, db)

    albums = {r[0] for r in _query(db, "SELECT album_id FROM albums")}
    assert albums == set(truth["search_new"])
    assert _tracks_by_album(db) == {a: truth["albums"][a] for a in albums}
    optional = _query(
        db,
        "SELECT count(label), count(popularity), count(available_markets), count(*) FROM albums",
    )
    assert optional == [(0, 0, 0, len(albums))]


async def test_development_pull_skips_artists_unless_single(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    skipped, single = tmp_path / "skipped", tmp_path / "single"
    await _pull(sandbox_factory, skipped, "development", "none")
    load_pull(skipped, tmp_path / "skipped.duckdb")
    rows = _query(
        tmp_path / "skipped.duckdb",
        "SELECT count(*), count(*) FILTER (fetched), count(genres), count(name) FROM artists",
    )
    ((count, fetched, genres, named),) = rows
    assert count == named > 0  # the credits name them
    assert fetched == genres == 0

    truth = await _pull(sandbox_factory, single, "development", "none", artists="single")
    load_pull(single, tmp_path / "single.duckdb")
    search = set(truth["search_new"])
    truth["credits"] = {a: ids for a, ids in truth["credits"].items() if a in search}
    credited = {a for ids in truth["credits"].values() for a in ids}
    truth["artists"] = {a: f for a, f in truth["artists"].items() if a in credited}
    _assert_artists_are_the_truth(tmp_path / "single.duckdb", truth, "development")


async def test_the_documented_genre_and_popularity_queries_answer_from_the_truth(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    from collections import Counter

    from .test_load import readme_queries

    out, db = tmp_path / "out", tmp_path / "pull.duckdb"
    truth = await _pull(sandbox_factory, out, "extended", "none")
    load_pull(out, db)
    queries = readme_queries()
    results = [_query(db, sql) for sql in queries]
    assert all(results)
    genres, popular, share = (
        results[i] for i, sql in enumerate(queries) if "artist_genres" in sql or "popularity" in sql
    )
    raw = _raw_albums(out)
    by_album = Counter(
        g
        for album in raw.values()
        for g in {g for a in album["artists"] for g in truth["artists"][a["id"]]["genres"]}
    )
    assert genres == sorted(by_album.items(), key=lambda gn: (-gn[1], gn[0]))[:10]
    facts = truth["artists"]
    on_albums = {a["id"] for album in raw.values() for a in album["artists"]}
    best = sorted(on_albums, key=lambda a: (-facts[a]["popularity"], -facts[a]["followers"]))
    assert [(r[0], r[1], r[2]) for r in popular] == [
        (facts[a]["name"], facts[a]["popularity"], facts[a]["followers"]) for a in best[:10]
    ]
    assert {r[0] for r in share} == set(MARKETS)
