"""A dataset kept over time: one folder per run, an index of the runs that ended, a lock.

    DIR/dataset.json           the index: every run that ended, in time order, the
                               album and artist ids the dataset holds, and how far
                               publishing the runs to each stream got (``published``)
    DIR/.lock                  held (flock) by the run in progress
    DIR/runs/<run id>/         one run: a pull directory (albums.ndjson, tracks.ndjson,
                               artists.ndjson, errors.ndjson, .journal, manifest.json)
                               plus listings.ndjson and events.ndjson (and, while
                               a stop left its listing short, listing.partial.json)

A run id is the run's UTC start time (``2026-12-03T071300Z``), so folders sort in time
order. This module owns the index: :func:`read_index` is its one reader (strict: one clear
line for a damaged index), :meth:`Dataset.write_index` its one writer, replacing it
atomically when a run ends, so readers never see a run half-written. A run folder the
index does not list (the run is going, or was killed) is the one the next run finishes
first. A lost index is rebuilt from the runs' manifests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..core.errors import ConfigurationError
from ..core.files import atomic_write
from ..core.timestamps import now_iso
from .journal import read_journal
from .layout import STREAMS, journal_path, manifest_path, pull_files_present, refuse_unsafe
from .manifest import read_manifest
from .reader import read_committed

log = logging.getLogger(__name__)

INDEX_NAME = "dataset.json"
LOCK_NAME = ".lock"
RUNS_DIR = "runs"
LISTINGS_NAME = "listings.ndjson"
EVENTS_NAME = "events.ndjson"
#: The pages a run's listing read before a stop (a budget spent while listing), until the
#: listing is read to its end and listings.ndjson replaces it.
PARTIAL_LISTING_NAME = "listing.partial.json"
#: The layout's version, in the index.
FORMAT = 1
#: The index status of an unfinished run the user chose not to finish.
ABANDONED = "abandoned"
#: Statuses after which a run is never resumed.
FINAL = ("complete", ABANDONED)
#: The index's key for how far publishing to each stream got (see stream/publisher.py).
PUBLISHED_KEY = "published"
_ID_FORMAT = "%Y-%m-%dT%H%M%SZ"
#: Keys every run of the index has (the rest may be absent in older indexes).
_REQUIRED = {"id": str, "path": str, "status": str, "markets": list, "counts": dict}


def is_dataset(path: Path) -> bool:
    """Whether ``path`` holds a dataset (its index, or run folders whose index was lost),
    rather than one pull."""
    return (path / INDEX_NAME).is_file() or bool(_run_folders(path))


def dataset_above(path: Path) -> Path | None:
    """The dataset ``path`` lies in or is (itself or a parent holds one), or None."""
    for folder in (path, *path.absolute().parents):
        if is_dataset(folder):
            return folder
    return None


def holds_pull(path: Path) -> bool:
    """Whether ``path`` holds the files of a plain pull (not a dataset)."""
    return bool(pull_files_present(path, "none") or pull_files_present(path, "gzip"))


@dataclass(frozen=True)
class Held:
    """What the runs of a dataset already hold: album ids with when each was fetched last,
    and the artists fetched (or failed) in any run."""

    albums: Mapping[str, str] = field(default_factory=dict)
    artists: frozenset[str] = frozenset()

    def albums_since(self, cutoff: dt.datetime | None) -> frozenset[str]:
        """The albums fetched after ``cutoff`` (all of them when None): not to fetch again."""
        if cutoff is None:
            return frozenset(self.albums)
        return frozenset(a for a, at in self.albums.items() if _parsed(at) >= cutoff)

    def merged(self, other: Held) -> Held:
        albums = dict(self.albums)
        for album, at in other.albums.items():
            if at >= albums.get(album, ""):
                albums[album] = at
        return Held(albums, self.artists | other.artists)


@dataclass(frozen=True)
class Index:
    """dataset.json as read: its runs (each line as written, unknown keys kept), what the
    dataset holds, and whether it was rebuilt from the runs' manifests."""

    runs: list[dict[str, Any]]
    held: Held
    extra: dict[str, Any] = field(default_factory=dict)
    rebuilt: bool = False

    def run(self, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.runs if r["id"] == run_id), None)

    def published(self, target: str) -> dict[str, Any] | None:
        """How far publishing the runs to ``target`` (a stream's subject prefix) got, as
        :meth:`Dataset.record_published` last recorded it; None if never."""
        recorded = self.extra.get(PUBLISHED_KEY)
        progress = recorded.get(target) if isinstance(recorded, dict) else None
        return dict(progress) if isinstance(progress, dict) else None


def read_index(root: Path) -> Index:
    """The dataset's index, checked: one line (a ConfigurationError) if it is damaged.

    A missing index beside run folders is rebuilt (in memory) from their manifests; the
    next pull writes it. What the dataset holds comes from the index; for runs it does not
    cover (an index written before it recorded them), from their folders, once."""
    path = root / INDEX_NAME
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return _rebuilt(root)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _damaged(path, "it is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise _damaged(path, "it holds no list of runs")
    if data.get("format") != FORMAT:
        raise ConfigurationError(
            f"{path} has format {data.get('format')!r}; this tool reads format {FORMAT}:"
            " upgrade async-spotify-etl"
        )
    runs = [_checked(root, path, n, entry) for n, entry in enumerate(data["runs"], 1)]
    ids = [r["id"] for r in runs]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise _damaged(path, f"it lists run {twice} twice")
    extra = {k: v for k, v in data.items() if k not in ("format", "runs", "held")}
    held, covered = _stored_held(data.get("held"))
    for run in runs:
        if run["id"] not in covered:
            held = held.merged(held_by(root / run["path"]))
    return Index(runs, held, extra)


def _damaged(path: Path, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"{path} is damaged: {why}; repair it, or move it aside and the next pull"
        " rebuilds it from the runs' manifests"
    )


def _checked(root: Path, path: Path, n: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _damaged(path, f"run {n} is not an object")
    which = f"run {entry['id']}" if isinstance(entry.get("id"), str) else f"run {n}"
    for key, kind in _REQUIRED.items():
        if not isinstance(entry.get(key), kind):
            raise _damaged(path, f"{which} has no valid {key!r}")
        if key == "path" and not _inside(root / RUNS_DIR, root / entry["path"]):
            raise _damaged(path, f"{which} lies outside {root / RUNS_DIR}")
    return entry


def _inside(parent: Path, path: Path) -> bool:
    parent, path = parent.resolve(), path.resolve()
    return path != parent and path.is_relative_to(parent)


def _stored_held(data: Any) -> tuple[Held, set[str]]:
    """The ``held`` part of the index, and the runs it covers; derived data, so a damaged
    one is only re-derived from the run folders."""
    if not isinstance(data, dict):
        return Held(), set()
    albums, artists, runs = data.get("albums"), data.get("artists"), data.get("runs")
    if not (isinstance(albums, dict) and isinstance(artists, list) and isinstance(runs, list)):
        log.warning("the held ids in %s are damaged: reading them from the runs", INDEX_NAME)
        return Held(), set()
    held = Held({str(k): str(v) for k, v in albums.items()}, frozenset(map(str, artists)))
    return held, {str(r) for r in runs}


def _run_folders(root: Path) -> list[Path]:
    """The run folders of ``root`` (those that hold a manifest or journal), in time order."""
    runs = root / RUNS_DIR
    if not runs.is_dir():
        return []
    marked = (manifest_path, journal_path)
    return sorted(p for p in runs.iterdir() if p.is_dir() and any(m(p).exists() for m in marked))


def _rebuilt(root: Path) -> Index:
    """The index of a dataset whose dataset.json is missing, from its runs' manifests."""
    runs = []
    for folder in _run_folders(root):
        manifest = read_manifest(folder)
        if manifest is not None and manifest.status != "running":
            runs.append(index_entry(folder, manifest.to_dict()))
    if not runs and not _run_folders(root):
        return Index([], Held())
    log.warning(
        "%s is missing: rebuilt from the manifests of %d run(s) in %s",
        root / INDEX_NAME,
        len(runs),
        root / RUNS_DIR,
    )
    held = Held()
    for run in runs:
        held = held.merged(held_by(root / run["path"]))
    return Index(runs, held, rebuilt=True)


def held_by(folder: Path) -> Held:
    """What one run folder committed: albums written (when) and artists done."""
    albums: dict[str, str] = {}
    if not folder.is_dir():
        return Held()
    for album in read_committed(folder, "albums"):
        at = (album.get("_etl") or {}).get("extracted_at") or ""
        if isinstance(album.get("id"), str) and at >= albums.get(album["id"], ""):
            albums[album["id"]] = at
    artists = read_journal(journal_path(folder), STREAMS).artists_done
    return Held(albums, frozenset(artists))


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
        if holds_pull(self.root):
            raise ConfigurationError(
                f"{self.root} holds a pull, not a dataset: give --dataset a new or dataset"
                " folder (or --out to continue that pull)"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # nothing in a dataset is written through a link (#23.6)
            index_tmp = f".{INDEX_NAME}.tmp"
            refuse_unsafe(self.root, (LOCK_NAME, INDEX_NAME, index_tmp))
            refuse_unsafe(self.root, (RUNS_DIR,), folders=True)
            (self.root / RUNS_DIR).mkdir(exist_ok=True)
            runs = self.root / RUNS_DIR
            refuse_unsafe(runs, sorted(p.name for p in runs.iterdir()), folders=True)
            fd = os.open(self.root / LOCK_NAME, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise ConfigurationError(f"cannot use the dataset {self.root}: {exc.strerror}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigurationError(
                    f"another run is writing to the dataset in {self.root}"
                ) from None
            index = read_index(self.root)
            if index.rebuilt or not self.index_path.exists():
                self.write_index(index)
            yield
        finally:
            os.close(fd)

    def index(self) -> Index:
        """The index, checked (see :func:`read_index`)."""
        return read_index(self.root)

    def runs(self) -> list[dict[str, Any]]:
        """The index's runs: every run that ended, in time order."""
        return self.index().runs

    def write_index(self, index: Index) -> None:
        """Replace the index atomically (written aside, synced, renamed over)."""
        held = {
            "runs": [r["id"] for r in index.runs],
            "albums": dict(sorted(index.held.albums.items())),
            "artists": sorted(index.held.artists),
        }
        data = {**index.extra, "format": FORMAT, "runs": index.runs, "held": held}
        atomic_write(self.index_path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")

    def ended(self, index: Index, folder: Path, entry: Mapping[str, Any]) -> Index:
        """The index with the run in ``folder`` recorded as ``entry`` (replacing its older
        line), and what it committed added to what the dataset holds; written."""
        runs = [r for r in index.runs if r["id"] != folder.name]
        new = Index([*runs, dict(entry)], index.held.merged(held_by(folder)), index.extra)
        self.write_index(new)
        return new

    def record_published(self, index: Index, target: str, progress: Mapping[str, Any]) -> Index:
        """The index with how far publishing to ``target`` got (the publisher's own
        mapping) recorded, the runs and every other target's progress kept; written."""
        published = index.extra.get(PUBLISHED_KEY)
        published = dict(published) if isinstance(published, dict) else {}
        published[target] = dict(progress)
        new = dataclasses.replace(index, extra={**index.extra, PUBLISHED_KEY: published})
        self.write_index(new)
        return new

    def unfinished(self, index: Index) -> Path | None:
        """The last run folder, if it did not complete (killed, stopped, interrupted,
        failed) and was not abandoned: the next run finishes it first."""
        folders = sorted(p for p in (self.root / RUNS_DIR).iterdir() if p.is_dir())
        if not folders:
            return None
        last = folders[-1]
        entry = index.run(last.name)
        return last if entry is None or entry.get("status") not in FINAL else None

    def abandon(self, index: Index, folder: Path) -> Index:
        """Record the unfinished run in ``folder`` as abandoned: what it committed stays in
        the dataset, and the next run takes a new snapshot instead of finishing it."""
        recorded = read_manifest(folder)
        entry = dict(
            index.run(folder.name)
            or index_entry(folder, recorded.to_dict() if recorded is not None else {})
        )
        entry.update(status=ABANDONED, abandoned_at=now_iso())
        log.warning("abandoned the unfinished run %s of %s", folder.name, self.root)
        return self.ended(index, folder, entry)

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

    def record_listing(
        self,
        run: Path,
        listed: Mapping[str, Sequence[str]],
        runs: Sequence[Mapping[str, Any]],
        *,
        source: str | None = None,
        observed_at: str | None = None,
    ) -> None:
        """Write the run's listings.ndjson and events.ndjson, once: a resumed run keeps
        the listing its first attempt saw. A market's events compare its listing with its
        own latest observation (the latest indexed run that listed it); a market this run
        did not list has none."""
        if (run / LISTINGS_NAME).exists():
            return
        at = observed_at or now_iso()
        now = {m: {a: n for n, a in enumerate(ids, 1)} for m, ids in listed.items()}
        before = self._previous_listings(runs, now.keys())
        lines = [
            {
                "run_id": run.name,
                "observed_at": at,
                "market": m,
                "position": n,
                "album_id": a,
                **({"source": source} if source else {}),
            }
            for m, positions in now.items()
            for a, n in positions.items()
        ]
        events = listing_events(run.name, at, now, before)
        _write_lines(run / EVENTS_NAME, events)
        _write_lines(run / LISTINGS_NAME, lines)  # last: its presence says both are whole
        (run / PARTIAL_LISTING_NAME).unlink(missing_ok=True)
        log.info("%s: %d listed, %d events", run.name, len(lines), len(events))

    def _previous_listings(
        self, runs: Sequence[Mapping[str, Any]], markets: Iterable[str]
    ) -> dict[str, dict[str, int]]:
        """Each market's (or watched artist's) latest observation among ``runs`` (that
        listed it), by position."""
        due, found = set(markets), dict[str, dict[str, int]]()
        for run in reversed(runs):
            if not due:
                break
            # a watchlist's listings are keyed by artist, each one its reach records
            covered = due & (set(run.get("markets") or ()) | set(run.get("reach") or ()))
            if not covered or run.get("listed") is False:
                continue
            listing = recorded_listing(self.root / str(run["path"]))
            if listing is None:
                continue
            for market in covered:
                found[market] = {a: n for n, a in enumerate(listing.get(market, ()), 1)}
            due -= covered
        return found


def record_partial_listing(
    run: Path, so_far: Mapping[str, tuple[Sequence[str], int | None]], source: str
) -> None:
    """Keep what a run's listing read before a stop (each market's ids and the offset it
    goes on from, None once read to its end), so the next attempt goes on from there
    (#23.7); a run whose listing was recorded whole keeps that."""
    if (run / LISTINGS_NAME).exists():
        return
    markets = {m: {"ids": list(ids), "next_offset": start} for m, (ids, start) in so_far.items()}
    atomic_write(run / PARTIAL_LISTING_NAME, orjson.dumps({"source": source, "markets": markets}))


def partial_listing_of(run: Path) -> tuple[dict[str, list[str]], dict[str, int], str] | None:
    """What :func:`record_partial_listing` kept: the ids listed, the offsets to go on
    from, the source; None if there is none or it cannot be read (the run lists anew)."""
    path = run / PARTIAL_LISTING_NAME
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = orjson.loads(path.read_bytes())
        source, markets = data["source"], data["markets"]
        listing = {m: [str(a) for a in v["ids"]] for m, v in markets.items()}
        starts = {
            m: int(v["next_offset"]) for m, v in markets.items() if v["next_offset"] is not None
        }
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        log.warning("%s is unreadable: the run's listing is read anew", path)
        return None
    if not isinstance(source, str):
        return None
    return listing, starts, source


def recorded_listing(run: Path) -> dict[str, list[str]] | None:
    """The listing a run recorded (market to album ids in listing order), or None."""
    recorded = recorded_listing_of(run)
    return None if recorded is None else recorded[0]


def recorded_listing_of(run: Path) -> tuple[dict[str, list[str]], str | None, str | None] | None:
    """The listing a run recorded, the source it was read through (None if not
    recorded) and its observation time; None if the run recorded no listing."""
    path = run / LISTINGS_NAME
    if not path.exists():
        return None
    positions: dict[str, list[tuple[int, str]]] = {}
    source = observed = None
    with path.open("rb") as f:
        for line in f:
            row = orjson.loads(line)
            positions.setdefault(row["market"], []).append((row["position"], row["album_id"]))
            source = row.get("source", source)
            observed = observed or row.get("observed_at")
    listing = {m: [a for _, a in sorted(rows)] for m, rows in positions.items()}
    return listing, source, observed


def index_entry(run: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The index's line for a run that ended, from its manifest: ``markets`` are the
    markets it covered (listed), ``observed_at`` when its listing was observed."""
    recorded = recorded_listing_of(run)
    return {
        "id": run.name,
        "path": f"{RUNS_DIR}/{run.name}",
        "started_at": manifest.get("started_at"),
        "finished_at": manifest.get("finished_at"),
        "status": manifest.get("status") or "unknown",
        "markets": list(manifest.get("markets") or []),
        "counts": dict(manifest.get("counts") or {}),
        "requests": manifest.get("requests_total"),
        "listed": recorded is not None,
        "observed_at": recorded[2] if recorded else None,
        #: Per market: what its listing reported (total) and what paging reached.
        "reach": manifest.get("reach") or {},
    }


def listing_events(
    run_id: str,
    at: str,
    now: Mapping[str, Mapping[str, int]],
    before: Mapping[str, Mapping[str, int]],
) -> list[dict[str, Any]]:
    """The events of a run's listing, as events.ndjson records them: per market of ``now``
    (album id -> position), what entered (``listed``) and what left (``delisted``) since
    that market's own previous observation in ``before``. A market not listed this run
    has no events: it was not observed."""
    events: list[dict[str, Any]] = []
    for market in sorted(now):
        current, previous = now[market], before.get(market, {})
        events += [
            _event(run_id, at, market, a, "listed", n, None)
            for a, n in current.items()
            if a not in previous
        ]
        events += [
            _event(run_id, at, market, a, "delisted", None, n)
            for a, n in previous.items()
            if a not in current
        ]
    return events


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
    atomic_write(path, (orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records))


def _parsed(stamp: str) -> dt.datetime:
    """An ``extracted_at`` stamp (``...Z``); one that cannot be read counts as long ago."""
    try:
        return dt.datetime.fromisoformat(stamp)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
