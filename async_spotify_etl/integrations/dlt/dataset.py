"""``spotify_dataset``: a dataset's runs (or one pull folder) read run by run into rows.

The files are read as every reader of a pull reads them: committed records only
(:func:`~async_spotify_etl.output.reader.read_committed`), runs as the dataset's index
lists them (:class:`~async_spotify_etl.output.dataset.Dataset`), so a run in progress is
not read and a half-written batch never is. The source's state holds each run loaded and
its status then: a pipeline run reads only runs not loaded yet, or loaded before they
completed (their entities merge again; their listing and events are appended once).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import orjson

from ...core.errors import ConfigurationError
from ...output.dataset import EVENTS_NAME, LISTINGS_NAME, Dataset, is_dataset
from ...output.manifest import read_manifest
from ...output.reader import find_pull_files, read_committed
from .releases import Batch
from .rows import Row, album_rows, artist_rows, error_row, event_row, run_row, timestamp, track_rows

#: Records per page handed to dlt.
PAGE = 2000


class DatasetRun:
    """One pipeline run of :func:`spotify_dataset` over the folder ``root``."""

    def __init__(self, root: Path, state: MutableMapping[str, Any]) -> None:
        self.root = root
        self.state = state

    def entries(self) -> list[dict[str, Any]]:
        """The runs to read: a dataset's index, or the one pull in ``root`` as a run."""
        if is_dataset(self.root):
            return [dict(entry) for entry in Dataset(self.root).runs()]
        find_pull_files(self.root)  # one clear line if this is no pull either
        recorded = read_manifest(self.root)
        manifest = recorded.to_dict() if recorded is not None else {}
        return [
            {
                "id": str(manifest.get("started_at") or self.root.name),
                "path": ".",
                "started_at": manifest.get("started_at"),
                "finished_at": manifest.get("finished_at"),
                "status": manifest.get("status") or "unknown",
                "markets": manifest.get("markets") or [],
                "counts": manifest.get("counts") or {},
                "requests": manifest.get("requests_total"),
            }
        ]

    def batches(self) -> Iterator[Batch]:
        loaded: dict[str, Any] = dict(self.state.get("runs") or {})
        for entry in self.entries():
            run_id = str(entry["id"])
            before = loaded.get(run_id)
            if isinstance(before, dict) and before.get("status") == "complete":
                continue
            folder = (self.root / str(entry.get("path") or run_id)).resolve()
            if not folder.is_relative_to(self.root.resolve()) or not folder.is_dir():
                raise ConfigurationError(f"run {run_id} of {self.root} is missing: {folder}")
            listed = isinstance(before, dict) and bool(before.get("listed"))
            yield from _pages(self._run(run_id, folder, entry, listed))
            loaded[run_id] = {
                "status": entry.get("status"),
                "listed": listed or (folder / LISTINGS_NAME).is_file(),
            }
            self.state["runs"] = loaded

    def _run(
        self, run_id: str, folder: Path, entry: Mapping[str, Any], listed: bool
    ) -> Iterator[tuple[str, Row]]:
        if _has_pull(folder):
            for album in read_committed(folder, "albums"):
                yield from album_rows(album, ())
            for track in read_committed(folder, "tracks"):
                yield from track_rows(track)
            for artist in read_committed(folder, "artists"):
                yield from artist_rows(artist, run_id)
            for record in read_committed(folder, "errors"):
                yield "errors", error_row(record, run_id)
        if not listed:  # appended once per run, however often the run is read
            for line in _lines(folder / LISTINGS_NAME):
                yield (
                    "listings",
                    {
                        "run_id": run_id,
                        "observed_at": timestamp(line.get("observed_at")),
                        "market": line.get("market"),
                        "position": line.get("position"),
                        "album_id": line.get("album_id"),
                    },
                )
                yield (
                    "album_markets",
                    {"album_id": line.get("album_id"), "market": line.get("market")},
                )
            for line in _lines(folder / EVENTS_NAME):
                yield "events", event_row(run_id, line)
        yield (
            "runs",
            run_row(
                run_id,
                started_at=entry.get("started_at"),
                finished_at=entry.get("finished_at"),
                status=str(entry.get("status") or "unknown"),
                markets=[str(m) for m in entry.get("markets") or ()],
                counts=counts if isinstance(counts := entry.get("counts"), dict) else {},
                requests=entry.get("requests") if isinstance(entry.get("requests"), int) else None,
            ),
        )


def _has_pull(folder: Path) -> bool:
    try:
        find_pull_files(folder)
    except ConfigurationError:
        return False  # a run stopped before its first album: only its listing
    return True


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a listings or events file (written whole, atomically), if any."""
    if not path.is_file():
        return
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                record = orjson.loads(line)
                if isinstance(record, dict):
                    yield record


def _pages(rows: Iterator[tuple[str, Row]]) -> Iterator[Batch]:
    batch: Batch = {}
    n = 0
    for table, row in rows:
        batch.setdefault(table, []).append(row)
        n += 1
        if n >= PAGE:
            yield batch
            batch, n = {}, 0
    if batch:
        yield batch
