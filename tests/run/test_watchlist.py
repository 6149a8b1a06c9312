"""A watchlist (``--source artists``) against the sandbox: exactly the watched artists'
releases since the date, in both access modes, in the fewest requests; the dry run's
count; a dataset whose events say what each watched artist released."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import math
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl import BudgetSpentError
from async_spotify_etl.cli import main
from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.engine.ids_file import load_artist_ids
from async_spotify_etl.engine.listing import artist_key
from async_spotify_etl.engine.plan import plan_requests
from async_spotify_etl.output.dataset import Dataset
from async_spotify_etl.run.dataset import run_dataset
from async_spotify_etl.run.pull import run_pull
from async_spotify_etl.sandbox import Sandbox
from tests.pulls import manifest, read_pull

SandboxFactory = Callable[..., Awaitable[Sandbox]]
GROUPS = ("album", "single")
MARKET = "US"
#: The window: releases of the sandbox's last 10 days (its today is fixed: 2026-11-25).
DAYS = 10


def watched(sb: Sandbox, count: int = 12) -> list[str]:
    """Artists credited on the sandbox's albums, some with recent releases, some without."""
    catalogue = sb.state.catalogue
    artists = list(sb.truth()["artists"])
    recent = [a for a in artists if expected(sb, a, DAYS)]
    quiet = [a for a in artists if a not in recent and catalogue.discography(a)]
    return recent[: count - 2] + quiet[:2]


def expected(sb: Sandbox, artist_id: str, days: int, groups: tuple[str, ...] = GROUPS) -> list[str]:
    """The sandbox's truth: the artist's albums in ``groups`` available in the market and
    released at most ``days`` days before the sandbox's now (from its index, not dates)."""
    catalogue = sb.state.catalogue
    return [
        catalogue.album(r.index).shape.id
        for r in catalogue.discography(artist_id)
        if r.group in groups and MARKET in r.markets and r.age <= days
    ]


def listing_total(sb: Sandbox, artist_id: str, groups: tuple[str, ...] = GROUPS) -> int:
    """What Get Artist's Albums reports as the artist's total in ``groups`` and the market."""
    return sum(
        1
        for r in sb.state.catalogue.discography(artist_id)
        if r.group in groups and MARKET in r.markets
    )


def since(sb: Sandbox, days: int = DAYS) -> str:
    return (sb.config.simulated_date - dt.timedelta(days=days)).isoformat()


def served(sb: Sandbox) -> dict[str, int]:
    return {k: sum(v.values()) for k, v in sb.stats()["requests"].items() if k != "token"}


def settings_for(sb: Sandbox, out: Path, ids_file: Path, **fields: Any) -> PullSettings:
    client = ClientSettings(
        api_url=sb.api_url,
        token_url=sb.token_url,
        rate=5000.0,
        burst=500,
        cache_dir=out.parent / "cache",
    )
    return PullSettings(
        out=out,
        markets=(MARKET,),
        source="artists",
        ids_file=ids_file,
        since=since(sb),
        client=client,
        **fields,
    )


def watchlist_file(tmp_path: Path, artists: list[str]) -> Path:
    """The artists as a user writes them: a comment, an id, a URI, a URL, a blank line."""
    lines = ["# my watchlist", ""]
    for n, artist in enumerate(artists):
        lines.append(
            (artist, f"spotify:artist:{artist}", f"https://open.spotify.com/artist/{artist}?si=x")[
                n % 3
            ]
        )
    path = tmp_path / "artists.txt"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("access", ["extended", "development"])
async def test_a_watchlist_yields_exactly_the_artists_releases_since_the_date(
    sandbox_factory: SandboxFactory, tmp_path: Path, access: str
) -> None:
    sb = await sandbox_factory(markets=(MARKET, "GB"), albums_per_market=80, seed=5, access=access)
    artists = watched(sb)
    path = watchlist_file(tmp_path, artists)
    truth = {a: expected(sb, a, DAYS) for a in artists}
    assert sum(map(len, truth.values())) > len(artists) // 2  # something to find
    assert not all(truth.values())  # and artists with nothing recent
    # a release is pulled once, whichever watched artists it credits
    wanted = {album for ids in truth.values() for album in ids}

    settings = settings_for(sb, tmp_path / "out", path, artists="off")
    before = served(sb)
    result = await run_pull(settings, sb.credentials)
    assert result.exit_code == 0

    pull = read_pull(tmp_path / "out")
    ids = [a["id"] for a in pull["albums"]]
    assert sorted(ids) == sorted(wanted)
    assert {a["_etl"]["source"] for a in pull["albums"]} == {"artists"}
    assert all(a["_etl"]["markets"] == [MARKET] for a in pull["albums"])
    recorded = manifest(tmp_path / "out")
    assert recorded["plan"]["source"] == "artists"
    assert recorded["plan"]["since"] == since(sb)
    assert set(recorded["reach"]) == {artist_key(a) for a in artists}

    # the fewest requests, counted at the sandbox: every page of each artist's albums
    pages = sum(max(1, math.ceil(listing_total(sb, a) / 10)) for a in artists)
    cat = sb.state.catalogue
    tracks = {a: cat.shape(cat.index_of(a) or 0).total_tracks for a in wanted}
    further = sum(max(0, math.ceil(tracks[a] / 50) - 1) for a in wanted)
    if access == "extended":
        minimum = {"artist-albums": pages, "several-albums": math.ceil(len(wanted) / 20)}
    else:
        minimum = {"artist-albums": pages, "album": len(wanted)}
    if further:
        minimum["album-tracks"] = further
    after = served(sb)
    spent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    probe = {"several-albums": 1} if access == "development" else {}  # its one 403
    assert spent == {**minimum, **probe}
    assert sb.stats()["requests"].get("several-albums", {}).get("403", 0) == len(probe)
    assert recorded["minimum_requests"] == minimum
    # --dry-run counts the same, from the access mode the pull remembered
    plan = await plan_requests(settings, sb.credentials, load_artist_ids(path))
    assert plan.source == "artists"
    assert plan.requests == minimum  # --dry-run counts the same
    assert plan.albums == len(wanted)


async def test_the_groups_and_the_window_decide_what_is_kept(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(markets=(MARKET,), albums_per_market=80, seed=5)
    artists = watched(sb)
    path = watchlist_file(tmp_path, artists)
    settings = settings_for(sb, tmp_path / "out", path, artists="off", include_groups=("single",))
    settings = dataclasses.replace(settings, since=since(sb, 3))
    assert (await run_pull(settings, sb.credentials)).exit_code == 0
    wanted = {album for a in artists for album in expected(sb, a, 3, ("single",))}
    assert {a["id"] for a in read_pull(tmp_path / "out")["albums"]} == wanted


def test_bad_lines_of_the_watchlist_are_reported_by_line_number(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = "0TnOYISbd1XYRBk9myaseg"
    path = tmp_path / "artists.txt"
    path.write_text(
        f"\ufeff{good}\n# a comment\n\nspotify:album:{good}\nnot an id\n"
        f"https://open.spotify.com/artist/{good}\nhttps://open.spotify.com/album/{good}\n",
        encoding="utf-8",
    )
    loaded = load_artist_ids(path)
    assert loaded.ids == (good, good)  # the BOM is not part of the first id
    assert [n for n, _ in loaded.junk] == [4, 5, 7]
    said = [r.getMessage() for r in caplog.records]
    for number in (4, 5, 7):
        assert any(f"--artist-ids line {number} is not an artist id" in m for m in said), said


def test_the_cli_reads_a_watchlist_from_stdin_and_says_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    artists_file = tmp_path / "a.txt"
    artists_file.write_text("0TnOYISbd1XYRBk9myaseg\n")
    cases = [
        (["--artist-ids", str(artists_file), "--market", "US,GB"], "one --market"),
        (["--source", "artists"], "--source artists needs --artist-ids FILE"),
        (["--since", "7"], "--since needs --artist-ids"),
        (["--artist-ids", str(artists_file), "--ids", str(artists_file)], "do not go together"),
        (["--artist-ids", str(artists_file), "--since", "yesterday"], "YYYY-MM-DD"),
    ]
    for argv, said in cases:
        try:
            code = main(["pull", "--sandbox", "--out", str(tmp_path / "o"), *argv])
        except SystemExit as exc:  # argparse's own usage error
            code = int(str(exc.code))
        assert code == 2, argv
        assert said in capsys.readouterr().err, argv
    sb_args = ["--sandbox", "--sandbox-seed", "5", "--sandbox-albums", "40"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"0TnOYISbd1XYRBk9myaseg\n")))
    code = main(["pull", *sb_args, "--artist-ids", "-", "--dry-run"])
    assert code == 0
    out = capsys.readouterr().out
    assert "discover through artists" in out
    assert "artist-albums 1" in out


async def test_a_dataset_over_two_sandbox_days_says_what_each_watched_artist_released(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    root = tmp_path / "dataset"
    seen: list[dict[str, list[str]]] = []
    artists: list[str] = []
    path = tmp_path / "artists.txt"
    for day in (0, 1, 2):
        sb = await sandbox_factory(markets=(MARKET, "GB"), albums_per_market=80, seed=5, day=day)
        if not artists:
            artists = watched(sb, 16)
            path = watchlist_file(tmp_path, artists)
        settings = settings_for(sb, root, path, artists="off")
        assert (await run_dataset(settings, sb.credentials)).exit_code == 0
        seen.append({artist_key(a): expected(sb, a, DAYS) for a in artists})

    index = Dataset(root).runs()
    assert [r["status"] for r in index] == ["complete"] * 3
    changed = 0
    for n, run in enumerate(index):
        folder = root / run["path"]
        listed = _lines(folder / "listings.ndjson")
        assert {r["source"] for r in listed} <= {"artists"}
        got: dict[str, list[str]] = {}
        for row in sorted(listed, key=lambda r: (r["market"], r["position"])):
            got.setdefault(row["market"], []).append(row["album_id"])
        assert {k: sorted(v) for k, v in got.items()} == {
            k: sorted(v) for k, v in seen[n].items() if v
        }
        events = _lines(folder / "events.ndjson")
        for key, now_ids in seen[n].items():
            then = set(seen[n - 1][key]) if n else set()
            now = set(now_ids)
            mine = [e for e in events if e["market"] == key]
            assert {e["album_id"] for e in mine if e["event"] == "listed"} == now - then, key
            assert {e["album_id"] for e in mine if e["event"] == "delisted"} == then - now, key
            changed += bool(n and then != now)
    assert changed  # the days moved some watched artist's window
    pytest.importorskip("duckdb", reason="the report needs the analytics extra")
    assert main(["report", str(root), "--quiet"]) == 0  # one churn series, not one per artist
    assert "watched artists" in (root / "report.html").read_text(encoding="utf-8")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_docs_cli_and_help_name_the_watchlist_flags(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    cli = (root / "docs" / "cli.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["pull", "--help"])
    text = capsys.readouterr().out
    for flag in ("--artist-ids FILE", "--since DATE|DAYS", "--include-groups GROUPS"):
        assert flag in text
        assert f"`{flag.replace('|', chr(92) + '|')}`" in cli, flag
    assert "artists" in text.split("--source", 1)[1].split("\n", 1)[0]  # a --source choice
    reach = (root / "docs" / "development-mode.md").read_text(encoding="utf-8")
    assert "| artists (`--artist-ids`, both modes) |" in reach


async def test_max_albums_takes_the_first_releases_in_watchlist_order_whoever_answers_first(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = await sandbox_factory(
        markets=(MARKET,), albums_per_market=80, seed=5, latency=0.01, latency_jitter=0.01
    )
    artists = watched(sb)
    path = watchlist_file(tmp_path, artists)
    # the first N by (watchlist line, the artist's listing order), each release once
    order = list(dict.fromkeys(a for artist in artists for a in expected(sb, artist, DAYS)))
    assert len(order) > 6
    settings = settings_for(sb, tmp_path / "out", path, artists="off", max_albums=6)
    assert (await run_pull(settings, sb.credentials)).exit_code == 0
    assert sorted(a["id"] for a in read_pull(tmp_path / "out")["albums"]) == sorted(order[:6])


@pytest.mark.parametrize("spare", [-9, 2], ids=["stopped-while-listing", "after-listing"])
async def test_an_unfinished_watchlist_run_is_finished_with_the_window_it_started_with(
    sandbox_factory: SandboxFactory, tmp_path: Path, spare: int
) -> None:
    sb = await sandbox_factory(markets=(MARKET,), albums_per_market=80, seed=5)
    artists = watched(sb)
    path = watchlist_file(tmp_path, artists)
    root = tmp_path / "dataset"
    first = settings_for(sb, root, path, artists="off", expand="album")
    budget = len(artists) + spare  # the listing needs at least one page per artist
    stopped = dataclasses.replace(first, client=first.client.replace(budget=budget))
    with pytest.raises(BudgetSpentError):
        await run_dataset(stopped, sb.credentials)
    # the next day's command: --since 14 is a day later, yet the run it finishes keeps its own
    later = dataclasses.replace(first, since=since(sb, DAYS - 1))
    assert (await run_dataset(later, sb.credentials)).exit_code == 0
    (run,) = Dataset(root).runs()
    folder = root / run["path"]
    assert manifest(folder)["plan"]["since"] == first.since
    wanted = {album for a in artists for album in expected(sb, a, DAYS)}
    assert {a["id"] for a in read_pull(folder)["albums"]} == wanted
    listed: dict[str, set[str]] = {}
    for row in _lines(folder / "listings.ndjson"):
        listed.setdefault(row["market"], set()).add(row["album_id"])
    assert listed == {
        artist_key(a): set(expected(sb, a, DAYS)) for a in artists if expected(sb, a, DAYS)
    }
