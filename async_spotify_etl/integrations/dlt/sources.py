"""The two dlt sources: ``spotify_releases`` (the pull) and ``spotify_dataset`` (its files).

Both are one hidden feed resource that yields a page of rows per table at a time, and one
transformer per table of :data:`.rows.TABLES` that takes its table's rows from each page
(dlt runs the feed once and hands every page to each transformer). So every table is a
resource of its own, with its primary key and write disposition declared, and
``source.with_resources("albums", "tracks")`` loads only those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dlt
from dlt.common.schema.typing import TColumnSchema
from dlt.extract.resource import DltResource

from ...core.settings import ArtistsMode, ClientSettings, Credentials, ExpandMode
from .dataset import DatasetRun
from .releases import Batch, ReleasesRun, pull_settings, resolve_credentials
from .rows import TABLES, Row

#: dlt's name for both sources: their config section (``sources.spotify``) and schema.
SECTION = "spotify"


@dlt.source(name=SECTION, section=SECTION, max_table_nesting=0)
def spotify_releases(
    markets: Sequence[str] = ("US",),
    artists: ArtistsMode = "auto",
    expand: ExpandMode = "auto",
    max_albums: int | None = None,
    client: Any = None,
    credentials: Any = None,
) -> list[DltResource]:
    """New releases of ``markets`` with their tracks and artists, fetched by the pull
    engine; each pipeline run fetches only albums the destination does not hold yet.

    ``client`` is a :class:`ClientSettings` (the API and token URLs, pacing, ``budget``),
    ``credentials`` a :class:`Credentials`; without them dlt's secrets
    (``sources.spotify.client_id`` and ``client_secret``) or ``SPOTIFY_CLIENT_ID`` and
    ``SPOTIFY_CLIENT_SECRET`` are used."""
    settings = pull_settings(
        markets, artists, expand, client if client is not None else ClientSettings(), max_albums
    )
    given = credentials if isinstance(credentials, Credentials) else None
    resolved = resolve_credentials(given, _secret)

    def batches() -> Iterator[Batch]:
        yield from ReleasesRun(settings, resolved, dlt.current.source_state()).batches()

    return _tables(batches)


@dlt.source(name=SECTION, section=SECTION, max_table_nesting=0)
def spotify_dataset(path: str | Path = "data") -> list[DltResource]:
    """The runs of a ``--dataset`` folder (or one pull folder) that the destination has not
    loaded yet, in time order; a run loaded before it completed is loaded again."""

    def batches() -> Iterator[Batch]:
        yield from DatasetRun(Path(path), dlt.current.source_state()).batches()

    return _tables(batches)


def _tables(batches: Callable[[], Iterator[Batch]]) -> list[DltResource]:
    feed = dlt.resource(batches, name="_feed", selected=False)
    return [
        dlt.transformer(
            _picker(table),
            data_from=feed,
            name=table,
            primary_key=list(spec.primary_key),
            write_disposition=spec.write_disposition,
            columns=_columns(spec.columns, spec.latest),
        )
        for table, spec in TABLES.items()
    ]


def _picker(table: str) -> Callable[[Batch], Iterator[list[Row]]]:
    def pick(batch: Batch) -> Iterator[list[Row]]:
        rows = batch.get(table)
        if rows:
            yield rows

    return pick


def _columns(columns: Mapping[str, str], latest: str | None) -> dict[str, TColumnSchema]:
    """dlt column hints: every column typed, so a column that is null in every row of a
    load still exists, with its type (a list is one ``json`` column, not a nested table);
    ``latest`` sorts the rows of one key in a load, the latest kept (dlt's dedup_sort)."""
    hints: dict[str, TColumnSchema] = {
        name: {"data_type": kind, "nullable": True}  # type: ignore[typeddict-item]
        for name, kind in columns.items()
    }
    if latest is not None:
        hints[latest]["dedup_sort"] = "desc"
    return hints


def _secret(name: str) -> object:
    """One of dlt's secrets for the source, or None; never logged."""
    return dlt.secrets.get(f"sources.{SECTION}.{name}")
