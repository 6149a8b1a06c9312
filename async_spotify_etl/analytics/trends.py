"""The report's trend cards for a dataset: how the listing moved over its runs.

Each card is aggregated in DuckDB from the dataset's load (:mod:`.dataset`): listings,
events, artist snapshots. With a single run there is no movement yet, and each card says so
instead of drawing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from . import charts, trend_charts
from .page import Chart

#: Genres and labels drawn in the share-over-time cards.
_SHARE_SERIES = 6
_TOP_GROWTH = 15
_ONE_RUN = "Only one run has a listing so far: {what} needs two runs or more."
_NO_RUN = "No run has a listing yet: {what} needs two runs or more."

_LISTED = "SELECT DISTINCT run_id, album_id FROM listings"


def trend_charts_of(con: duckdb.DuckDBPyConnection) -> list[Chart]:
    """Every trend card, in the page's order."""
    observed = run_observations(con)
    runs, labels = list(observed), [_label(r, at) for r, at in observed.items()]
    return [
        _entering(con, runs, labels),
        _time_on_list(con, runs),
        _share(con, runs, labels, "genre"),
        _share(con, runs, labels, "label"),
        _churn(con, runs, labels),
        _follower_growth(con),
    ]


def run_observations(con: duckdb.DuckDBPyConnection) -> dict[str, dt.datetime | None]:
    """Each run with a listing, in run order, and when it observed its listing (a real
    run's wall clock; a sandbox day's simulated date): the trend axes' values."""
    rows = con.execute(
        "SELECT run_id, min(observed_at) FROM listings GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return dict(rows)


def _label(run_id: str, observed: dt.datetime | None) -> str:
    """A run's axis label: its observation time as ``12-03 07:13`` (UTC), or the run id's."""
    if observed is not None:
        return f"{observed.astimezone(dt.UTC):%m-%d %H:%M}"
    try:
        at = dt.datetime.strptime(run_id, "%Y-%m-%dT%H%M%SZ")
    except ValueError:
        return run_id
    return f"{at:%m-%d %H:%M}"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _too_little(key: str, title: str, what: str, runs: list[str]) -> Chart:
    text = _ONE_RUN if runs else _NO_RUN
    return Chart(key, title, text.format(what=what), None)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def _entering(con: duckdb.DuckDBPyConnection, runs: list[str], labels: list[str]) -> Chart:
    key, title = "entering-per-run", "Albums entering per run"
    if len(runs) < 2:
        return _too_little(key, title, "telling new entries from the first listing", runs)
    rows = _rows(
        con,
        "SELECT f.run_id, coalesce(a.album_type, 'unknown'), count(*) FROM ("
        " SELECT album_id, min(run_id) AS run_id FROM listings GROUP BY 1) f"
        " LEFT JOIN albums a USING (album_id) GROUP BY ALL",
    )
    later = runs[1:]
    kinds = sorted({k for _, k, _ in rows}, key=lambda k: (k not in charts.PALETTE, k))
    counts = {(r, k): n for r, k, n in rows}
    series = {k: [counts.get((r, k), 0) for r in later] for k in kinds}
    total = sum(sum(v) for v in series.values())
    return Chart(
        key,
        title,
        f"Albums listed for the first time in any market, by album type: {total} over"
        f" {_runs(len(later))} after the first (whose whole listing was new).",
        charts.to_svg(trend_charts.stacked_per_run(labels[1:], series, "albums entering"), key),
    )


def _time_on_list(con: duckdb.DuckDBPyConnection, runs: list[str]) -> Chart:
    key, title = "time-on-list", "Time on the list"
    if len(runs) < 2:
        return _too_little(key, title, "time on the list", runs)
    rows = _rows(
        con,
        "SELECT n, count(*) FROM (SELECT album_id, count(DISTINCT run_id) AS n FROM listings"
        " GROUP BY 1) GROUP BY 1 ORDER BY 1",
    )
    days, still = _rows(
        con,
        "SELECT median(date_diff('day', first_seen, last_seen)),"
        " count(*) FILTER (last_run = (SELECT max(run_id) FROM listings)) FROM ("
        " SELECT album_id, min(observed_at) AS first_seen, max(observed_at) AS last_seen,"
        "  max(run_id) AS last_run FROM listings GROUP BY 1)",
    )[0]
    return Chart(
        key,
        title,
        f"Runs in which each album was listed (any market), of {len(runs)} runs; the median"
        f" album was seen over {days or 0:g} days from first to last. {still} albums are still"
        " listed in the latest run, so their time so far is a lower bound.",
        charts.to_svg(trend_charts.histogram(rows, "runs listed"), key),
    )


def _share(con: duckdb.DuckDBPyConnection, runs: list[str], labels: list[str], what: str) -> Chart:
    key, title = f"{what}-share-over-time", f"{what.capitalize()} share over time"
    if len(runs) < 2:
        return _too_little(key, title, f"{what} share over time", runs)
    if what == "genre":
        present = {g for (g,) in _rows(con, "SELECT DISTINCT source FROM album_genres")}
        origin = next((g for g in _GENRE_SOURCES if g in present), "spotify")
        tagged = (
            f"SELECT DISTINCT l.run_id, l.album_id, g.genre AS tag FROM ({_LISTED}) l"
            f" JOIN album_genres g USING (album_id) WHERE g.source = '{origin}'"
        )
        source = _GENRE_SOURCES[origin]
    else:
        tagged = (
            f"SELECT l.run_id, l.album_id, a.label AS tag FROM ({_LISTED}) l"
            " JOIN albums a USING (album_id) WHERE a.label IS NOT NULL"
        )
        source = "its label"
    top = [
        t
        for (t,) in _rows(
            con, f"SELECT tag FROM ({tagged}) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 6"
        )
    ][:_SHARE_SERIES]
    if not top:
        why = f"No listed album has a {what} (development-mode apps get no labels; --artists off"
        return Chart(key, title, why + " gives no genres).", None)
    totals = dict(_rows(con, f"SELECT run_id, count(*) FROM ({_LISTED}) GROUP BY 1"))
    counts = {
        (r, t): n
        for r, t, n in _rows(con, f"SELECT run_id, tag, count(*) FROM ({tagged}) GROUP BY ALL")
    }
    series = {t: [counts.get((r, t), 0) / totals[r] for r in runs] for t in top}
    return Chart(
        key,
        title,
        f"Share of each run's listed albums (any market) by {source}, for the {len(top)}"
        f" {what}s with the most listings.",
        charts.to_svg(trend_charts.share_lines(labels, series), key),
    )


#: The churn chart's one series for the listings of a watchlist (``--artist-ids``).
WATCHED = "watched artists"


def _churn(con: duckdb.DuckDBPyConnection, runs: list[str], labels: list[str]) -> Chart:
    key, title = "churn-per-market", "Churn per market"
    if len(runs) < 2:
        return _too_little(key, title, "churn", runs)
    rows = _rows(
        con,
        # a watchlist's listings are keyed by artist URI: its artists make one series
        f"SELECT run_id, CASE WHEN market LIKE 'spotify:artist:%' THEN '{WATCHED}'"
        " ELSE market END, count(*) FILTER (event = 'listed'),"
        " count(*) FILTER (event = 'delisted') FROM events"
        " WHERE run_id > (SELECT min(run_id) FROM listings) GROUP BY ALL",
    )
    markets = sorted({m for _, m, _, _ in rows})
    if not markets:
        return Chart(key, title, "No album entered or left the list after the first run.", None)
    by = {(r, m): (a, d) for r, m, a, d in rows}
    later = runs[1:]
    listed = {m: [by.get((r, m), (0, 0))[0] for r in later] for m in markets}
    delisted = {m: [by.get((r, m), (0, 0))[1] for r in later] for m in markets}
    moved = sum(map(sum, listed.values())) + sum(map(sum, delisted.values()))
    return Chart(
        key,
        title,
        f"Albums listed and delisted in each market against the run before (events.ndjson):"
        f" {moved} changes over {_runs(len(later))}.",
        charts.to_svg(trend_charts.churn(labels[1:], markets, listed, delisted), key),
    )


#: An album's genres over time: the first source the dataset has (album_genres' sources).
_GENRE_SOURCES = {
    "spotify": "the genres of its credited artists (their latest snapshot; source: Spotify)",
    "deezer": "its genres on Deezer (source: Deezer, matched by UPC)",
    "musicbrainz": "its release group's genres (source: MusicBrainz, matched by barcode)",
}


def _follower_growth(con: duckdb.DuckDBPyConnection) -> Chart:
    key, title = "follower-growth", "Artists whose followers grew most"
    counted = (
        "SELECT count(*) FILTER (n >= 2), count(*) FILTER (f) FROM (SELECT artist_id,"
        " count(*) AS n, bool_or({column} IS NOT NULL) AS f FROM {table} GROUP BY 1)"
    )
    table, column, unit = "artist_snapshots", "followers", "Followers"
    twice, with_followers = _rows(con, counted.format(table=table, column=column))[0]
    if not with_followers:  # development mode: the artists' fans on Deezer, if enriched
        deezer = _rows(con, counted.format(table="deezer_artist_snapshots", column="nb_fan"))[0]
        if deezer[1]:
            table, column, unit = "deezer_artist_snapshots", "nb_fan", "Fans on Deezer"
            twice, with_followers = deezer
    if not with_followers:
        return Chart(
            key,
            title,
            "No artist snapshot carries followers (development-mode apps get none, or"
            " --artists off): there is no growth to show.",
            None,
        )
    if not twice:
        return Chart(
            key, title, "No artist has been fetched in two runs yet: growth needs two.", None
        )
    rows = _rows(
        con,
        "SELECT coalesce(a.name, s.artist_id), s.last - s.first FROM ("
        f" SELECT artist_id, arg_min({column}, run_id) AS first,"
        f"  arg_max({column}, run_id) AS last, count(*) AS n FROM {table}"
        f"  WHERE {column} IS NOT NULL GROUP BY 1) s LEFT JOIN artists a USING (artist_id)"
        f" WHERE s.n >= 2 AND s.last > s.first ORDER BY 2 DESC, 1 LIMIT {_TOP_GROWTH}",
    )
    if not rows:
        return Chart(
            key,
            title,
            f"None of the {twice} artists fetched in two runs or more gained followers"
            " between their first and latest snapshot.",
            None,
        )
    named = "Spotify followers" if table == "artist_snapshots" else "Deezer fans (nb_fan)"
    return Chart(
        key,
        title,
        f"{unit} gained from each artist's first snapshot to its latest, of the {twice}"
        f" artists fetched in two runs or more. Source: {named}.",
        charts.to_svg(charts.top_values(rows, f"{unit.lower()} gained"), key),
    )
