"""``load --duckdb`` of a dataset: three real sandbox runs with a moving listing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from async_spotify_etl.analytics.load import TABLES, load_pull
from async_spotify_etl.cli import main
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.output.reader import read_committed
from async_spotify_etl.run.dataset import run_dataset

from .datasets import MARKETS, MISSING, RUNS, STARTS, Dataset, make_dataset, run_id

ALL_TABLES = (*TABLES, "artist_snapshots", "listings", "runs", "events")


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and of the view, sorted; runs without loaded_at."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            table: sorted(
                con.execute(
                    f"SELECT * EXCLUDE (loaded_at) FROM {table}"
                    if table == "runs"
                    else f"SELECT * FROM {table}"
                ).fetchall(),
                key=repr,
            )
            for table in (*ALL_TABLES, "album_presence")
        }


def _expected_presence(dataset: Dataset) -> set[tuple[Any, ...]]:
    seen: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for k, listing in dataset.listed.items():
        for m in MARKETS:
            for p, a in enumerate(listing[m], start=1):
                seen.setdefault((a, m), []).append((k, p))
    return {
        (
            a,
            m,
            STARTS[min(k for k, _ in s)],
            STARTS[max(k for k, _ in s)],
            len(s),
            min(p for _, p in s),
        )
        for (a, m), s in seen.items()
    }


async def test_three_runs_load_to_exactly_the_union(sandbox_factory: Any, tmp_path: Path) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds")
    db = tmp_path / "ds.duckdb"
    result = load_pull(dataset.root, db)
    truth = dataset.truth
    listed = {a for listing in dataset.listed.values() for m in MARKETS for a in listing[m]}
    albums = [r[0] for r in _query(db, "SELECT album_id FROM albums")]
    assert sorted(albums) == sorted(listed)  # every album once, across all runs
    assert result.counts["albums"] == len(listed)
    assert "read 3 of 3 runs" in result.summary()
    tracks = dict(
        _query(
            db,
            "SELECT album_id, list(track_id ORDER BY disc_number, track_number)"
            " FROM tracks GROUP BY 1",
        )
    )
    assert tracks == {a: truth["albums"][a] for a in listed if truth["albums"][a]}
    assert not [
        t
        for t, n in Counter(r[0] for r in _query(db, "SELECT track_id FROM tracks")).items()
        if n > 1
    ]

    # Listings: every observation of every run, keyed by run, market and position.
    rows = _query(db, "SELECT run_id, market, position, album_id FROM listings")
    assert len(rows) == RUNS * len(MARKETS) * 12
    assert set(rows) == dataset.expected_listings()
    dates = _query(db, "SELECT DISTINCT run_id, run_date FROM listings ORDER BY 1")
    assert dates == [(run_id(k), STARTS[k].date()) for k in range(RUNS)]

    # The view: first and last seen, runs listed and best position per album and market.
    presence = set(_query(db, "SELECT * FROM album_presence"))
    assert presence == _expected_presence(dataset)
    assert {(a, m) for a, m, *_ in presence} == set(_query(db, "SELECT * FROM album_markets"))
    markets = dict(_query(db, "SELECT album_id, markets FROM albums"))
    assert markets == {
        a: sorted(m for m in MARKETS if any(a in lst[m] for lst in dataset.listed.values()))
        for a in listed
    }

    # Events as each run wrote them; the first run lists every album it saw.
    events = _query(db, "SELECT run_id, event, count(*) FROM events GROUP BY ALL ORDER BY ALL")
    assert events == [
        (run_id(0), "listed", 24),
        (run_id(1), "delisted", 8),
        (run_id(1), "listed", 8),
        (run_id(2), "delisted", 8),
        (run_id(2), "listed", 8),
    ]

    # Runs: as dataset.json lists them, counts as columns.
    runs = _query(db, "SELECT run_id, status, markets, albums, started_at FROM runs ORDER BY 1")
    assert [(r, s, m, st) for r, s, m, _, st in runs] == [
        (run_id(k), "complete", list(MARKETS), STARTS[k]) for k in range(RUNS)
    ]
    fetched = Counter(dataset.fetched.values())
    assert [n for *_, n, _ in runs] == [
        len(list(read_committed(dataset.folder(k), "albums"))) for k in range(RUNS)
    ]
    assert fetched[1] == [n for *_, n, _ in runs][1]

    # An album fetched twice (refreshed by the third run): the latest fetch wins.
    refreshed = [
        a
        for a, k in dataset.fetched.items()
        if k == 2 and a in {x["id"] for x in read_committed(dataset.folder(0), "albums")}
    ]
    assert refreshed
    latest = {
        x["id"]: x["_etl"]["extracted_at"] for x in read_committed(dataset.folder(2), "albums")
    }
    got = dict(
        _query(
            db,
            "SELECT album_id,"
            " strftime(extracted_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') FROM albums",
        )
    )
    assert all(got[a] == latest[a] for a in refreshed)

    # Artists: one row each (the latest snapshot), one snapshot per run that fetched it.
    snapshots = _query(db, "SELECT run_id, artist_id FROM artist_snapshots")
    assert Counter(r for r, _ in snapshots) == {
        run_id(k): len(list(read_committed(dataset.folder(k), "artists"))) for k in range(RUNS)
    }
    twice = {a for a, n in Counter(a for _, a in snapshots).items() if n > 1}
    assert twice  # the refreshed albums' artists
    latest_seen = dict(
        _query(db, "SELECT artist_id, max(fetched_at) FROM artist_snapshots GROUP BY 1")
    )
    artists = dict(_query(db, "SELECT artist_id, fetched_at FROM artists WHERE fetched"))
    assert artists == latest_seen
    credited = {a for album in listed for a in truth["credits"][album]}
    assert set(_query(db, "SELECT artist_id FROM artists")) == {(a,) for a in credited}
    # The second run's failure (an album the sandbox does not know), with its run.
    assert _query(db, "SELECT run_id, album_id, stage FROM errors") == [
        (run_id(1), MISSING, "several-albums")
    ]


async def test_loading_after_each_run_equals_one_load_of_all(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=0)
    step = tmp_path / "step.duckdb"
    notes = []
    for k in range(RUNS):
        await dataset.run(k)
        notes.append(load_pull(dataset.root, step).note)
    assert notes == [" (read 1 of 1 runs)", " (read 1 of 2 runs)", " (read 1 of 3 runs)"]
    again = load_pull(dataset.root, step)
    assert again.note == " (read 0 of 3 runs)"
    whole = tmp_path / "whole.duckdb"
    load_pull(dataset.root, whole)
    assert _dump(step) == _dump(whole)
    first_loaded = _query(step, "SELECT run_id, loaded_at FROM runs ORDER BY 1")
    assert first_loaded[0][1] < first_loaded[2][1]  # run 0 was not read again


async def test_a_run_loaded_while_not_complete_is_read_again(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=2)
    index = dataset.root / "dataset.json"
    data = orjson.loads(index.read_bytes())
    data["runs"][1]["status"] = "interrupted"
    index.write_bytes(orjson.dumps(data))
    db = tmp_path / "ds.duckdb"
    assert load_pull(dataset.root, db).note == " (read 2 of 2 runs)"
    assert _query(db, "SELECT status FROM runs ORDER BY run_id") == [
        ("complete",),
        ("interrupted",),
    ]
    data["runs"][1]["status"] = "complete"
    index.write_bytes(orjson.dumps(data))
    assert load_pull(dataset.root, db).note == " (read 1 of 2 runs)"
    assert _query(db, "SELECT status FROM runs ORDER BY run_id") == [("complete",), ("complete",)]
    whole = tmp_path / "whole.duckdb"
    load_pull(dataset.root, whole)
    assert _dump(db) == _dump(whole)


async def test_a_run_in_progress_is_not_read(sandbox_factory: Any, tmp_path: Path) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=2)
    before = set(dataset.fetched)
    running = await dataset.pull(2)  # its folder is there, dataset.json does not list it yet
    db = tmp_path / "ds.duckdb"
    load_pull(dataset.root, db)
    new = {a["id"] for a in read_committed(running, "albums")} - before
    assert new
    assert {r[0] for r in _query(db, "SELECT album_id FROM albums")} == before
    assert _query(db, "SELECT DISTINCT run_id FROM listings ORDER BY 1") == [
        (run_id(0),),
        (run_id(1),),
    ]
    assert _query(db, "SELECT count(*) FROM runs") == [(2,)]


def test_a_bad_index_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    (root / "dataset.json").write_bytes(b'{"format": 2, "runs": []}')
    db = tmp_path / "x.duckdb"
    assert main(["load", "--duckdb", str(db), str(root)]) == 2
    err = capsys.readouterr().err
    assert "format 2" in err
    assert "Traceback" not in err
    assert not db.exists()
    (root / "dataset.json").write_bytes(
        b'{"format": 1, "runs": [{"id": "x", "path": "../../etc"}]}'
    )
    assert main(["load", "--duckdb", str(db), str(root)]) == 2
    assert "outside" in capsys.readouterr().err


async def test_the_cli_loads_a_dataset_and_says_what_it_read(
    sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=2)
    db = tmp_path / "ds.duckdb"
    assert main(["load", "--duckdb", str(db), str(dataset.root)]) == 0
    out = capsys.readouterr().out
    assert "48 listings" in out  # two runs of 2 markets x 12 positions
    assert "(read 2 of 2 runs)" in out
    assert main(["load", "--duckdb", str(db), str(dataset.root)]) == 0
    assert "(read 0 of 2 runs)" in capsys.readouterr().out


async def test_a_load_that_fails_leaves_the_file_as_it_was(
    sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = await make_dataset(sandbox_factory, tmp_path / "ds", runs=2)
    db = tmp_path / "ds.duckdb"
    load_pull(dataset.root, db)
    before = _dump(db)
    await dataset.run(2)
    listings = dataset.folder(2) / "listings.ndjson"
    first = listings.read_bytes().splitlines()[0]
    listings.write_bytes(listings.read_bytes() + first + b"\n")  # a position twice: refused
    assert main(["load", "--duckdb", str(db), str(dataset.root)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"cannot load {dataset.root}" in line
    assert _dump(db) == before  # the run's albums merged before the failure are not kept


async def test_pull_dataset_runs_over_moving_lists_load_incrementally_as_a_whole(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """``pull --dataset`` itself (three sandbox days): each run loaded as it ends equals one
    load of all three; listings and presence are what the runs recorded."""
    root, step = tmp_path / "ds", tmp_path / "step.duckdb"
    truths = []
    for day in range(RUNS):
        sb = await sandbox_factory(markets=MARKETS, albums_per_market=30, seed=9, day=day)
        truths.append(sb.truth())
        client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=2000.0)
        settings = PullSettings(out=root, markets=MARKETS, client=client)
        assert (await run_dataset(settings, sb.credentials)).exit_code == 0
        assert load_pull(root, step).note == f" (read 1 of {day + 1} runs)"
    whole = tmp_path / "whole.duckdb"
    load_pull(root, whole)
    assert _dump(step) == _dump(whole)
    listed = {a for t in truths for m in MARKETS for a in t["markets"][m]}
    assert {a for (a,) in _query(whole, "SELECT album_id FROM albums")} == listed
    recorded = [
        orjson.loads(line)
        for run in sorted((root / "runs").iterdir())
        for line in (run / "listings.ndjson").read_bytes().splitlines()
    ]
    assert sorted(_query(whole, "SELECT run_id, market, position, album_id FROM listings")) == (
        sorted((r["run_id"], r["market"], r["position"], r["album_id"]) for r in recorded)
    )
    runs_listed = Counter((r["album_id"], r["market"]) for r in recorded)
    assert dict(_query(whole, "SELECT (album_id, market), runs_listed FROM album_presence")) == {
        (a, m): n for (a, m), n in runs_listed.items()
    }
    assert max(runs_listed.values()) == RUNS  # some albums stay, some come and go
    assert min(runs_listed.values()) == 1
