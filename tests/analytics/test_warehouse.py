"""``load --postgres`` against a real throwaway PostgreSQL server, and ``export --parquet``."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson
import psycopg
import pyarrow.parquet as pq
import pytest

from async_spotify_etl.analytics.load import TABLES, load_into, load_pull
from async_spotify_etl.analytics.origin import LAKE_RECORD
from async_spotify_etl.analytics.parquet import export_parquet, export_tables
from async_spotify_etl.analytics.postgres import SCHEMA_VERSION, load_postgres, redact
from async_spotify_etl.analytics.schema import describe
from async_spotify_etl.cli import main
from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.run.pull import run_pull
from tests.postgres import PASSWORD

from .conftest import MakePull

MARKETS = ("US", "GB")


def _pg(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as con:
        return con.execute(sql, params or None).fetchall()


def _snapshot(url: str, schema: str = "spotify") -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, with its xmin (which changes when a row is rewritten)."""
    with psycopg.connect(url) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema]
            ).fetchall()
        ]
        return {
            t: sorted(
                map(tuple, con.execute(f'SELECT xmin::text, * FROM {schema}."{t}"').fetchall()),
                key=repr,
            )
            for t in tables
        }


def _duck_rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def _pg_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    return sorted(map(tuple, _pg(url, f"SELECT * FROM spotify.{table}")), key=repr)


async def test_a_sandbox_pull_loads_to_the_truth_and_a_reload_changes_nothing(
    sandbox_factory: Any, tmp_path: Path, pg_url: str
) -> None:
    sandbox = await sandbox_factory(seed=11, markets=MARKETS, albums_per_market=40)
    out = tmp_path / "out"
    settings = PullSettings(
        out=out,
        markets=MARKETS,
        client=ClientSettings(
            api_url=sandbox.api_url, token_url=sandbox.token_url, rate=1000.0, concurrency=8
        ),
    )
    assert (await run_pull(settings, sandbox.credentials)).status == "complete"
    truth = sandbox.truth()

    result = load_postgres(out, pg_url)

    assert result.counts["albums"] == len(truth["albums"])
    tracks = _pg(
        pg_url,
        "SELECT album_id, array_agg(track_id ORDER BY disc_number, track_number)"
        " FROM spotify.tracks GROUP BY 1",
    )
    assert dict(tracks) == truth["albums"]
    for market in MARKETS:
        listed = _pg(
            pg_url, f"SELECT album_id FROM spotify.album_markets WHERE market = '{market}'"
        )
        assert {r[0] for r in listed} == set(truth["markets"][market])
    db = tmp_path / "pull.duckdb"
    load_pull(out, db)
    for table in TABLES:  # every value equal to the DuckDB load, typed alike
        assert _pg_rows(pg_url, table) == _duck_rows(db, table), table
    before = _snapshot(pg_url)
    load_postgres(out, pg_url)
    assert _snapshot(pg_url) == before  # no row added, none even rewritten


def test_columns_are_typed_and_tables_keyed(make_pull: MakePull, pg_url: str) -> None:
    load_postgres(make_pull().out_dir, pg_url)
    types = dict(
        _pg(
            pg_url,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'spotify'",
        )
    )
    assert types["albums.release_date"] == "date"
    assert types["albums.total_tracks"] == "integer"
    assert types["albums.markets"] == "ARRAY"
    assert types["albums.extracted_at"] == "timestamp with time zone"
    assert types["tracks.explicit"] == "boolean"
    assert types["tracks.duration_ms"] == "bigint"
    keys = dict(
        _pg(
            pg_url,
            "SELECT conrelid::regclass::text || ':' || contype::text, count(*) FROM pg_constraint"
            " WHERE connamespace = 'spotify'::regnamespace GROUP BY 1",
        )
    )
    for table in ("albums", "tracks", "artists", "album_artists", "track_artists"):
        assert keys[f"spotify.{table}:p"] == 1
    assert keys["spotify.album_artists:f"] == 2
    assert keys["spotify.tracks:f"] == 1
    indexes = {r[0] for r in _pg(pg_url, "SELECT indexname FROM pg_indexes")}
    assert {"tracks_album_id_idx", "album_artists_artist_id_idx"} <= indexes


def test_a_later_pull_merges_records_once(make_pull: MakePull, pg_url: str) -> None:
    first, second = make_pull(seed=1, tail=False), make_pull(seed=2, tail=False)
    load_postgres(first.out_dir, pg_url)
    load_postgres(second.out_dir, pg_url)
    load_postgres(first.out_dir, pg_url)
    albums = [r[0] for r in _pg(pg_url, "SELECT album_id FROM spotify.albums")]
    assert sorted(albums) == sorted({*first.albums, *second.albums})
    tracks = [r[0] for r in _pg(pg_url, "SELECT track_id FROM spotify.tracks")]
    assert sorted(tracks) == sorted({*first.tracks, *second.tracks})
    errors = _pg(pg_url, "SELECT count(*) FROM spotify.errors")[0][0]
    assert errors == len(first.errors) + len(second.errors)


def test_a_parent_sent_again_replaces_its_links(make_pull: MakePull, pg_url: str) -> None:
    pull = make_pull(journal=False, tail=False)
    load_postgres(pull.out_dir, pg_url)
    path = pull.out_dir / "albums.ndjson"
    albums = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    changed = next(a for a in albums if len(a["artists"]) > 1)
    changed["artists"] = changed["artists"][1:]
    path.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in albums))

    load_postgres(pull.out_dir, pg_url)

    credits = _pg(
        pg_url,
        "SELECT position, artist_id FROM spotify.album_artists WHERE album_id = %s"
        " ORDER BY position",
        changed["id"],
    )
    assert credits == [(n + 1, a["id"]) for n, a in enumerate(changed["artists"])]
    total = _pg(pg_url, "SELECT count(*) FROM spotify.album_artists")[0][0]
    assert total == sum(len(a["artists"]) for a in albums)


def test_a_killed_load_leaves_the_previous_state(
    make_pull: MakePull, pg_url: str, tmp_path: Path
) -> None:
    small, big = make_pull(seed=3, tail=False), make_pull(seed=4, n_albums=3000, tail=False)
    load_postgres(small.out_dir, pg_url)
    before = _snapshot(pg_url)
    env = {**os.environ, "DATABASE_URL": pg_url}
    cmd = [sys.executable, "-m", "async_spotify_etl", "load", "--postgres", str(big.out_dir)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not _pg(pg_url, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY%'"):
        assert proc.poll() is None  # still loading
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _snapshot(pg_url) == before


def test_a_lost_connection_is_one_line_and_leaves_the_previous_state(
    make_pull: MakePull, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    small, big = make_pull(seed=3, tail=False), make_pull(seed=4, n_albums=3000, tail=False)
    load_postgres(small.out_dir, pg_url)
    before = _snapshot(pg_url)
    import threading

    def terminate() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = _pg(
                pg_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY%'"
                " AND pid <> pg_backend_pid()",
            )
            if done:
                return
            time.sleep(0.005)

    killer = threading.Thread(target=terminate)
    killer.start()
    code = main(["load", "--postgres", pg_url, str(big.out_dir)])
    killer.join()
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("spotify-etl: error: cannot load into PostgreSQL")
    assert err.count("\n") == 1
    assert PASSWORD not in err
    assert _snapshot(pg_url) == before


def test_a_newer_schema_is_refused_and_an_older_one_migrated(
    make_pull: MakePull, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pull = make_pull()
    load_postgres(pull.out_dir, pg_url)
    with psycopg.connect(pg_url) as con:
        con.execute("UPDATE spotify.schema_version SET version = %s", [SCHEMA_VERSION + 1])
    before = _snapshot(pg_url)
    assert main(["load", "--postgres", pg_url, str(pull.out_dir)]) == 2
    err = capsys.readouterr().err
    assert "newer than this tool's" in err
    assert err.count("\n") == 1
    assert _snapshot(pg_url) == before

    with psycopg.connect(pg_url) as con:  # an older schema: a column and an index missing
        con.execute("UPDATE spotify.schema_version SET version = %s", [SCHEMA_VERSION - 1])
        for view in ("album_popularity", "artist_popularity", "track_popularity"):
            con.execute(f"DROP VIEW spotify.{view}")  # version 2 had no popularity views
        con.execute("DROP TABLE spotify.album_genres")  # nor the enrichment tables
        con.execute("ALTER TABLE spotify.albums DROP COLUMN popularity")
        con.execute("DROP INDEX spotify.tracks_album_id_idx")
    assert main(["load", "--postgres", pg_url, str(pull.out_dir)]) == 0
    assert _pg(pg_url, "SELECT version FROM spotify.schema_version") == [(SCHEMA_VERSION,)]
    popular = _pg(pg_url, "SELECT count(popularity) FROM spotify.albums")[0][0]
    assert popular == sum(1 for a in pull.albums.values() if a.get("popularity") is not None)
    assert _pg(pg_url, "SELECT 1 FROM pg_indexes WHERE indexname = 'tracks_album_id_idx'")


def test_three_first_loads_into_a_new_schema_at_once_all_succeed(
    make_pull: MakePull, pg_url: str
) -> None:
    """#23.11: the loader's lock is taken before the schema is created. The test holds that
    lock until all three loads wait, so they meet at CREATE SCHEMA every time."""
    import threading

    pulls = [make_pull(seed=n, tail=False) for n in (1, 2, 3)]
    failures: list[BaseException] = []

    def load(out_dir: Path) -> None:
        try:
            load_postgres(out_dir, pg_url, schema="fresh")
        except BaseException as exc:
            failures.append(exc)

    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext('spotify-etl:fresh'))")
        threads = [threading.Thread(target=load, args=(p.out_dir,)) for p in pulls]
        for thread in threads:
            thread.start()
        waiting = 0
        for _ in range(2000):  # until all three wait on a lock (bounded, no timing)
            row = holder.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid()"
            ).fetchone()
            waiting = row[0] if row else 0
            if waiting == 3 or failures:
                break
            time.sleep(0.01)
        holder.execute("SELECT pg_advisory_unlock(hashtext('spotify-etl:fresh'))")
        for thread in threads:
            thread.join()
    assert failures == []
    assert waiting == 3
    albums = {r[0] for r in _pg(pg_url, "SELECT album_id FROM fresh.albums")}
    assert albums == {a for p in pulls for a in p.albums}


def test_the_password_never_appears(
    make_pull: MakePull,
    pg_url: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    pull = make_pull()
    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert main(["load", "--postgres", "--schema", "other", str(pull.out_dir)]) == 0
    wrong = pg_url.replace("/warehouse", "/nowhere")
    assert main(["load", "--postgres", wrong, str(pull.out_dir)]) == 2
    bad_password = pg_url.replace(PASSWORD, PASSWORD + "x")
    assert main(["load", "--postgres", bad_password, str(pull.out_dir)]) == 2
    captured = capsys.readouterr()
    assert "merged" in captured.out
    assert "nowhere" in captured.err
    for text in (captured.out, captured.err, caplog.text):
        assert PASSWORD not in text
    assert _pg(pg_url, "SELECT count(*) FROM other.albums")[0][0] == len(pull.albums)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql://etl:SECRET PW@127.0.0.1:1/db", ("SECRET", "PW")),
        ("postgresql://etl:S3CR%ZZ@127.0.0.1:1/db", ("S3CR", "ZZ")),
        ("postgresql://etl@127.0.0.1:1/db?password=S3CR%ZZ", ("S3CR", "ZZ")),
        ("host=127.0.0.1 port=1 user=etl password=SECRET PW dbname=db", ("SECRET", "PW")),
    ],
)
@pytest.mark.parametrize("from_env", [False, True])
def test_no_message_holds_any_part_of_a_password_libpq_cannot_parse(
    make_pull: MakePull,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    words: tuple[str, ...],
    from_env: bool,
) -> None:
    """#24.3: libpq repeats the token it could not parse; the password never reaches a line."""
    caplog.set_level(logging.DEBUG)
    pull = make_pull()
    if from_env:
        monkeypatch.setenv("DATABASE_URL", url)
        args = ["load", "--postgres", str(pull.out_dir)]
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        args = ["load", "--postgres", url, str(pull.out_dir)]
    for fmt in ("text", "json"):
        assert main([*args, "--log-format", fmt]) == 2
        captured = capsys.readouterr()
        assert "cannot load into PostgreSQL" in captured.err
        assert captured.err.count("\n") == 1
        for text in (captured.out, captured.err, caplog.text):
            assert not [word for word in words if word in text]
    with pytest.raises(ConfigurationError) as raised:  # the library's error says as little
        load_postgres(pull.out_dir, url)
    assert not [word for word in words if word in str(raised.value)]


def test_redact_hides_passwords_in_both_forms() -> None:
    assert redact("postgresql://u:p%40ss@h:5/d") == "postgresql://u:***@h:5/d"
    assert redact("host=h password='a b' user=u") == "host=h password=*** user=u"
    assert redact("postgresql://u@h/d") == "postgresql://u@h/d"


def test_bad_arguments_are_one_line(
    make_pull: MakePull, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    pull = make_pull()
    assert main(["load", "--postgres", str(pull.out_dir)]) == 2
    assert "needs a URL or $DATABASE_URL" in capsys.readouterr().err
    url = "postgresql://u@127.0.0.1:1/d"
    assert main(["load", "--postgres", url, "--schema", "Bad;", str(pull.out_dir)]) == 2
    assert "is not a schema name" in capsys.readouterr().err


# ------------------------------------------------------------------------------- Parquet


def test_parquet_reads_back_equal_to_the_duckdb_load(make_pull: MakePull, tmp_path: Path) -> None:
    pull = make_pull()
    db, lake = tmp_path / "pull.duckdb", tmp_path / "lake"
    load_pull(pull.out_dir, db)
    export_parquet(pull.out_dir, lake)
    assert main(["export", "--parquet", str(lake), str(pull.out_dir)]) == 0  # replaces
    assert sorted(p.name for p in lake.iterdir()) == sorted([*TABLES, LAKE_RECORD])
    with duckdb.connect(str(db), read_only=True) as con:
        for table in TABLES:
            # INTERVAL columns become seconds: Spark and pyarrow read no Parquet INTERVAL.
            columns = ", ".join(
                f"epoch({name}) AS {name}" if kind == "INTERVAL" else name
                for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()
            )
            expected = con.sql(f"SELECT {columns} FROM {table}").to_arrow_table()
            read = pq.read_table(lake / table)
            assert read.num_rows == expected.num_rows, table
            assert (
                read.sort_by(expected.column_names[0]).to_pylist()
                == expected.sort_by(expected.column_names[0]).to_pylist()
            ), table
            again = duckdb.execute(
                f"SELECT count(*) FROM read_parquet('{lake / table}/*.parquet')"
            ).fetchone()
            assert again == (expected.num_rows,)


def test_time_stamped_tables_get_run_date_partitions(tmp_path: Path, make_pull: MakePull) -> None:
    con = duckdb.connect()
    load_into(con, make_pull().out_dir)
    con.execute(
        "CREATE TABLE listings (run_id VARCHAR, run_started_at TIMESTAMPTZ, position INTEGER,"
        " PRIMARY KEY (run_id, position))"
    )
    con.execute(
        "INSERT INTO listings VALUES ('a', '2026-12-01 23:00:00+00', 1),"
        " ('a', '2026-12-01 23:00:00+00', 2), ('b', '2026-12-02 06:00:00+00', 1)"
    )
    lake = tmp_path / "lake"
    for _ in range(2):
        result = export_tables(con, lake)
    assert result.partitioned == ("listings",)
    folders = sorted(p.name for p in (lake / "listings").iterdir())
    assert folders == ["run_date=2026-12-01", "run_date=2026-12-02"]
    read = pq.read_table(lake / "listings")
    assert read.num_rows == 3
    by_date = duckdb.execute(
        f"SELECT run_date::VARCHAR, count(*) FROM read_parquet('{lake}/listings/**/*.parquet',"
        " hive_partitioning = true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert by_date == [("2026-12-01", 2), ("2026-12-02", 1)]
    assert [t.name for t in describe(con)][:1] == ["albums"]
