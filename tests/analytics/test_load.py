"""``spotify-etl load``: typed, keyed DuckDB tables holding exactly the committed records."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

import async_spotify_etl.analytics
from async_spotify_etl.analytics.load import TABLES, load_pull
from async_spotify_etl.cli import main
from async_spotify_etl.core.errors import ConfigurationError

from .conftest import MakePull
from .fakepull import FakePull


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_tables_hold_exactly_the_committed_records(
    make_pull: MakePull, tmp_path: Path, compress: bool
) -> None:
    pull = make_pull(compress=compress, tail=True)
    db = tmp_path / "pull.duckdb"

    result = load_pull(pull.out_dir, db)

    assert result.in_progress
    assert {r[0] for r in _rows(db, "SELECT album_id FROM albums")} == set(pull.albums)
    assert {r[0] for r in _rows(db, "SELECT track_id FROM tracks")} == set(pull.tracks)
    assert pull.uncommitted_album_ids
    assert pull.uncommitted_track_ids
    assert result.counts["albums"] == len(pull.albums)
    assert result.counts["tracks"] == len(pull.tracks)
    assert result.counts["errors"] == len(pull.errors) == 1
    assert {r[0] for r in _rows(db, "SELECT artist_id FROM artists")} == pull.artist_ids
    _check_links(db, pull)


def _check_links(db: Path, pull: FakePull) -> None:
    album_artists = _rows(
        db, "SELECT album_id, list(artist_id ORDER BY position) FROM album_artists GROUP BY 1"
    )
    assert dict(album_artists) == {
        album_id: [a["id"] for a in album["artists"]] for album_id, album in pull.albums.items()
    }
    track_artists = _rows(
        db, "SELECT track_id, list(artist_id ORDER BY position) FROM track_artists GROUP BY 1"
    )
    assert dict(track_artists) == {
        track_id: [a["id"] for a in track["artists"]] for track_id, track in pull.tracks.items()
    }
    assert max(len(ids) for ids in dict(album_artists).values()) > 1  # multi-artist albums
    markets = _rows(
        db, "SELECT album_id, list(market ORDER BY market) FROM album_markets GROUP BY 1"
    )
    assert dict(markets) == {
        album_id: sorted(album["_etl"]["markets"]) for album_id, album in pull.albums.items()
    }
    track_albums = _rows(db, "SELECT track_id, album_id FROM tracks")
    assert dict(track_albums) == {t["id"]: t["album_id"] for t in pull.tracks.values()}


def test_values_are_typed_and_normalised(make_pull: MakePull, tmp_path: Path) -> None:
    pull = make_pull()
    db = tmp_path / "pull.duckdb"
    load_pull(pull.out_dir, db)

    albums = {
        row[0]: row[1:]
        for row in _rows(
            db,
            "SELECT album_id, album_type, album_type_raw, release_date, release_date_precision,"
            " label, popularity, available_markets, upc, extracted_at FROM albums",
        )
    }
    for album_id, album in pull.albums.items():
        kind, raw, date, precision, label, popularity, available, upc, extracted = albums[album_id]
        assert (kind, raw) == (album["album_type"].lower(), album["album_type"])
        assert precision == album["release_date_precision"]
        assert date == _expected_date(album["release_date"])
        assert label == album.get("label")
        assert popularity == album.get("popularity")
        assert available == album.get("available_markets")
        assert upc == album["external_ids"]["upc"]
        assert extracted == dt.datetime.fromisoformat(album["_etl"]["extracted_at"])
    assert {row[0] for row in albums.values()} == {"album", "single", "ep", "compilation"}
    assert any(row[4] is None for row in albums.values())  # development-mode bodies

    tracks = _rows(db, "SELECT track_id, duration_ms, duration, explicit, track_number FROM tracks")
    for track_id, ms, duration, explicit, number in tracks:
        truth = pull.tracks[track_id]
        assert ms == truth["duration_ms"]
        assert duration == dt.timedelta(milliseconds=truth["duration_ms"])
        assert (explicit, number) == (truth["explicit"], truth["track_number"])


def _expected_date(text: str) -> dt.date:
    parts = [int(p) for p in text.split("-")] + [1, 1]
    return dt.date(parts[0], parts[1], parts[2])


def test_columns_have_types_and_tables_have_keys(make_pull: MakePull, tmp_path: Path) -> None:
    db = tmp_path / "pull.duckdb"
    load_pull(make_pull().out_dir, db)

    types = dict(
        _rows(db, "SELECT table_name || '.' || column_name, data_type FROM duckdb_columns()")
    )
    assert types["albums.release_date"] == "DATE"
    assert types["albums.extracted_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["tracks.duration"] == "INTERVAL"
    assert types["tracks.explicit"] == "BOOLEAN"
    assert types["artists.genres"] == "VARCHAR[]"
    assert types["artists.followers"] == "BIGINT"
    keys = _rows(
        db,
        "SELECT table_name, constraint_column_names FROM duckdb_constraints()"
        " WHERE constraint_type = 'PRIMARY KEY'",
    )
    assert dict(keys) == {
        "albums": ["album_id"],
        "tracks": ["track_id"],
        "artists": ["artist_id"],
        "artist_genres": ["artist_id", "genre"],
        "album_artists": ["album_id", "position"],
        "track_artists": ["track_id", "position"],
        "album_markets": ["album_id", "market"],
        "deezer_albums": ["album_id"],
        "deezer_tracks": ["track_id"],
        "deezer_artists": ["artist_id"],
        "musicbrainz_releases": ["album_id"],
        "album_genres": ["album_id", "source", "genre"],
    }


def test_loading_twice_gives_the_same_database(make_pull: MakePull, tmp_path: Path) -> None:
    db = tmp_path / "pull.duckdb"
    bigger = make_pull(n_albums=16, seed=1)
    load_pull(bigger.out_dir, db)  # a different pull first: the next loads must replace it
    pull = make_pull(compress=True)

    first = load_pull(pull.out_dir, db)
    snapshot = {t: _rows(db, f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}
    second = load_pull(pull.out_dir, db)

    assert first == second
    assert {t: _rows(db, f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES} == snapshot
    assert len(snapshot["albums"]) == len(pull.albums)


def test_without_a_journal_whole_files_are_read_less_a_cut_last_line(
    make_pull: MakePull, tmp_path: Path
) -> None:
    pull = make_pull(journal=False, tail=True)
    db = tmp_path / "pull.duckdb"

    result = load_pull(pull.out_dir, db)

    assert not result.in_progress
    assert {r[0] for r in _rows(db, "SELECT album_id FROM albums")} == set(pull.albums)
    assert {r[0] for r in _rows(db, "SELECT track_id FROM tracks")} == set(pull.tracks)
    assert not set(pull.uncommitted_track_ids) & set(pull.tracks)


def test_a_journal_with_only_its_plan_line_means_nothing_is_committed(
    make_pull: MakePull, tmp_path: Path
) -> None:
    pull = make_pull(journal=False, tail=False)
    (pull.out_dir / ".journal").write_bytes(b'{"plan": {"markets": ["US"]}}\n{"albums": 12')
    (pull.out_dir / "errors.ndjson").unlink()

    result = load_pull(pull.out_dir, tmp_path / "pull.duckdb")

    assert result.counts == dict.fromkeys(TABLES, 0)


def test_the_cli_loads_and_prints_a_summary(
    make_pull: MakePull, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pull = make_pull()
    db = tmp_path / "pull.duckdb"

    assert main(["load", "--duckdb", str(db), str(pull.out_dir)]) == 0

    out = capsys.readouterr().out
    assert f"{len(pull.albums)} albums, {len(pull.tracks)} tracks" in out
    assert str(db) in out
    assert "committed records only" in out  # the fixture leaves an uncommitted batch


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing-dir", "does not exist"),
        ("no-albums", "no albums.ndjson"),
        ("db-parent-missing", "does not exist"),
        ("db-is-dir", "is a directory"),
        ("db-not-duckdb", "cannot open"),
        ("both-compressions", "keep one of them"),
        ("corrupt-committed", "cannot load"),
        ("corrupt-journal", "corrupt"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    make_pull: MakePull,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    message: str,
) -> None:
    pull = make_pull(tail=False)
    out_dir, db = pull.out_dir, tmp_path / "pull.duckdb"
    if case == "missing-dir":
        out_dir = tmp_path / "nowhere"
    elif case == "no-albums":
        (out_dir / "albums.ndjson").unlink()
    elif case == "db-parent-missing":
        db = tmp_path / "no" / "pull.duckdb"
    elif case == "db-is-dir":
        db.mkdir()
    elif case == "db-not-duckdb":
        db.write_bytes(b"not a database\n" * 500)
    elif case == "both-compressions":
        (out_dir / "albums.ndjson.gz").write_bytes(b"")
    elif case == "corrupt-journal":
        journal = (out_dir / ".journal").read_bytes().split(b"\n")
        (out_dir / ".journal").write_bytes(b"\n".join([journal[0], b"{oops", *journal[1:]]))
    elif case == "corrupt-committed":
        (out_dir / ".journal").unlink()
        with (out_dir / "albums.ndjson").open("ab") as f:
            f.write(b'{"id": "x", "total_tracks": "many"\n')

    with pytest.raises(ConfigurationError, match=message):
        load_pull(out_dir, db)
    assert main(["load", "--duckdb", str(db), str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spotify-etl: error:")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(("command", "missing"), [("load", "duckdb"), ("report", "matplotlib")])
def test_without_the_analytics_extra_the_commands_say_what_to_install(
    make_pull: MakePull,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    missing: str,
) -> None:
    pull = make_pull()
    for module in ("load", "report", "charts"):  # forget them, so they are imported anew
        monkeypatch.delitem(sys.modules, f"async_spotify_etl.analytics.{module}", raising=False)
        monkeypatch.delattr(async_spotify_etl.analytics, module, raising=False)
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing` fail
    args = ["--duckdb", str(tmp_path / "x.duckdb")] if command == "load" else []

    assert main([command, *args, str(pull.out_dir)]) == 2

    err = capsys.readouterr().err
    assert missing in err
    assert "pip install 'async-spotify-etl[analytics]'" in err
    assert err.count("\n") == 1


def readme_queries() -> list[str]:
    """The SQL statements of docs/analytics.md, before "The report", in order."""
    readme = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
    section = readme.read_text(encoding="utf-8").split("# Loading into DuckDB", 1)[1]
    blocks = re.findall(r"```sql\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    return [sql.strip() for block in blocks for sql in block.split(";") if sql.strip()]


def test_readme_queries_run_and_keep_artists_who_share_a_name_apart(
    make_pull: MakePull, tmp_path: Path
) -> None:
    pull = make_pull(n_albums=24, artist_names=["Sigur Sólo", "Luna Núñez"])
    db = tmp_path / "pull.duckdb"
    load_pull(pull.out_dir, db)
    queries = readme_queries()

    results = [_rows(db, sql) for sql in queries]

    assert len(queries) == 7
    # This fake pull fetched no artist: the genre and popularity queries find nothing
    # (tests/analytics/test_load_sandbox.py runs them on a real pull).
    assert [bool(r) for r in results] == [True, True, True, False, False, False, True]
    releases = Counter(a["id"] for album in pull.albums.values() for a in album["artists"])
    names = {a["id"]: a["name"] for album in pull.albums.values() for a in album["artists"]}
    top = sorted(releases.items(), key=lambda item: (-item[1], names[item[0]], item[0]))[:10]
    assert len(top) > 2  # eight artists, two names
    assert sorted(results[0]) == sorted((i, names[i], n) for i, n in top)
