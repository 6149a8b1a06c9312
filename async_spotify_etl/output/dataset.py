"""A dataset kept over time: one folder per run, an index of the runs that ended, a lock.

    DIR/dataset.json           the index: every run that ended, in time order, and how
                               far publishing them to each stream got (``published``)
    DIR/.lock                  held (flock) by the run in progress
    DIR/runs/<run id>/         one run: a pull directory (albums.ndjson, tracks.ndjson,
                               artists.ndjson, errors.ndjson, .journal, manifest.json)
                               plus listings.ndjson and events.ndjson

A run id is the run's UTC start time (``2026-12-03T071300Z``), so folders sort in time
order. The index is replaced atomically when a run ends: readers take the runs it lists
and never see one half-written; a run folder the index does not list (the run is going,
or was killed) is the one the next run finishes first.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..core.errors import ConfigurationError
from ..core.timestamps import now_iso
from .journal import read_journal
from .layout import STREAMS, journal_path
from .reader import read_committed

log = logging.getLogger(__name__)

INDEX_NAME = "dataset.json"
LOCK_NAME = ".lock"
RUNS_DIR = "runs"
LISTINGS_NAME = "listings.ndjson"
EVENTS_NAME = "events.ndjson"
#: The layout's version, in the index.
FORMAT = 1
#: The index's key for how far publishing to each stream got (see stream/publisher.py).
PUBLISHED_KEY = "published"
_ID_FORMAT = "%Y-%m-%dT%H%M%SZ"


def is_dataset(path: Path) -> bool:
    """Whether ``path`` holds a dataset (its index), rather than one pull."""
    return (path / INDEX_NAME).is_file()


@dataclass(frozen=True)
class Held:
    """What the runs of a dataset already hold: album ids with when each was fetched last,
    and the artists fetched (or failed) in any run."""

    albums: Mapping[str, str]
    artists: frozenset[str]

    def albums_since(self, cutoff: dt.datetime | None) -> frozenset[str]:
        """The albums fetched after ``cutoff`` (all of them when None): not to fetch again."""
        if cutoff is None:
            return frozenset(self.albums)
        return frozenset(a for a, at in self.albums.items() if _parsed(at) >= cutoff)


class Dataset:
    """The dataset in ``root``: its runs, its index and its lock."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index_path = root / INDEX_NAME

    def __repr__(self) -> str:
        return f"<Dataset {str(self.root)!r}>"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the dataset's lock for one run: a second run at once is refused."""
        try:
            (self.root / RUNS_DIR).mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigurationError(f"cannot use the dataset {self.root}: {exc.strerror}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigurationError(
                    f"another run is writing to the dataset in {self.root}"
                ) from None
            if not self.index_path.exists():
                self.write_index([])
            yield
        finally:
            os.close(fd)

    def runs(self) -> list[dict[str, Any]]:
        """The index: every run that ended, in time order."""
        try:
            data = orjson.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return []
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read {self.index_path}: {exc}") from exc
        runs = data.get("runs") if isinstance(data, dict) else None
        if not isinstance(runs, list):
            raise ConfigurationError(f"{self.index_path} holds no list of runs")
        return runs

    def write_index(self, runs: Sequence[Mapping[str, Any]]) -> None:
        """Replace the index's runs atomically (written aside, synced, renamed over); its
        other keys (``published``) are kept."""
        self._write({**self._index(), "format": FORMAT, "runs": list(runs)})

    def published(self, target: str) -> dict[str, Any] | None:
        """How far publishing the runs to ``target`` (a stream's subject prefix) got, as
        :meth:`record_published` last recorded it; None if never."""
        progress = (self._index().get(PUBLISHED_KEY) or {}).get(target)
        return dict(progress) if isinstance(progress, dict) else None

    def record_published(self, target: str, progress: Mapping[str, Any]) -> None:
        """Record in the index how far publishing to ``target`` got (the publisher's own
        mapping), keeping the runs and every other target's progress."""
        index = self._index()
        published = index.get(PUBLISHED_KEY)
        published = dict(published) if isinstance(published, dict) else {}
        published[target] = dict(progress)
        self._write({**index, "format": FORMAT, PUBLISHED_KEY: published})

    def _index(self) -> dict[str, Any]:
        try:
            data = orjson.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return {"runs": []}
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read {self.index_path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigurationError(f"{self.index_path} holds no list of runs")
        return data

    def _write(self, index: Mapping[str, Any]) -> None:
        body = orjson.dumps(index, option=orjson.OPT_INDENT_2)
        tmp = self.index_path.with_name(f".{INDEX_NAME}.tmp")
        with tmp.open("wb") as f:
            f.write(body + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.index_path)

    def unfinished(self, runs: Sequence[Mapping[str, Any]]) -> Path | None:
        """The last run folder, if it did not complete (killed, stopped, interrupted,
        failed): the next run finishes it first."""
        folders = sorted(p for p in (self.root / RUNS_DIR).iterdir() if p.is_dir())
        if not folders:
            return None
        last = folders[-1]
        entry = next((r for r in runs if r.get("id") == last.name), None)
        return last if entry is None or entry.get("status") != "complete" else None

    def new_run(self, started: dt.datetime) -> Path:
        """A new, empty run folder named by ``started`` (later than every other run)."""
        folders = sorted(p.name for p in (self.root / RUNS_DIR).iterdir() if p.is_dir())
        name = started.strftime(_ID_FORMAT)
        while folders and name <= folders[-1]:  # two runs within one second
            started += dt.timedelta(seconds=1)
            name = started.strftime(_ID_FORMAT)
        path = self.root / RUNS_DIR / name
        path.mkdir()
        return path

    def held(self, runs: Sequence[Mapping[str, Any]]) -> Held:
        """What the indexed ``runs`` committed: albums written (when) and artists done."""
        albums: dict[str, str] = {}
        artists: set[str] = set()
        for run in runs:
            folder = self.root / str(run["path"])
            for album in read_committed(folder, "albums"):
                at = (album.get("_etl") or {}).get("extracted_at") or ""
                if isinstance(album.get("id"), str) and at >= albums.get(album["id"], ""):
                    albums[album["id"]] = at
            artists |= read_journal(journal_path(folder), STREAMS).artists_done
        return Held(albums, frozenset(artists))

    def record_listing(
        self,
        run: Path,
        listed: Mapping[str, Sequence[str]],
        runs: Sequence[Mapping[str, Any]],
    ) -> None:
        """Write the run's listings.ndjson and events.ndjson (vs the latest indexed run
        with listings), once: a resumed run keeps the listing its first attempt saw."""
        if (run / LISTINGS_NAME).exists():
            return
        at = now_iso()
        now = {m: {a: n for n, a in enumerate(ids, 1)} for m, ids in listed.items()}
        before = self._previous_listing(runs)
        lines = [
            {"run_id": run.name, "observed_at": at, "market": m, "position": n, "album_id": a}
            for m, positions in now.items()
            for a, n in positions.items()
        ]
        events = []
        for market in sorted(now.keys() | before.keys()):
            current, previous = now.get(market, {}), before.get(market, {})
            events += [
                _event(run.name, at, market, a, "listed", n, None)
                for a, n in current.items()
                if a not in previous
            ]
            events += [
                _event(run.name, at, market, a, "delisted", None, n)
                for a, n in previous.items()
                if a not in current
            ]
        _write_lines(run / EVENTS_NAME, events)
        _write_lines(run / LISTINGS_NAME, lines)  # last: its presence says both are whole
        log.info("%s: %d listed, %d events", run.name, len(lines), len(events))

    def _previous_listing(self, runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
        for run in reversed(runs):
            listing = recorded_listing(self.root / str(run["path"]))
            if listing is not None:
                return {m: {a: n for n, a in enumerate(ids, 1)} for m, ids in listing.items()}
        return {}


def recorded_listing(run: Path) -> dict[str, list[str]] | None:
    """The listing a run recorded (market to album ids in listing order), or None."""
    path = run / LISTINGS_NAME
    if not path.exists():
        return None
    positions: dict[str, list[tuple[int, str]]] = {}
    with path.open("rb") as f:
        for line in f:
            row = orjson.loads(line)
            positions.setdefault(row["market"], []).append((row["position"], row["album_id"]))
    return {m: [a for _, a in sorted(rows)] for m, rows in positions.items()}


def index_entry(run: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The index's line for a run that ended, from its manifest."""
    return {
        "id": run.name,
        "path": f"{RUNS_DIR}/{run.name}",
        "started_at": manifest.get("started_at"),
        "finished_at": manifest.get("finished_at"),
        "status": manifest.get("status"),
        "markets": manifest.get("markets"),
        "counts": manifest.get("counts"),
        "requests": manifest.get("requests_total"),
        "listed": (run / LISTINGS_NAME).exists(),
    }


def _event(
    run_id: str,
    at: str,
    market: str,
    album_id: str,
    event: str,
    position: int | None,
    previous: int | None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "at": at,
        "market": market,
        "album_id": album_id,
        "event": event,
        "position": position,
        "previous_position": previous,
    }


def _write_lines(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        for record in records:
            f.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _parsed(stamp: str) -> dt.datetime:
    """An ``extracted_at`` stamp (``...Z``); one that cannot be read counts as long ago."""
    try:
        return dt.datetime.fromisoformat(stamp)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
