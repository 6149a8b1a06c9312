"""The tables of a load, in one place: their SQL, the JSON fields each is read from, and
the views over them.

A single pull's load (:mod:`.load`), a dataset's (:mod:`.dataset`), the PostgreSQL merge
(:mod:`.postgres`) and the Parquet export (:mod:`.parquet`) all build on these
definitions; this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..output.sink import COUNTS

#: The tables a load creates or replaces, in dependency order.
TABLES = (
    "albums",
    "tracks",
    "artists",
    "artist_genres",
    "album_artists",
    "track_artists",
    "album_markets",
    "errors",
    # From the enrichment files (``pull --enrich``); empty when the pull has none.
    "deezer_albums",
    "deezer_tracks",
    "deezer_artists",
    "musicbrainz_releases",
    "album_genres",
)
#: The enrichment streams a pull may hold (docs/enrich.md), each read into its table.
ENRICH_STREAMS = ("deezer_albums", "deezer_tracks", "deezer_artists", "musicbrainz_releases")
#: The sources of :data:`TABLES` ``album_genres``, and of the popularity views.
GENRE_SOURCES = ("spotify", "deezer", "musicbrainz")

_ARTISTS = "STRUCT(id VARCHAR, name VARCHAR)[]"
#: The JSON fields read from each stream and their DuckDB types; others are ignored.
_COLUMNS: dict[str, dict[str, str]] = {
    "albums": {
        "id": "VARCHAR",
        "name": "VARCHAR",
        "album_type": "VARCHAR",
        "total_tracks": "INTEGER",
        "release_date": "VARCHAR",
        "release_date_precision": "VARCHAR",
        "label": "VARCHAR",
        "popularity": "INTEGER",
        "available_markets": "VARCHAR[]",
        "artists": _ARTISTS,
        "external_ids": "STRUCT(upc VARCHAR)",
        "external_urls": "STRUCT(spotify VARCHAR)",
        "_etl": "STRUCT(markets VARCHAR[], extracted_at VARCHAR, source VARCHAR)",
    },
    "tracks": {
        "id": "VARCHAR",
        "album_id": "VARCHAR",
        "name": "VARCHAR",
        "disc_number": "INTEGER",
        "track_number": "INTEGER",
        "duration_ms": "BIGINT",
        "explicit": "BOOLEAN",
        "is_playable": "BOOLEAN",
        "is_local": "BOOLEAN",
        "artists": _ARTISTS,
        "external_urls": "STRUCT(spotify VARCHAR)",
    },
    "artists": {
        "id": "VARCHAR",
        "name": "VARCHAR",
        "genres": "VARCHAR[]",
        "popularity": "INTEGER",
        "followers": "STRUCT(total BIGINT)",
        "images": "STRUCT(url VARCHAR, height INTEGER, width INTEGER)[]",
        "external_urls": "STRUCT(spotify VARCHAR)",
        "_etl": "STRUCT(extracted_at VARCHAR, endpoint VARCHAR)",
    },
    "errors": {
        "album_id": "VARCHAR",
        "artist_id": "VARCHAR",
        "stage": "VARCHAR",
        "error": "VARCHAR",
        "status": "INTEGER",
        "message": "VARCHAR",
        "at": "VARCHAR",
        "failed_at": "VARCHAR",  # an enrichment step's failure (stage deezer, musicbrainz)
    },
    "deezer_albums": {
        "album_id": "VARCHAR",
        "upc": "VARCHAR",
        "deezer": "STRUCT(id BIGINT, title VARCHAR, upc VARCHAR, fans BIGINT, genre_id BIGINT,"
        " genres STRUCT(data STRUCT(id BIGINT, name VARCHAR)[]), record_type VARCHAR,"
        " release_date VARCHAR, nb_tracks INTEGER, label VARCHAR)",
        "_etl": "STRUCT(extracted_at VARCHAR, lookup VARCHAR)",
    },
    "deezer_tracks": {
        "track_id": "VARCHAR",
        "album_id": "VARCHAR",
        "isrc": "VARCHAR",
        "deezer": "STRUCT(id BIGINT, isrc VARCHAR, title VARCHAR, rank BIGINT, duration INTEGER)",
        "_etl": "STRUCT(extracted_at VARCHAR)",
    },
    "deezer_artists": {
        "artist_id": "VARCHAR",
        "deezer": "STRUCT(id BIGINT, name VARCHAR, nb_fan BIGINT, nb_album INTEGER)",
        "_etl": "STRUCT(extracted_at VARCHAR)",
    },
    "musicbrainz_releases": {
        "album_id": "VARCHAR",
        "upc": "VARCHAR",
        "release": "STRUCT(id VARCHAR, title VARCHAR, barcode VARCHAR, score INTEGER,"
        ' "release-group" STRUCT(id VARCHAR, title VARCHAR, "primary-type" VARCHAR))',
        "release_group": 'STRUCT(id VARCHAR, title VARCHAR, genres STRUCT("count" INTEGER,'
        ' name VARCHAR)[], tags STRUCT("count" INTEGER, name VARCHAR)[])',
        "_etl": "STRUCT(extracted_at VARCHAR)",
    },
}

_PRECISION = """coalesce(lower(release_date_precision),
    CASE length(release_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' ELSE 'day' END)"""

TABLES_SQL = """
CREATE OR REPLACE TABLE albums (
    album_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    album_type VARCHAR,              -- lower case: album, single, compilation, ep
    album_type_raw VARCHAR,          -- as Spotify sent it ("EP", "ALBUM", ...)
    total_tracks INTEGER,
    release_date DATE,               -- first day of the year or month for coarser precisions
    release_date_precision VARCHAR,  -- day, month or year
    label VARCHAR,                   -- absent for development-mode apps
    popularity INTEGER,              -- absent for development-mode apps
    upc VARCHAR,
    available_markets VARCHAR[],     -- absent for development-mode apps
    markets VARCHAR[] NOT NULL,      -- markets whose listing held the album in this pull
    spotify_url VARCHAR,
    source VARCHAR,                  -- new-releases, search or ids
    extracted_at TIMESTAMPTZ
);
CREATE OR REPLACE TABLE tracks (
    track_id VARCHAR PRIMARY KEY,
    album_id VARCHAR NOT NULL,
    name VARCHAR,
    disc_number INTEGER,
    track_number INTEGER,
    duration_ms BIGINT,
    duration INTERVAL,
    explicit BOOLEAN,
    is_playable BOOLEAN,
    is_local BOOLEAN,
    spotify_url VARCHAR
);
CREATE OR REPLACE TABLE artists (
    artist_id VARCHAR PRIMARY KEY,   -- every artist credited on an album or a track
    name VARCHAR,
    fetched BOOLEAN NOT NULL,        -- whether artists.ndjson holds the full artist
    popularity INTEGER,              -- 0-100; absent for development-mode apps
    followers BIGINT,                -- absent for development-mode apps
    genres VARCHAR[],                -- [] when Spotify has classified none; NULL if not fetched
    image_url VARCHAR,               -- the widest image
    spotify_url VARCHAR,
    fetched_at TIMESTAMPTZ
);
CREATE OR REPLACE TABLE artist_genres (
    artist_id VARCHAR, genre VARCHAR, PRIMARY KEY (artist_id, genre)
);
CREATE OR REPLACE TABLE album_artists (
    album_id VARCHAR, position INTEGER, artist_id VARCHAR NOT NULL,
    PRIMARY KEY (album_id, position)
);
CREATE OR REPLACE TABLE track_artists (
    track_id VARCHAR, position INTEGER, artist_id VARCHAR NOT NULL,
    PRIMARY KEY (track_id, position)
);
CREATE OR REPLACE TABLE album_markets (
    album_id VARCHAR, market VARCHAR, PRIMARY KEY (album_id, market)
);
CREATE OR REPLACE TABLE errors (
    album_id VARCHAR,                -- the failed album; NULL for an artist's failure
    stage VARCHAR,                   -- listing, several-albums, album, album-tracks, artists
    error VARCHAR, status INTEGER, message VARCHAR,
    failed_at TIMESTAMPTZ,
    artist_id VARCHAR                -- the failed artist (stage artists)
);
CREATE OR REPLACE TABLE deezer_albums (
    album_id VARCHAR PRIMARY KEY,    -- the Spotify album looked up by its UPC
    upc VARCHAR,                     -- Spotify's UPC
    matched BOOLEAN NOT NULL,        -- Deezer knows the album (false: a recorded miss)
    deezer_id BIGINT, title VARCHAR,
    deezer_upc VARCHAR,              -- as Deezer stores it (often 12 digits for 13)
    fans BIGINT,                     -- the album's fans on Deezer
    genre_id BIGINT,                 -- NULL where Deezer says -1 (none)
    genres VARCHAR[],                -- genres.data names; NULL for a miss
    record_type VARCHAR, release_date DATE, nb_tracks INTEGER, label VARCHAR,
    lookup VARCHAR,                  -- the UPC form that matched
    extracted_at TIMESTAMPTZ
);
CREATE OR REPLACE TABLE deezer_tracks (
    track_id VARCHAR PRIMARY KEY,    -- the Spotify track matched by ISRC
    album_id VARCHAR NOT NULL, isrc VARCHAR,
    matched BOOLEAN NOT NULL,        -- Deezer's album holds a track of that ISRC
    deezer_id BIGINT, title VARCHAR,
    rank BIGINT,                     -- Deezer's popularity of the track
    duration INTEGER,                -- seconds
    extracted_at TIMESTAMPTZ
);
CREATE OR REPLACE TABLE deezer_artists (
    artist_id VARCHAR PRIMARY KEY,   -- the Spotify artist (its latest snapshot)
    matched BOOLEAN NOT NULL, deezer_id BIGINT, name VARCHAR,
    nb_fan BIGINT,                   -- the artist's fans on Deezer
    nb_album INTEGER, fetched_at TIMESTAMPTZ
);
CREATE OR REPLACE TABLE musicbrainz_releases (
    album_id VARCHAR PRIMARY KEY,    -- the Spotify album searched by barcode (its UPC)
    upc VARCHAR,
    matched BOOLEAN NOT NULL,        -- a release carries the barcode
    release_id VARCHAR,              -- the release's MBID
    title VARCHAR, barcode VARCHAR, score INTEGER,
    release_group_id VARCHAR, release_group_title VARCHAR, primary_type VARCHAR,
    genres VARCHAR[],                -- the release group's genres, most votes first
    tags VARCHAR[],                  -- its folksonomy tags, most votes first
    extracted_at TIMESTAMPTZ
);
CREATE OR REPLACE TABLE album_genres (
    album_id VARCHAR, source VARCHAR, -- spotify (the credited artists'), deezer or musicbrainz
    genre VARCHAR, PRIMARY KEY (album_id, source, genre)
);
"""

_FILL = f"""
CREATE OR REPLACE TEMP TABLE _albums AS SELECT * FROM _raw_albums WHERE id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY id ORDER BY try_cast(_etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST, name
    ) = 1;
CREATE OR REPLACE TEMP TABLE _tracks AS SELECT * FROM _raw_tracks
    WHERE id IS NOT NULL AND album_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY id ORDER BY album_id, disc_number, track_number) = 1;
INSERT INTO albums SELECT
    id, name, lower(trim(album_type)), album_type, total_tracks,
    CASE {_PRECISION}
        WHEN 'year' THEN try_strptime(release_date, '%Y')
        WHEN 'month' THEN try_strptime(release_date, '%Y-%m')
        ELSE try_strptime(release_date, '%Y-%m-%d') END::DATE,
    {_PRECISION}, label, popularity, external_ids.upc, available_markets,
    coalesce(list_sort(list_distinct(_etl.markets)), []), external_urls.spotify,
    _etl.source, try_cast(_etl.extracted_at AS TIMESTAMPTZ)
FROM _albums;
INSERT INTO tracks SELECT
    id, album_id, name, disc_number, track_number, duration_ms, to_milliseconds(duration_ms),
    explicit, is_playable, is_local, external_urls.spotify
FROM _tracks;
INSERT INTO album_artists SELECT id, position, artist.id FROM (
    SELECT id, unnest(artists) AS artist, generate_subscripts(artists, 1) AS position
    FROM _albums) WHERE artist.id IS NOT NULL;
INSERT INTO track_artists SELECT id, position, artist.id FROM (
    SELECT id, unnest(artists) AS artist, generate_subscripts(artists, 1) AS position
    FROM _tracks) WHERE artist.id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _artists AS SELECT * FROM _raw_artists WHERE id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY id ORDER BY try_cast(_etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST
    ) = 1;
INSERT INTO artists SELECT
    coalesce(f.id, c.id), coalesce(f.name, c.name), f.id IS NOT NULL, f.popularity,
    f.followers.total, f.genres,
    (SELECT i.url FROM unnest(f.images) AS u(i) ORDER BY i.width DESC NULLS LAST LIMIT 1),
    f.external_urls.spotify, try_cast(f._etl.extracted_at AS TIMESTAMPTZ)
FROM (
    SELECT artist.id AS id, min(artist.name) AS name FROM (
        SELECT unnest(artists) AS artist FROM _albums
        UNION ALL SELECT unnest(artists) AS artist FROM _tracks
    ) WHERE artist.id IS NOT NULL GROUP BY artist.id
) AS c FULL OUTER JOIN _artists AS f ON f.id = c.id;
INSERT INTO artist_genres SELECT DISTINCT id, genre FROM (
    SELECT id, unnest(genres) AS genre FROM _artists) WHERE genre IS NOT NULL;
INSERT INTO album_markets SELECT DISTINCT album_id, unnest(markets) AS market FROM albums;
INSERT INTO errors SELECT album_id, stage, error, status, message,
    try_cast(coalesce("at", failed_at) AS TIMESTAMPTZ),
    artist_id
FROM _raw_errors;
CREATE OR REPLACE TEMP TABLE _deezer_albums AS SELECT * FROM _raw_deezer_albums
    WHERE album_id IS NOT NULL QUALIFY row_number() OVER (
        PARTITION BY album_id ORDER BY try_cast(_etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST
    ) = 1;
INSERT INTO deezer_albums SELECT
    album_id, upc, deezer IS NOT NULL, deezer.id, deezer.title, deezer.upc, deezer.fans,
    nullif(deezer.genre_id, -1),
    CASE WHEN deezer IS NOT NULL THEN
        coalesce(list_filter(list_transform(deezer.genres.data, lambda g: g.name),
            lambda n: n IS NOT NULL), []) END,
    deezer.record_type, try_cast(deezer.release_date AS DATE), deezer.nb_tracks, deezer.label,
    _etl.lookup, try_cast(_etl.extracted_at AS TIMESTAMPTZ)
FROM _deezer_albums;
INSERT INTO deezer_tracks SELECT
    t.track_id, t.album_id, t.isrc, t.deezer IS NOT NULL, t.deezer.id, t.deezer.title,
    t.deezer.rank, t.deezer.duration, try_cast(t._etl.extracted_at AS TIMESTAMPTZ)
FROM _raw_deezer_tracks t JOIN _deezer_albums a USING (album_id)
WHERE t.track_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY t.track_id
        ORDER BY try_cast(t._etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST
    ) = 1;
INSERT INTO deezer_artists SELECT
    artist_id, deezer IS NOT NULL, deezer.id, deezer.name, deezer.nb_fan, deezer.nb_album,
    try_cast(_etl.extracted_at AS TIMESTAMPTZ)
FROM _raw_deezer_artists WHERE artist_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY artist_id ORDER BY try_cast(_etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST
    ) = 1;
INSERT INTO musicbrainz_releases SELECT
    album_id, upc, release IS NOT NULL, release.id, release.title, release.barcode,
    release.score, coalesce(release_group.id, release."release-group".id),
    coalesce(release_group.title, release."release-group".title),
    release."release-group"."primary-type",
    CASE WHEN release IS NOT NULL THEN coalesce(list_transform(
        list_sort(list_filter(release_group.genres, lambda g: g.name IS NOT NULL),
            'DESC'), lambda g: g.name), []) END,
    CASE WHEN release IS NOT NULL THEN coalesce(list_transform(
        list_sort(list_filter(release_group.tags, lambda g: g.name IS NOT NULL),
            'DESC'), lambda g: g.name), []) END,
    try_cast(_etl.extracted_at AS TIMESTAMPTZ)
FROM _raw_musicbrainz_releases WHERE album_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY album_id ORDER BY try_cast(_etl.extracted_at AS TIMESTAMPTZ) DESC NULLS LAST
    ) = 1;
DROP TABLE _albums;
DROP TABLE _tracks;
DROP TABLE _artists;
DROP TABLE _deezer_albums;
"""

#: ``album_genres`` from the tables it summarises, whole: an album's Spotify genres are
#: those of its credited artists (Spotify's albums carry none), Deezer's and MusicBrainz's
#: those of the album's match. Only albums the load holds.
ALBUM_GENRES_SQL = """
DELETE FROM album_genres;
INSERT INTO album_genres SELECT DISTINCT album_id, source, genre FROM (
    SELECT aa.album_id, 'spotify' AS source, g.genre FROM album_artists aa
        JOIN artist_genres g USING (artist_id)
    UNION ALL SELECT album_id, 'deezer', unnest(genres) FROM deezer_albums
    UNION ALL SELECT album_id, 'musicbrainz', unnest(genres) FROM musicbrainz_releases
) WHERE genre IS NOT NULL AND genre <> '' AND album_id IN (SELECT album_id FROM albums);
"""


#: The tables a dataset's load adds to :data:`TABLES`.
DATASET_TABLES = ("artist_snapshots", "deezer_artist_snapshots", "listings", "runs", "events")
#: Views over the tables, in SQL that DuckDB and PostgreSQL both run.
VIEWS = {
    "album_presence": (
        "SELECT album_id, market, min(observed_at) AS first_seen,"
        " max(observed_at) AS last_seen, count(DISTINCT run_id) AS runs_listed,"
        " min(position) AS best_position FROM listings GROUP BY album_id, market"
    ),
}
#: Every load's views, in SQL that DuckDB and PostgreSQL both run: one popularity per album,
#: artist and track, Spotify's where it has one, else Deezer's, with its source and measure
#: (spotify popularity 0-100; deezer fans, nb_fan or rank: counts, not a 0-100 scale).
POPULARITY_VIEWS = {
    "album_popularity": (
        "SELECT a.album_id,"
        " CASE WHEN a.popularity IS NOT NULL THEN 'spotify'"
        "  WHEN d.fans IS NOT NULL THEN 'deezer' END AS popularity_source,"
        " CASE WHEN a.popularity IS NOT NULL THEN 'popularity'"
        "  WHEN d.fans IS NOT NULL THEN 'fans' END AS popularity_measure,"
        " coalesce(CAST(a.popularity AS BIGINT), d.fans) AS popularity"
        " FROM albums a LEFT JOIN deezer_albums d ON d.album_id = a.album_id"
    ),
    "artist_popularity": (
        "SELECT a.artist_id, a.name,"
        " CASE WHEN a.popularity IS NOT NULL THEN 'spotify'"
        "  WHEN d.nb_fan IS NOT NULL THEN 'deezer' END AS popularity_source,"
        " CASE WHEN a.popularity IS NOT NULL THEN 'popularity'"
        "  WHEN d.nb_fan IS NOT NULL THEN 'nb_fan' END AS popularity_measure,"
        " coalesce(CAST(a.popularity AS BIGINT), d.nb_fan) AS popularity"
        " FROM artists a LEFT JOIN deezer_artists d ON d.artist_id = a.artist_id"
    ),
    "track_popularity": (
        "SELECT t.track_id, t.album_id,"
        " CASE WHEN d.rank IS NOT NULL THEN 'deezer' END AS popularity_source,"
        " CASE WHEN d.rank IS NOT NULL THEN 'rank' END AS popularity_measure,"
        " d.rank AS popularity"
        " FROM tracks t LEFT JOIN deezer_tracks d ON d.track_id = t.track_id"
    ),
}

LISTING_COLUMNS = {
    "observed_at": "VARCHAR",
    "market": "VARCHAR",
    "position": "INTEGER",
    "album_id": "VARCHAR",
}
EVENT_COLUMNS = {
    "at": "VARCHAR",
    "market": "VARCHAR",
    "album_id": "VARCHAR",
    "event": "VARCHAR",
    "position": "INTEGER",
    "previous_position": "INTEGER",
}
_RUN_COUNTS = ", ".join(f"{name} BIGINT" for name in COUNTS)

DATASET_SCHEMA = f"""
ALTER TABLE errors ADD COLUMN IF NOT EXISTS run_id VARCHAR;
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,      -- the run's UTC start, e.g. 2026-12-03T071300Z
    started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    status VARCHAR,                  -- complete, stopped, failed, interrupted, abandoned
    markets VARCHAR[],
    {_RUN_COUNTS},                   -- what the run added (dataset.json's counts)
    loaded_at TIMESTAMPTZ            -- when this file last read the run
);
CREATE TABLE IF NOT EXISTS artist_snapshots (
    run_id VARCHAR, artist_id VARCHAR, popularity INTEGER, followers BIGINT,
    genres VARCHAR[], fetched_at TIMESTAMPTZ, PRIMARY KEY (run_id, artist_id)
);
CREATE TABLE IF NOT EXISTS deezer_artist_snapshots (
    run_id VARCHAR, artist_id VARCHAR, matched BOOLEAN NOT NULL, deezer_id BIGINT,
    nb_fan BIGINT, nb_album INTEGER, fetched_at TIMESTAMPTZ, PRIMARY KEY (run_id, artist_id)
);
CREATE TABLE IF NOT EXISTS listings (
    run_id VARCHAR, observed_at TIMESTAMPTZ, run_date DATE, market VARCHAR,
    position INTEGER,                -- 1-based in the market's listing
    album_id VARCHAR NOT NULL, PRIMARY KEY (run_id, market, position)
);
CREATE TABLE IF NOT EXISTS events (
    run_id VARCHAR, "at" TIMESTAMPTZ, market VARCHAR, album_id VARCHAR,
    event VARCHAR,                   -- listed or delisted, against the previous run
    position INTEGER, previous_position INTEGER, PRIMARY KEY (run_id, market, album_id)
);
"""


def create_views(con: duckdb.DuckDBPyConnection, views: Mapping[str, str]) -> None:
    """Create or replace ``views`` (name to query) in the current schema."""
    for name, sql in views.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")


def fill_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create or replace :data:`TABLES` in the current schema from the ``_raw_<stream>``
    views (see :func:`create_sources`): albums and artists once each, the latest wins."""
    con.execute(TABLES_SQL)
    con.execute(_FILL)
    con.execute(ALBUM_GENRES_SQL)


#: The shape of :data:`TABLES`, for a load that merges into them rather than replacing.
SCHEMA_IF_ABSENT = TABLES_SQL.replace("CREATE OR REPLACE TABLE", "CREATE TABLE IF NOT EXISTS")
#: A single pull's load replaces the tables a dataset's load adds, if the file held them.
DROP_DATASET_TABLES = """
DROP VIEW IF EXISTS album_presence;
DROP TABLE IF EXISTS listings; DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS artist_snapshots; DROP TABLE IF EXISTS deezer_artist_snapshots;
DROP TABLE IF EXISTS runs;
"""


#: Foreign keys declared where every row satisfies them: (table, column, parent table).
FOREIGN_KEYS = (
    ("tracks", "album_id", "albums"),
    ("album_artists", "album_id", "albums"),
    ("album_artists", "artist_id", "artists"),
    ("track_artists", "track_id", "tracks"),
    ("track_artists", "artist_id", "artists"),
    ("album_markets", "album_id", "albums"),
    ("artist_genres", "artist_id", "artists"),
    ("album_genres", "album_id", "albums"),
    # A dataset's per-run tables: a run's rows in a load replace its earlier ones.
    ("artist_snapshots", "run_id", "runs"),
    ("artist_snapshots", "artist_id", "artists"),
    ("deezer_artist_snapshots", "run_id", "runs"),
    ("listings", "run_id", "runs"),
    ("events", "run_id", "runs"),
)


@dataclass(frozen=True)
class Column:
    """A column of a loaded table and its DuckDB type."""

    name: str
    duck_type: str


@dataclass(frozen=True)
class Table:
    """A loaded table: its columns and its primary key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]


def describe(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """The base tables of ``con``'s main schema with their columns and primary keys, in
    dependency order (parents of :data:`FOREIGN_KEYS` first)."""
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
            " AND database_name = current_database() AND NOT temporary ORDER BY table_name"
        ).fetchall()
    ]
    tables = []
    for name in names:
        columns = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?"
            " AND schema_name = 'main' AND database_name = current_database()"
            " ORDER BY column_index",
            [name],
        ).fetchall()
        key = con.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = ?"
            " AND schema_name = 'main' AND database_name = current_database()"
            " AND constraint_type = 'PRIMARY KEY'",
            [name],
        ).fetchone()
        tables.append(
            Table(name, tuple(Column(c, t) for c, t in columns), tuple(key[0]) if key else ())
        )
    depth = {name: 0 for name in names}
    for _ in names:  # longest chain of parents; the foreign keys form no cycle
        for child, _column, parent in FOREIGN_KEYS:
            if child in depth and parent in depth:
                depth[child] = max(depth[child], depth[parent] + 1)
    return sorted(tables, key=lambda t: (depth[t.name], t.name))


@dataclass(frozen=True)
class LoadResult:
    """Row counts of the loaded tables and whether the pull was still being written."""

    counts: dict[str, int]
    in_progress: bool
    #: What else the terminal line says (a dataset's load: the runs it read).
    note: str = ""

    def summary(self) -> str:
        """One line for the terminal."""
        counted = ", ".join(f"{n} {table}" for table, n in self.counts.items())
        tail = " (committed records only: the pull is running or was interrupted)"
        return counted + self.note + (tail if self.in_progress else "")


def create_sources(
    con: duckdb.DuckDBPyConnection, parts: Sequence[tuple[str | None, Mapping[str, Path | None]]]
) -> None:
    """Temporary views ``_raw_<stream>`` over the committed files of each part (a run id,
    or None for a single pull, and a path per stream, None if absent), with a ``run_id``."""
    for stream, columns in _COLUMNS.items():
        sources = [
            _source(paths.get(stream), columns, run_id)
            for run_id, paths in parts
            if paths.get(stream) is not None
        ]
        union = " UNION ALL ".join(sources) or _source(None, columns, None)
        con.execute(f"CREATE OR REPLACE TEMP VIEW _raw_{stream} AS {union}")


def drop_sources(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the views :func:`create_sources` made."""
    for stream in _COLUMNS:
        con.execute(f"DROP VIEW _raw_{stream}")


def read_ndjson(path: Path, columns: Mapping[str, str]) -> str:
    """DuckDB's reader of one NDJSON file (plain or gzip), reading only ``columns``."""
    spec = ", ".join(f"{quote(name)}: {quote(kind)}" for name, kind in columns.items())
    return f"read_ndjson({quote(str(path))}, columns = {{{spec}}}, compression = 'auto_detect')"


def _source(path: Path | None, columns: Mapping[str, str], run_id: str | None) -> str:
    tag = "NULL::VARCHAR" if run_id is None else quote(run_id)
    if path is None:
        fields = ", ".join(f'NULL::{kind} AS "{name}"' for name, kind in columns.items())
        return f"SELECT {fields}, {tag} AS run_id WHERE false"
    return f"SELECT *, {tag} AS run_id FROM {read_ndjson(path, columns)}"


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
