"""The enrichment files (Deezer, MusicBrainz) in DuckDB, PostgreSQL and Parquet, and the
report's popularity and genre charts of a development-mode pull built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson
import psycopg
import pyarrow.parquet as pq

from async_spotify_etl.analytics.load import load_pull
from async_spotify_etl.analytics.parquet import export_parquet
from async_spotify_etl.analytics.postgres import load_postgres
from async_spotify_etl.analytics.schema import ENRICH_STREAMS

from .conftest import MakePull
from .datasets import RUNS, make_dataset, run_id
from .enrichment import Enriched, write_enrichment
from .test_report_artists import cards, sandbox_pull

ENRICH_TABLES = ("deezer_albums", "deezer_tracks", "deezer_artists", "musicbrainz_releases")


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _assert_truth(db: Path, truth: Enriched) -> None:
    albums = {
        a: (fans, genres) if matched else None
        for a, matched, fans, genres in _query(
            db, "SELECT album_id, matched, fans, genres FROM deezer_albums"
        )
    }
    assert albums == truth.deezer_albums
    tracks = dict(_query(db, "SELECT track_id, rank FROM deezer_tracks"))
    assert tracks == truth.deezer_tracks
    artists = dict(_query(db, "SELECT artist_id, nb_fan FROM deezer_artists"))
    assert artists == truth.deezer_artists
    releases = {
        a: genres if matched else None
        for a, matched, genres in _query(
            db, "SELECT album_id, matched, genres FROM musicbrainz_releases"
        )
    }
    assert releases == truth.musicbrainz
    by_source: dict[str, set[tuple[str, str]]] = {}
    for album, source, genre in _query(db, "SELECT album_id, source, genre FROM album_genres"):
        by_source.setdefault(source, set()).add((album, genre))
    assert by_source.get("deezer", set()) == {
        (a, g) for a, hit in truth.deezer_albums.items() if hit for g in hit[1]
    }
    assert by_source.get("musicbrainz", set()) == {
        (a, g) for a, hit in truth.musicbrainz.items() if hit for g in hit
    }
    # Deezer's -1 "no genre" is NULL, not a genre.
    assert _query(db, "SELECT count(*) FROM deezer_albums WHERE genre_id = -1") == [(0,)]


def test_enrichment_files_load_to_their_truth(make_pull: MakePull, tmp_path: Path) -> None:
    pull = make_pull()
    truth = write_enrichment(pull.out_dir)
    db = tmp_path / "pull.duckdb"
    result = load_pull(pull.out_dir, db)
    _assert_truth(db, truth)
    assert result.counts["deezer_albums"] == len(truth.deezer_albums)
    # One popularity per album and artist, saying which: the fake pull's albums carry
    # Spotify's popularity except development-mode bodies; its artists none.
    rows = _query(db, "SELECT album_id, popularity_source, popularity FROM album_popularity")
    spotify = {a: r.get("popularity") for a, r in pull.albums.items()}
    for album_id, source, value in rows:
        if spotify[album_id] is not None:
            assert (source, value) == ("spotify", spotify[album_id])
        elif truth.deezer_albums[album_id] is not None:
            assert (source, value) == ("deezer", truth.deezer_albums[album_id][0])
        else:
            assert (source, value) == (None, None)
    assert {r[0] for r in rows} == set(pull.albums)
    artists = _query(
        db,
        "SELECT artist_id, popularity_source, popularity_measure, popularity"
        " FROM artist_popularity",
    )
    assert {a: (s, m, v) for a, s, m, v in artists} == {
        a: ("deezer", "nb_fan", fans) if fans is not None else (None, None, None)
        for a, fans in truth.deezer_artists.items()
    }
    tracks = _query(db, "SELECT track_id, popularity_source, popularity FROM track_popularity")
    assert {t: v for t, s, v in tracks if s == "deezer"} == {
        t: r for t, r in truth.deezer_tracks.items() if r is not None
    }


def test_a_pull_without_enrichment_files_has_empty_tables(
    make_pull: MakePull, tmp_path: Path
) -> None:
    pull = make_pull()
    db = tmp_path / "pull.duckdb"
    result = load_pull(pull.out_dir, db)
    for table in (*ENRICH_TABLES, "album_genres"):
        assert result.counts[table] == 0
    assert _query(db, "SELECT count(*) FROM album_popularity") == [(len(pull.albums),)]
    # Loading again after the enrichment files appear fills them.
    truth = write_enrichment(pull.out_dir)
    load_pull(pull.out_dir, db)
    _assert_truth(db, truth)


def test_enrichment_lines_past_the_last_commit_are_not_read(
    make_pull: MakePull, tmp_path: Path
) -> None:
    pull = make_pull()
    truth = write_enrichment(pull.out_dir)
    with (pull.out_dir / "deezer_albums.ndjson").open("ab") as f:  # a batch being written
        f.write(b'{"album_id": "uncommitted", "upc": null, "deezer": null, "_etl"')
    db = tmp_path / "pull.duckdb"
    load_pull(pull.out_dir, db)
    _assert_truth(db, truth)
    assert set(ENRICH_STREAMS) == set(ENRICH_TABLES)


def _pg_rows(url: str, schema: str, table: str, columns: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as con:
        return sorted(con.execute(f"SELECT {columns} FROM {schema}.{table}").fetchall(), key=repr)


def _duck_rows(db: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    return sorted(_query(db, f"SELECT {columns} FROM {table}"), key=repr)


_COMPARED = {
    "deezer_albums": "album_id, upc, matched, deezer_id, fans, genre_id, genres, record_type,"
    " release_date, nb_tracks, label, lookup, extracted_at",
    "deezer_tracks": "track_id, album_id, isrc, matched, deezer_id, rank, duration",
    "deezer_artists": "artist_id, matched, deezer_id, name, nb_fan, nb_album, fetched_at",
    "musicbrainz_releases": "album_id, matched, release_id, score, release_group_id,"
    " primary_type, genres, tags",
    "album_genres": "album_id, source, genre",
    "album_popularity": "album_id, popularity_source, popularity_measure, popularity",
    "artist_popularity": "artist_id, popularity_source, popularity_measure, popularity",
    "track_popularity": "track_id, popularity_source, popularity",
}


def test_duckdb_postgres_and_parquet_agree_on_enrichment(
    make_pull: MakePull, tmp_path: Path, pg_url: str
) -> None:
    pull = make_pull()
    write_enrichment(pull.out_dir)
    db = tmp_path / "pull.duckdb"
    load_pull(pull.out_dir, db)
    load_postgres(pull.out_dir, pg_url, "enriched")
    lake = tmp_path / "lake"
    export_parquet(pull.out_dir, lake)
    for table, columns in _COMPARED.items():
        duck = _duck_rows(db, table, columns)
        assert duck, table
        assert _pg_rows(pg_url, "enriched", table, columns) == duck, table
        if table.endswith("_popularity"):
            continue  # views: queries over the exported tables
        with duckdb.connect() as con:
            names = columns.replace(" ", "")
            parquet = con.execute(
                f"SELECT {names} FROM read_parquet('{lake / table}/*.parquet')"
            ).fetchall()
        assert sorted(parquet, key=repr) == duck, table
        assert pq.read_table(lake / table).num_rows == len(duck)
    # A second merge of a later enrichment (more fans) updates, never duplicates.
    write_enrichment(pull.out_dir, minute=30, fan_scale=2)
    load_pull(pull.out_dir, db)
    load_postgres(pull.out_dir, pg_url, "enriched")
    for table, columns in _COMPARED.items():
        assert _pg_rows(pg_url, "enriched", table, columns) == _duck_rows(db, table, columns)


async def test_a_development_pull_with_enrichment_charts_popularity_and_genres(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    await sandbox_pull(sandbox_factory, tmp_path, "development", "auto")
    before = cards(tmp_path)
    assert "<svg>" not in before["popular-artists"]
    assert "<svg>" not in before["top-genres-albums"]
    truth = write_enrichment(tmp_path)
    shown = cards(tmp_path)
    assert "<svg>" in shown["popular-artists"]
    assert "Source: Deezer fans" in shown["popular-artists"]
    db = tmp_path / "pull.duckdb"
    load_pull(tmp_path, db)
    top = max((f, a) for a, f in truth.deezer_artists.items() if f is not None)[1]
    [(name,)] = _query(db, f"SELECT name FROM artists WHERE artist_id = '{top}'")
    assert name.replace("&", "&amp;") in shown["popular-artists"]
    for key in ("top-genres-albums", "top-genres-tracks", "genre-share-by-market"):
        assert "<svg>" in shown[key], key
        assert "Source: Deezer" in shown[key], key
    genres = {g for hit in truth.deezer_albums.values() if hit for g in hit[1]}
    assert any(g.replace("&", "&amp;") in shown["top-genres-albums"] for g in genres)


async def test_a_dataset_keeps_each_runs_deezer_fans_and_the_latest_match(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=0)
    truths = []
    for k in range(RUNS):
        await dataset.run(k)
        truths.append(write_enrichment(dataset.folder(k), minute=k, fan_scale=k + 1))
    db = tmp_path / "ds.duckdb"
    load_pull(dataset.root, db)
    snapshots = _query(db, "SELECT run_id, artist_id, nb_fan FROM deezer_artist_snapshots")
    assert {(r, a): f for r, a, f in snapshots} == {
        (run_id(k), a): f for k, truth in enumerate(truths) for a, f in truth.deezer_artists.items()
    }
    latest: dict[str, int | None] = {}
    albums: dict[str, tuple[int, list[str]] | None] = {}
    for truth in truths:  # a later run's look-up wins
        latest |= truth.deezer_artists
        albums |= truth.deezer_albums
    assert dict(_query(db, "SELECT artist_id, nb_fan FROM deezer_artists")) == latest
    rows = _query(db, "SELECT album_id, matched, fans FROM deezer_albums")
    assert {a: fans if matched else None for a, matched, fans in rows} == {
        a: hit[0] if hit else None for a, hit in albums.items()
    }
    # Loading again after the last run reads nothing new and changes nothing.
    before = _query(db, "SELECT * FROM deezer_artist_snapshots ORDER BY ALL")
    load_pull(dataset.root, db)
    assert _query(db, "SELECT * FROM deezer_artist_snapshots ORDER BY ALL") == before


def test_a_failed_enrichment_step_loads_as_an_error_with_its_time(
    make_pull: MakePull, tmp_path: Path
) -> None:
    pull = make_pull(tail=False, journal=False)
    album_id = next(iter(pull.albums))
    failure = {
        "album_id": album_id,
        "stage": "deezer",
        "error": "TransportError",
        "message": "reset",
        "transient": True,
        "failed_at": "2026-11-25T05:10:00Z",
    }
    with (pull.out_dir / "errors.ndjson").open("ab") as f:
        f.write(orjson.dumps(failure) + b"\n")
    db = tmp_path / "pull.duckdb"
    load_pull(pull.out_dir, db)
    rows = _query(
        db, "SELECT stage, strftime(failed_at, '%Y-%m-%dT%H:%M') FROM errors WHERE stage = 'deezer'"
    )
    assert rows == [("deezer", "2026-11-25T05:10")]


async def test_a_dataset_with_enrichment_merged_after_each_run_equals_one_load_of_all(
    sandbox_factory: Any, tmp_path: Path, pg_url: str
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=0)
    for k in range(RUNS):
        await dataset.run(k)
        write_enrichment(dataset.folder(k), minute=k, fan_scale=k + 1)
        load_postgres(dataset.root, pg_url, "stepwise")
    load_postgres(dataset.root, pg_url, "whole")
    db = tmp_path / "ds.duckdb"
    load_pull(dataset.root, db)
    compared = {**_COMPARED, "deezer_artist_snapshots": "run_id, artist_id, nb_fan, fetched_at"}
    for table, columns in compared.items():
        duck = _duck_rows(db, table, columns)
        assert duck, table
        assert _pg_rows(pg_url, "stepwise", table, columns) == duck, table
        assert _pg_rows(pg_url, "whole", table, columns) == duck, table


async def test_a_dataset_without_spotify_artists_trends_deezer_genres_and_fans(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=0)
    for k in range(RUNS):
        await dataset.run(k)
        for name in ("artists.ndjson", "artists.ndjson.gz"):  # as development mode skips them
            (dataset.folder(k) / name).unlink(missing_ok=True)
        write_enrichment(dataset.folder(k), minute=k, fan_scale=k + 1)
    shown = cards(dataset.root)
    assert "<svg>" in shown["genre-share-over-time"]
    assert "source: Deezer" in shown["genre-share-over-time"]
    assert "<svg>" in shown["follower-growth"]
    assert "Source: Deezer fans" in shown["follower-growth"]
    assert "<svg>" in shown["popular-artists"]
    assert "Source: Deezer fans" in shown["popular-artists"]
