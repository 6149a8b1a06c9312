"""``spotify-etl report``: one self-contained HTML page of charts about a pull.

The pull is loaded into an in-memory DuckDB with the same code as ``spotify-etl load``
(so a pull in progress shows its committed records), aggregated there, and drawn as
inline SVG; the page needs no network to be viewed. On a dataset the same charts cover
all its runs (albums once, artists at their latest snapshot), followed by the trends over
the runs (:mod:`.trends`) and the latest run's manifest.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import duckdb

from ..core.errors import ConfigurationError
from ..core.files import atomic_write
from ..output.dataset import is_dataset
from ..output.manifest import Manifest, ManifestError, load_manifest
from . import charts
from .dataset import read_index
from .load import load_into
from .page import Chart, ReportData, render_page
from .trends import trend_charts_of

log = logging.getLogger(__name__)

DEFAULT_REPORT_NAME = "report.html"
_TOP_ARTISTS = 15
_TOP_GENRES = 15
#: Genres shown per market in the share chart.
_SHARE_GENRES = 12
_TRACKS_CAP = 30
_DAILY_SPAN_DAYS = 62
_MONTHS_SHOWN = 24


def build_report(out_dir: Path, html: Path | None = None) -> Path:
    """Write the report of the pull in ``out_dir`` to ``html`` (default OUT_DIR/report.html)."""
    if not out_dir.exists():
        raise ConfigurationError(f"{out_dir} does not exist: give the folder of a pull or dataset")
    target = html if html is not None else out_dir / DEFAULT_REPORT_NAME
    if target.is_dir():
        raise ConfigurationError(f"{target} is a directory, not an HTML file")
    if not target.parent.is_dir():  # fail before the work, not after it
        where = "does not exist" if not target.parent.exists() else "is not a directory"
        raise ConfigurationError(f"cannot write {target}: {target.parent} {where}")
    with duckdb.connect() as con:
        data = collect(con, out_dir)
    page = render_page(data, generated_at=dt.datetime.now(dt.UTC))
    _write_atomically(target, page.encode())
    log.info("wrote %s (%d bytes)", target, len(page))
    return target


def collect(con: duckdb.DuckDBPyConnection, out_dir: Path) -> ReportData:
    """Load the pull into ``con`` and draw every chart."""
    result = load_into(con, out_dir)
    markets = [m for m, _ in con.execute(_MARKETS).fetchall()]
    dataset = is_dataset(out_dir)
    scope = "dataset" if dataset else "pull"  # what the captions call it: "this dataset"
    drawn = [
        _by_type(con),
        _by_date(con),
        _tracks_per_album(con),
        _track_lengths(con),
        _explicit(con),
        _overlap(con, markets, scope),
        _top_artists(con, scope),
        _top_labels(con),
        *_genre_charts(con, markets, scope),
        *_artist_fame(con, scope),
    ]
    run_dir, source = out_dir, "Pull"
    if dataset:  # the trends over its runs; the latest run's manifest
        drawn += trend_charts_of(con)
        runs = read_index(out_dir)
        run_dir = runs[-1].path if runs else out_dir
        source = f"Dataset of {len(runs)} run{'s' * (len(runs) != 1)}"
    manifest, problem = _read_manifest(run_dir)
    return ReportData(
        out_dir, result, markets, drawn, manifest, problem, source, artists_fetched=_fetched(con)
    )


_MARKETS = "SELECT market, count(*) FROM album_markets GROUP BY 1 ORDER BY 2 DESC, 1"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def _chart(key: str, title: str, caption: str, fig: Any) -> Chart:
    return Chart(key, title, caption, charts.to_svg(fig, key))


def _by_type(con: duckdb.DuckDBPyConnection) -> Chart:
    rows = _rows(
        con,
        "SELECT coalesce(album_type, 'unknown'), count(*) FROM albums"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    return _chart(
        "releases-by-type",
        "Releases by album type",
        'album_type as Spotify sent it, lower-cased ("EP" and "ep" count together).',
        charts.releases_by_type(rows),
    )


def _by_date(con: duckdb.DuckDBPyConnection) -> Chart:
    low, high, dated = _rows(
        con, "SELECT min(release_date), max(release_date), count(release_date) FROM albums"
    )[0]
    daily = low is None or (high - low).days <= _DAILY_SPAN_DAYS
    unit = "day" if daily else "month"
    since = low if daily else high.replace(day=1) - dt.timedelta(days=31 * _MONTHS_SHOWN)
    rows = con.execute(
        f"SELECT date_trunc('{unit}', release_date)::DATE, coalesce(album_type, 'unknown'),"
        " count(*) FROM albums WHERE release_date >= $since GROUP BY ALL",
        {"since": since or dt.date.min},
    ).fetchall()
    caption = "Albums released with month or year precision count on the period's first day."
    if older := dated - sum(n for _, _, n in rows):
        caption += f" {older} releases older than {since:%B %Y} are not shown."
    return _chart(
        "releases-by-date",
        f"Releases by {unit} of release",
        caption,
        charts.releases_by_date(rows, unit),
    )


def _tracks_per_album(con: duckdb.DuckDBPyConnection) -> Chart:
    rows = _rows(
        con,
        f"SELECT least(total_tracks, {_TRACKS_CAP}), count(*) FROM albums"
        " WHERE total_tracks IS NOT NULL GROUP BY 1 ORDER BY 1",
    )
    return _chart(
        "tracks-per-album",
        "Tracks per album",
        f"total_tracks of each album, as Spotify reports it; albums of {_TRACKS_CAP} tracks"
        " or more share the last bar.",
        charts.tracks_per_album(rows, _TRACKS_CAP),
    )


def _track_lengths(con: duckdb.DuckDBPyConnection) -> Chart:
    rows = _rows(
        con,
        "SELECT least(floor(duration_ms / 30000), 30) / 2.0, count(*) FROM tracks"
        " WHERE duration_ms IS NOT NULL GROUP BY 1 ORDER BY 1",
    )
    median = _rows(con, "SELECT median(duration_ms) / 60000.0 FROM tracks")[0][0]
    return _chart(
        "track-lengths",
        "Track length",
        "30-second bins; 15 minutes and longer share the last bin.",
        charts.track_lengths(rows, median),
    )


def _explicit(con: duckdb.DuckDBPyConnection) -> Chart:
    rows = _rows(
        con,
        "SELECT label, explicit, total FROM ("
        " SELECT 'all tracks' AS label, 0 AS o, count(*) FILTER (explicit) AS explicit,"
        "  count(explicit) AS total FROM tracks"
        " UNION ALL SELECT coalesce(a.album_type, 'unknown'), 1, count(*) FILTER (t.explicit),"
        "  count(t.explicit) FROM tracks t JOIN albums a USING (album_id) GROUP BY 1"
        ") WHERE total > 0 ORDER BY o, total DESC, label",
    )
    return _chart(
        "explicit-share",
        "Explicit share",
        "Share of tracks marked explicit, overall and by album type.",
        charts.explicit_share(rows),
    )


def _top_artists(con: duckdb.DuckDBPyConnection, scope: str) -> Chart:
    rows = _rows(
        con,
        "SELECT aa.artist_id, coalesce(ar.name, aa.artist_id), count(DISTINCT aa.album_id) AS n"
        " FROM album_artists aa LEFT JOIN artists ar USING (artist_id)"
        f" GROUP BY aa.artist_id, ar.name ORDER BY n DESC, 2, 1 LIMIT {_TOP_ARTISTS}",
    )
    return _chart(
        "top-artists",
        "Top artists by releases",
        f"The {_TOP_ARTISTS} artists credited on the most albums of this {scope}.",
        charts.top_artists(_named(rows)),
    )


def _named(rows: list[tuple[Any, ...]]) -> list[tuple[str, int]]:
    """Rows of (id, name, value), one per id, as (label, value): artists that share a name
    are told apart ("Name", "Name (2)"), so each keeps its own bar."""
    seen: dict[str, int] = {}
    named = []
    for _id, name, value in rows:
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name} ({seen[name]})", value))
    return named


def _top_labels(con: duckdb.DuckDBPyConnection) -> Chart:
    rows = _rows(
        con,
        "SELECT label, count(*) AS n FROM albums WHERE label IS NOT NULL"
        f" GROUP BY 1 ORDER BY n DESC, 1 LIMIT {_TOP_ARTISTS}",
    )
    return _chart(
        "top-labels",
        "Top labels by releases",
        f"The {_TOP_ARTISTS} labels with the most albums (development-mode apps get no labels).",
        charts.top_labels(rows),
    )


#: Why the artist charts are empty when no artist was fetched.
_NO_ARTISTS = (
    "This {scope} fetched no artist (--artists off, or skipped in development mode where each"
    " costs a request): there are no {what} to show."
)
#: Where the genre and popularity charts take their data, first present first (album_genres'
#: sources; the popularity views' sources), and how a caption names each.
_GENRE_SOURCES = {
    "spotify": "Spotify (the genres of the credited artists)",
    "deezer": "Deezer (the album's genres there, matched by UPC)",
    "musicbrainz": "MusicBrainz (the release group's genres, matched by barcode)",
}
_POPULARITY_SOURCES = {
    "spotify": ("Spotify popularity (0-100)", "popularity (0-100)"),
    "deezer": ("Deezer fans (nb_fan of the artist matched by name)", "fans on Deezer"),
}


def _source_of(con: duckdb.DuckDBPyConnection, sql: str, sources: Any) -> str | None:
    """The first of ``sources`` that ``sql`` (source, rows) gives rows for."""
    present = {source for source, n in _rows(con, sql) if n}
    return next((s for s in sources if s in present), None)


def _album_genres(source: str) -> str:
    """An album's genres from ``source``."""
    return f"SELECT album_id, genre FROM album_genres WHERE source = '{source}'"


def _track_genres(source: str) -> str:
    """A track's genres: its artists' (features included) on Spotify, else its album's."""
    if source == "spotify":
        return (
            "SELECT DISTINCT ta.track_id, g.genre FROM track_artists ta"
            " JOIN artist_genres g USING (artist_id)"
        )
    albums = _album_genres(source)
    return f"SELECT t.track_id, g.genre FROM tracks t JOIN ({albums}) g USING (album_id)"


def _fetched(con: duckdb.DuckDBPyConnection) -> int:
    return int(_rows(con, "SELECT count(*) FROM artists WHERE fetched")[0][0])


def _genre_charts(con: duckdb.DuckDBPyConnection, markets: list[str], scope: str) -> list[Chart]:
    keys = (
        ("top-genres-albums", "Top genres by releases"),
        ("top-genres-tracks", "Top genres by tracks"),
        ("genre-share-by-market", "Genre share by market"),
    )
    source = _source_of(con, "SELECT source, count(*) FROM album_genres GROUP BY 1", _GENRE_SOURCES)
    if source is None and not _fetched(con):
        why = _NO_ARTISTS.format(what="genres", scope=scope)
        return [Chart(key, title, why, None) for key, title in keys]
    source = source or "spotify"
    album_genres, track_genres = _album_genres(source), _track_genres(source)
    by_albums = _rows(
        con,
        f"SELECT genre, count(*) AS n FROM ({album_genres}) GROUP BY 1"
        f" ORDER BY n DESC, 1 LIMIT {_TOP_GENRES}",
    )
    by_tracks = _rows(
        con,
        f"SELECT genre, count(*) AS n FROM ({track_genres}) GROUP BY 1"
        f" ORDER BY n DESC, 1 LIMIT {_TOP_GENRES}",
    )
    if source == "spotify":
        unclassified = _rows(
            con,
            "SELECT count(*) FILTER (fetched AND len(genres) = 0), count(*) FILTER (fetched)"
            " FROM artists",
        )[0]
        note = f" {unclassified[0]} of {unclassified[1]} artists fetched have no genre on Spotify."
    else:
        classified = _rows(
            con,
            f"SELECT count(DISTINCT album_id), (SELECT count(*) FROM albums) FROM ({album_genres})",
        )[0]
        note = f" {classified[0]} of {classified[1]} albums have a genre there."
    note += f" Source: {_GENRE_SOURCES[source]}."
    charts_ = [
        _chart(
            keys[0][0],
            keys[0][1],
            "Releases of the genre (a release counts once per genre and may have several)." + note,
            charts.top_genres(by_albums, "releases"),
        ),
        _chart(
            keys[1][0],
            keys[1][1],
            (
                "Tracks whose artists (features included) carry the genre."
                if source == "spotify"
                else "Tracks of the albums of the genre."
            )
            + note,
            charts.top_genres(by_tracks, "tracks"),
        ),
    ]
    if len(markets) < 2:
        only = markets[0] if markets else "none"
        why = f"A single-market {scope} ({only}): there is no share per market to compare."
        return [*charts_, Chart(keys[2][0], keys[2][1], why, None)]
    genres = [g for g, _ in by_albums[:_SHARE_GENRES]]
    totals = dict(_rows(con, "SELECT market, count(*) FROM album_markets GROUP BY 1"))
    counts = {
        (m, g): n
        for m, g, n in _rows(
            con,
            f"SELECT am.market, ag.genre, count(*) FROM album_markets am"
            f" JOIN ({album_genres}) ag USING (album_id) GROUP BY ALL",
        )
    }
    shares = [[counts.get((m, g), 0) / totals[m] for g in genres] for m in markets]
    charts_.append(
        _chart(
            keys[2][0],
            keys[2][1],
            "Share of each market's releases of the genre, for the"
            f" {len(genres)} genres with the most releases overall."
            f" Source: {_GENRE_SOURCES[source]}.",
            charts.genre_share(markets, genres, shares),
        )
    )
    return charts_


def _artist_fame(con: duckdb.DuckDBPyConnection, scope: str) -> list[Chart]:
    shown = (
        ("popular-artists", "Most popular artists", "popularity", "popularity (0-100)"),
        ("followed-artists", "Most followed artists", "followers", "followers"),
    )
    fetched = _fetched(con)
    drawn = [_popular_artists(con, scope)]
    for key, title, column, unit in shown[1:]:
        rows = _rows(
            con,
            f"SELECT artist_id, name, {column} FROM artists WHERE {column} IS NOT NULL"
            f" ORDER BY {column} DESC, name, artist_id LIMIT {_TOP_ARTISTS}",
        )
        if not fetched:
            drawn.append(Chart(key, title, _NO_ARTISTS.format(what=column, scope=scope), None))
        elif not rows:
            why = (
                f"The artists of this {scope} carry no {column}: Spotify gives development-mode"
                " apps none."
            )
            drawn.append(Chart(key, title, why, None))
        else:
            caption = f"The {len(rows)} artists of this {scope}'s releases with the most {column}."
            drawn.append(_chart(key, title, caption, charts.top_values(_named(rows), unit)))
    return drawn


def _popular_artists(con: duckdb.DuckDBPyConnection, scope: str) -> Chart:
    """The most popular artists by Spotify's popularity, else by their fans on Deezer."""
    key, title = "popular-artists", "Most popular artists"
    source = _source_of(
        con,
        "SELECT popularity_source, count(*) FROM artist_popularity GROUP BY 1",
        _POPULARITY_SOURCES,
    )
    if source is None:
        why = (
            f"The artists of this {scope} carry no popularity: Spotify gives development-mode"
            " apps none (enrich the pull with Deezer for their fans there)."
        )
        fetched = _fetched(con)
        return Chart(
            key, title, why if fetched else _NO_ARTISTS.format(what="popularity", scope=scope), None
        )
    named, unit = _POPULARITY_SOURCES[source]
    rows = _rows(
        con,
        "SELECT artist_id, coalesce(name, artist_id), popularity FROM artist_popularity"
        f" WHERE popularity_source = '{source}'"
        f" ORDER BY popularity DESC, 2, 1 LIMIT {_TOP_ARTISTS}",
    )
    caption = (
        f"The {len(rows)} artists of this {scope}'s releases with the most {unit}. Source: {named}."
    )
    return _chart(key, title, caption, charts.top_values(_named(rows), unit))


def _overlap(con: duckdb.DuckDBPyConnection, markets: list[str], scope: str) -> Chart:
    if len(markets) < 2:
        only = markets[0] if markets else "none"
        return Chart(
            "market-overlap",
            "Market overlap",
            f"A single-market {scope} ({only}): there is no overlap to show.",
            None,
        )
    index = {m: i for i, m in enumerate(markets)}
    matrix = [[0] * len(markets) for _ in markets]
    for a, b, n in _rows(
        con,
        "SELECT a.market, b.market, count(*) FROM album_markets a"
        " JOIN album_markets b USING (album_id) GROUP BY ALL",
    ):
        matrix[index[a]][index[b]] = n
    return _chart(
        "market-overlap",
        "Market overlap",
        "Albums listed in both markets; the diagonal is each market's total.",
        charts.market_overlap(markets, matrix),
    )


def _read_manifest(out_dir: Path) -> tuple[Manifest | None, str | None]:
    try:
        return load_manifest(out_dir).observed(out_dir), None
    except ManifestError as exc:
        return None, str(exc)


def _write_atomically(target: Path, data: bytes) -> None:
    try:
        atomic_write(target, data)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from exc
