"""The dlt sources against real destinations (dlt's duckdb, postgres and filesystem) and
the real sandbox: what they load equals what the sandbox holds and what our own pull and
load write, a second run fetches only new albums, a budget stop or a SIGKILL loses and
duplicates nothing."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from async_spotify_etl import ClientSettings, PullSettings, read_committed, run_pull
from async_spotify_etl.integrations.dlt import TABLES, spotify_dataset, spotify_releases
from async_spotify_etl.run.dataset import run_dataset
from async_spotify_etl.sandbox import Sandbox
from tests.conftest import SandboxFactory
from tests.postgres import PASSWORD, Server

MARKETS = ("US", "GB")
ALBUMS = 40  # per market: small pulls, still several pages and batches
ENTITIES = ("albums", "tracks", "artists", "album_artists", "track_artists")


def client(sandbox: Sandbox, **changes: Any) -> ClientSettings:
    fields: dict[str, Any] = {"rate": 2000, "concurrency": 8, **changes}
    return ClientSettings(api_url=sandbox.api_url, token_url=sandbox.token_url, **fields)


def pipeline(tmp: Path, destination: Any, pipelines: str = "pipelines") -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name="spotify",
        destination=destination,
        dataset_name="spotify",
        pipelines_dir=str(tmp / pipelines),
    )


async def run(p: dlt.Pipeline, source: Any, **kwargs: Any) -> Any:
    """``pipeline.run`` in a thread: the sandbox serves on this test's loop meanwhile."""
    return await asyncio.to_thread(p.run, source, **kwargs)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def ids(db: Path, table: str, column: str) -> list[str]:
    return sorted(r[0] for r in rows(db, f"SELECT {column} FROM spotify.{table}"))


async def truth_pull(sandbox: Sandbox, out: Path) -> dict[str, list[str]]:
    """Our own pull of the same sandbox: album, track and artist ids it committed."""
    await run_pull(
        PullSettings(out=out, markets=MARKETS, client=client(sandbox)), sandbox.credentials
    )
    return {
        "albums": sorted(a["id"] for a in read_committed(out, "albums")),
        "tracks": sorted(t["id"] for t in read_committed(out, "tracks")),
        "artists": sorted(a["id"] for a in read_committed(out, "artists")),
    }


def requests(sandbox: Sandbox) -> dict[str, int]:
    """API requests the sandbox answered, by route (the token's left out)."""
    counted = sandbox.stats()["requests"]
    return {route: sum(c.values()) for route, c in counted.items() if route != "token"}


def listed(sandbox: Sandbox) -> list[tuple[str, int, str]]:
    truth = sandbox.truth()["markets"]
    return sorted((m, n, a) for m in MARKETS for n, a in enumerate(truth[m], 1))


def test_the_dlt_package_exports_its_sources() -> None:
    import async_spotify_etl.integrations.dlt as package

    assert package.__all__ == ["TABLES", "spotify_dataset", "spotify_releases"]


async def test_releases_into_duckdb_equal_the_sandbox_and_our_pull(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await sandbox_factory(albums_per_market=ALBUMS)
    db = tmp_path / "releases.duckdb"
    source = spotify_releases(
        markets=MARKETS, client=client(sandbox), credentials=sandbox.credentials
    )
    assert sorted(source.resources.selected) == sorted(TABLES)
    info = await run(pipeline(tmp_path, dlt.destinations.duckdb(str(db))), source)
    assert not info.has_failed_jobs
    truth = await truth_pull(sandbox, tmp_path / "pull")
    assert ids(db, "albums", "album_id") == truth["albums"]
    assert ids(db, "tracks", "track_id") == truth["tracks"]
    assert ids(db, "artists", "artist_id") == truth["artists"]
    assert sorted(rows(db, "SELECT market, position, album_id FROM spotify.listings")) == listed(
        sandbox
    )
    assert rows(db, "SELECT event, count(*) FROM spotify.events GROUP BY ALL") == [
        ("listed", len(listed(sandbox)))
    ]
    tracks_per_album = rows(
        db,
        "SELECT count(*) FROM spotify.albums a JOIN (SELECT album_id, count(*) AS n"
        " FROM spotify.tracks GROUP BY ALL) t USING (album_id) WHERE t.n = a.total_tracks",
    )
    assert tracks_per_album == [(len(truth["albums"]),)]
    ((status, albums, requests_run),) = rows(
        db, "SELECT status, albums, requests FROM spotify.runs"
    )
    assert (status, albums) == ("complete", len(truth["albums"]))
    assert requests_run == sum(requests(sandbox).values()) // 2  # our pull asked as many again
    with duckdb.connect(str(db), read_only=True) as con:  # keys declared, lists as JSON
        kinds = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'spotify' AND table_name = 'albums'"
            ).fetchall()
        )
    assert kinds["release_date"] == "DATE"
    assert kinds["markets"] == "JSON"
    schema = dlt.Schema.from_dict(pipeline(tmp_path, "duckdb").default_schema.to_dict())
    assert schema.tables["albums"]["write_disposition"] == "merge"
    assert schema.tables["listings"]["write_disposition"] == "append"
    assert schema.tables["albums"]["columns"]["album_id"].get("primary_key") is True


async def test_a_second_run_fetches_only_new_albums_as_pull_dataset_does(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Day 1's lists moved: the second pipeline run (on a new machine: its state comes back
    from the destination) asks for the listing and the new albums only, request for request
    what ``pull --dataset`` asks for the same two days."""
    db = tmp_path / "releases.duckdb"
    days = [await sandbox_factory(albums_per_market=ALBUMS, day=d) for d in (0, 1)]
    for n, sandbox in enumerate(days):
        source = spotify_releases(
            markets=MARKETS, client=client(sandbox), credentials=sandbox.credentials
        )
        await run(pipeline(tmp_path, dlt.destinations.duckdb(str(db)), f"machine-{n}"), source)
    ours = [await sandbox_factory(albums_per_market=ALBUMS, day=d) for d in (0, 1)]
    for sandbox in ours:
        settings = PullSettings(out=tmp_path / "dataset", markets=MARKETS, client=client(sandbox))
        await run_dataset(settings, sandbox.credentials)

    assert requests(days[1]) == requests(ours[1])
    first = {a for m in MARKETS for a in days[0].truth()["markets"][m]}
    second = {a for m in MARKETS for a in days[1].truth()["markets"][m]}
    new = second - first
    assert new, "the sandbox's lists should move from day to day"
    assert requests(days[1])["several-albums"] == math.ceil(len(new) / 20)
    assert set(ids(db, "albums", "album_id")) == first | second
    assert rows(db, "SELECT count(*), count(DISTINCT album_id) FROM spotify.albums") == [
        (len(first | second),) * 2
    ]
    run_ids = rows(db, "SELECT run_id, albums FROM spotify.runs ORDER BY run_id")
    assert [n for _, n in run_ids] == [len(first), len(new)]
    delisted = rows(
        db,
        f"SELECT count(*) FROM spotify.events WHERE run_id = '{run_ids[1][0]}'"
        " AND event = 'delisted'",
    )
    left = sum(
        len(set(days[0].truth()["markets"][m]) - set(days[1].truth()["markets"][m]))
        for m in MARKETS
    )
    assert delisted == [(left,)]


async def test_changing_the_markets_writes_no_false_events(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """As a dataset's events: a market not pulled this run has none, and one that comes
    back is compared with its own last observation, not with nothing."""
    db = tmp_path / "releases.duckdb"
    sandbox = await sandbox_factory(albums_per_market=ALBUMS)
    for markets in (MARKETS, MARKETS[:1], MARKETS):
        source = spotify_releases(
            markets=markets, client=client(sandbox), credentials=sandbox.credentials
        )
        await run(pipeline(tmp_path, dlt.destinations.duckdb(str(db))), source)
    runs = [r for (r,) in rows(db, "SELECT run_id FROM spotify.runs ORDER BY run_id")]
    assert len(runs) == 3
    events = rows(db, "SELECT run_id, market, event FROM spotify.events ORDER BY run_id")
    # the same day's lists throughout: only the first run's "listed" events, per market
    assert {(r, m, e) for r, m, e in events} == {(runs[0], m, "listed") for m in MARKETS}


async def test_a_budget_stop_leaves_state_and_the_next_run_finishes_the_set(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await sandbox_factory(albums_per_market=ALBUMS)
    db = tmp_path / "releases.duckdb"
    p = pipeline(tmp_path, dlt.destinations.duckdb(str(db)))
    budget = client(sandbox, budget=4, concurrency=1)
    await run(p, spotify_releases(markets=MARKETS, client=budget, credentials=sandbox.credentials))
    state = p.state["sources"]["spotify"]
    assert state["pending"]["listing"], "the stopped run's listing is kept to replay"
    assert rows(db, "SELECT status FROM spotify.runs") == [("stopped",)]
    partial = len(ids(db, "albums", "album_id"))
    before = requests(sandbox)
    await run(
        p,
        spotify_releases(markets=MARKETS, client=client(sandbox), credentials=sandbox.credentials),
    )
    again = {k: v - before.get(k, 0) for k, v in requests(sandbox).items()}
    assert again.get("new-releases", 0) == 0, "the continuation replays the listing"
    truth = await truth_pull(sandbox, tmp_path / "pull")
    assert ids(db, "albums", "album_id") == truth["albums"]
    assert partial < len(truth["albums"])
    assert ids(db, "tracks", "track_id") == truth["tracks"]
    assert sorted(rows(db, "SELECT market, position, album_id FROM spotify.listings")) == listed(
        sandbox
    )
    assert rows(db, "SELECT status FROM spotify.runs") == [("complete",)]
    assert "pending" not in p.state["sources"]["spotify"]


KILLED = """
import sys, dlt
from async_spotify_etl import ClientSettings
from async_spotify_etl.integrations.dlt import spotify_releases
api, token, pipelines, db = sys.argv[1:]
client = ClientSettings(api_url=api, token_url=token, rate=2000, concurrency=2)
p = dlt.pipeline(pipeline_name="spotify", destination=dlt.destinations.duckdb(db),
                 dataset_name="spotify", pipelines_dir=pipelines)
p.run(spotify_releases(markets=["US", "GB"], client=client))
"""


async def test_a_run_killed_mid_extract_and_run_again_loses_and_duplicates_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """SIGKILL while the pull is half done; the same command again loads exactly the set.
    The credentials come from dlt's own config here (SOURCES__SPOTIFY__...)."""
    sandbox = await sandbox_factory(albums_per_market=ALBUMS, latency=0.01)
    db = tmp_path / "releases.duckdb"
    creds = sandbox.credentials
    env = {
        **os.environ,
        "SOURCES__SPOTIFY__CLIENT_ID": creds.client_id,
        "SOURCES__SPOTIFY__CLIENT_SECRET": creds.client_secret,
    }
    argv = [
        sys.executable,
        "-c",
        KILLED,
        sandbox.api_url,
        sandbox.token_url,
        str(tmp_path / "pipelines"),
        str(db),
    ]
    # Popen returns at once; the waits below run in a thread.
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        for _ in range(3000):  # a hang guard, not a timing assertion
            if (
                requests(sandbox).get("album-tracks", 0)
                + requests(sandbox).get("several-albums", 0)
                >= 3
            ):
                break
            assert proc.poll() is None, "the pull ended before it could be killed"
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        await asyncio.to_thread(proc.wait, 60)
    assert proc.returncode == -signal.SIGKILL
    done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert creds.client_secret.encode() not in done.stdout + done.stderr
    truth = await truth_pull(sandbox, tmp_path / "pull")
    for table, column in (("albums", "album_id"), ("tracks", "track_id"), ("artists", "artist_id")):
        assert ids(db, table, column) == truth[table]
    assert sorted(rows(db, "SELECT market, position, album_id FROM spotify.listings")) == listed(
        sandbox
    )
    assert rows(db, "SELECT count(*) FROM spotify.runs") == [(1,)]


async def three_days(sandbox_factory: SandboxFactory, root: Path) -> None:
    """A dataset of three runs, one per sandbox day."""
    for day in range(3):
        sandbox = await sandbox_factory(albums_per_market=ALBUMS, day=day)
        settings = PullSettings(out=root, markets=MARKETS, client=client(sandbox))
        await run_dataset(settings, sandbox.credentials)


#: Each table's columns both loads hold, and its SQL in each database.
COMPARED = {
    "albums": "album_id, name, album_type, album_type_raw, total_tracks, release_date,"
    " release_date_precision, label, popularity, upc, spotify_url, source, extracted_at",
    "tracks": "track_id, album_id, name, disc_number, track_number, duration_ms, explicit,"
    " is_playable, is_local, spotify_url",
    "album_artists": "album_id, position, artist_id",
    "track_artists": "track_id, position, artist_id",
    "artists": "artist_id, name, popularity, followers, image_url, spotify_url, fetched_at",
    "artist_genres": "artist_id, genre",
    "artist_snapshots": "run_id, artist_id, popularity, followers, fetched_at",
    "listings": "run_id, observed_at, market, position, album_id",
    "events": 'run_id, "at", market, album_id, event, position, previous_position',
    "runs": "run_id, started_at, finished_at, status, albums, tracks, failed, artists",
}


def table(db: Path, schema: str, name: str, where: str = "") -> list[tuple[Any, ...]]:
    return sorted(rows(db, f"SELECT {COMPARED[name]} FROM {schema}.{name} {where}"), key=repr)


async def test_the_dataset_source_equals_our_duckdb_load_table_by_table(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    from async_spotify_etl.analytics.load import load_pull

    root = tmp_path / "dataset"
    await three_days(sandbox_factory, root)
    ours = tmp_path / "ours.duckdb"
    load_pull(root, ours)
    db = tmp_path / "dlt.duckdb"
    p = pipeline(tmp_path, dlt.destinations.duckdb(str(db)))
    await run(p, spotify_dataset(root))
    for name in COMPARED:
        where = "WHERE fetched" if name == "artists" else ""
        assert table(db, "spotify", name) == table(ours, "main", name, where), name
    in_albums = "WHERE album_id IN (SELECT album_id FROM {}.albums)"
    assert sorted(
        rows(
            db, f"SELECT album_id, market FROM spotify.album_markets {in_albums.format('spotify')}"
        )
    ) == sorted(
        rows(ours, f"SELECT album_id, market FROM main.album_markets {in_albums.format('main')}")
    )
    assert len(p.state["sources"]["spotify"]["runs"]) == 3
    # Incremental: nothing new, nothing loaded twice.
    counts = {n: rows(db, f"SELECT count(*) FROM spotify.{n}") for n in COMPARED}
    await run(p, spotify_dataset(root))
    assert {n: rows(db, f"SELECT count(*) FROM spotify.{n}") for n in COMPARED} == counts


async def test_the_filesystem_destination_writes_parquet_duckdb_reads(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await sandbox_factory(albums_per_market=ALBUMS)
    lake = tmp_path / "lake"
    p = pipeline(tmp_path, dlt.destinations.filesystem(bucket_url=lake.as_uri()))
    source = spotify_releases(
        markets=MARKETS, client=client(sandbox), credentials=sandbox.credentials
    )
    source = source.with_resources("albums", "tracks", "listings")
    await run(p, source, loader_file_format="parquet")
    truth = await truth_pull(sandbox, tmp_path / "pull")
    with duckdb.connect() as con:
        albums = con.execute(
            f"SELECT album_id FROM read_parquet('{lake}/spotify/albums/*.parquet') ORDER BY 1"
        ).fetchall()
        tracks = con.execute(
            f"SELECT count(*) FROM read_parquet('{lake}/spotify/tracks/*.parquet')"
        ).fetchone()
    assert [a for (a,) in albums] == truth["albums"]
    assert tracks == (len(truth["tracks"]),)


async def test_releases_into_postgres_equal_the_sandbox(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    postgres: Server,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import psycopg

    sandbox = await sandbox_factory(albums_per_market=ALBUMS)
    destination = dlt.destinations.postgres(credentials=postgres.url())
    p = pipeline(tmp_path, destination)
    source = spotify_releases(
        markets=MARKETS, client=client(sandbox), credentials=sandbox.credentials
    )
    await run(p, source)
    await run(
        p,
        spotify_releases(markets=MARKETS, client=client(sandbox), credentials=sandbox.credentials),
    )
    truth = await truth_pull(sandbox, tmp_path / "pull")
    with psycopg.connect(postgres.url()) as con:
        albums = [r[0] for r in con.execute("SELECT album_id FROM spotify.albums ORDER BY 1")]
        tracks = con.execute(
            "SELECT count(*), count(DISTINCT track_id) FROM spotify.tracks"
        ).fetchone()
        runs = con.execute("SELECT count(*) FROM spotify.runs").fetchone()
        con.execute("DROP SCHEMA spotify CASCADE")
        con.execute("DROP SCHEMA IF EXISTS spotify_staging CASCADE")
        con.commit()
    assert albums == truth["albums"]
    assert tracks == (len(truth["tracks"]), len(truth["tracks"]))
    assert runs == (2,)
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err
