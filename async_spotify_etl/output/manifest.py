"""manifest.json: what a pull did, so a reader can trust (or question) its files.

Written when a pull starts (status ``running``) and again when it ends, each time
atomically (:func:`~async_spotify_etl.core.files.atomic_write`), so it is never half-written.
Figures are totals over every run of the pull (a first run and its resumes); ``runs``
holds each run's own. A manifest that says ``running`` while no process writes the pull
was killed: :func:`observed_manifest` says so, with the journal's committed counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import orjson

from .._version import __version__
from ..core.errors import ConfigurationError
from ..core.files import atomic_write
from ..core.settings import plain, setting_fields
from .journal import read_journal
from .layout import STREAMS, journal_path, manifest_path
from .sink import COUNTS, is_being_written

PullStatus = Literal["running", "complete", "failed", "stopped", "interrupted"]
#: What a reader may see besides a PullStatus: a run recorded as running that nothing runs.
KILLED: Literal["killed"] = "killed"
Status = Literal["running", "complete", "failed", "stopped", "interrupted", "killed"]
#: The per-endpoint figures of a run that add up endpoint by endpoint.
_PER_ENDPOINT = ("requests", "minimum_requests")


class ManifestError(ConfigurationError):
    """manifest.json is absent, unreadable or not a manifest; the message says which."""


@dataclass(frozen=True)
class RunRecord:
    """One run of a pull, as manifest.json's ``runs`` holds it: what it added (the sink's
    counts), the client's figures (``ClientStats.as_dict()``: requests by endpoint,
    retries, waits, pacing) and the plan's minimum for what this run listed and expanded."""

    status: str
    started_at: str | None
    finished_at: str | None = None
    duration_seconds: float | None = None
    added: Mapping[str, int] = field(default_factory=dict)
    stats: Mapping[str, Any] = field(default_factory=dict)
    minimum_requests: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        # every count, 0 where none was added, as manifest.json has always written them
        object.__setattr__(self, "added", {k: self.added.get(k, 0) for k in COUNTS})

    @property
    def requests(self) -> Mapping[str, int]:
        """The requests this run sent, by endpoint (unknown for a killed run: none)."""
        sent = self.stats.get("requests")
        return sent if isinstance(sent, Mapping) else {}

    def to_dict(self) -> dict[str, Any]:
        """The run as manifest.json writes it: its counts and figures at the top level."""
        return {
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_seconds": self.duration_seconds,
            **self.added,
            **self.stats,
            "minimum_requests": dict(self.minimum_requests),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """A run read back from manifest.json."""
        named = {f.name for f in dataclasses.fields(cls)} | set(COUNTS)
        minimum = data.get("minimum_requests")
        return cls(
            status=str(data.get("status")),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            duration_seconds=data.get("duration_seconds"),
            added={k: data.get(k) or 0 for k in COUNTS},
            stats={k: v for k, v in data.items() if k not in named},
            minimum_requests=dict(minimum) if isinstance(minimum, Mapping) else {},
            error=data.get("error"),
        )


@dataclass(frozen=True)
class Manifest:
    """Everything manifest.json records; counts and figures are totals over every run of
    the pull (``runs`` holds each run's own), ``pacing`` is the last run's."""

    status: Status
    plan: Mapping[str, Any] = field(default_factory=dict)
    markets: Sequence[str] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    this_run: Mapping[str, int] = field(default_factory=dict)
    requests: Mapping[str, int] = field(default_factory=dict)
    #: The plan's minimum summed over the runs: each run's for what it listed and expanded
    #: (a resume lists again), the same scope as ``requests``.
    minimum_requests: Mapping[str, int] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0
    backoff_seconds: float = 0.0
    token_refreshes: int = 0
    started_at: str = ""
    finished_at: str | None = None
    duration_seconds: float = 0.0
    resumed: bool = False
    junk_id_lines: int = 0
    skipped_items: int = 0
    #: Per market: the listing's ``source``, the ``total`` it reported and the items its
    #: paging ``reached`` (search stops at 1,000 whatever its total says).
    reach: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Unique albums found and not done when the run ended (0 once complete; counted from
    #: what was listed so far if the listing stopped).
    albums_left: int = 0
    #: Listed albums this run did not fetch: done by an earlier run of this pull, or (in a
    #: dataset) already held by an earlier run.
    albums_skipped: int = 0
    error: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    arguments: Mapping[str, Any] = field(default_factory=dict)
    #: How the last run paced its requests: the rate given, the window, and with ``auto``
    #: the limit paced by and whether it was learned this run or remembered.
    pacing: Mapping[str, Any] = field(default_factory=dict)
    runs: tuple[RunRecord, ...] = ()
    version: str = __version__

    @classmethod
    def of_runs(cls, runs: Sequence[RunRecord], **fields: Any) -> Manifest:
        """A manifest whose totals are summed over ``runs`` (the last one this run)."""
        names = {f.name for f in dataclasses.fields(cls)}
        totals = {k: v for k, v in _totals(runs).items() if k in names}
        return cls(runs=tuple(runs), **totals, **fields)

    @property
    def last_run(self) -> RunRecord | None:
        return self.runs[-1] if self.runs else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """A manifest read back from manifest.json (unknown keys are ignored); raises
        :class:`ManifestError` for one that is not a manifest."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if not isinstance(values.get("status"), str):
            raise ManifestError("manifest.json has no status")
        runs = values.get("runs") or [_as_run(data)]
        if not isinstance(runs, list) or not all(isinstance(r, Mapping) for r in runs):
            raise ManifestError("manifest.json's runs are not a list of runs")
        for name in ("plan", "counts", "this_run", "requests", "minimum_requests", "arguments"):
            if not isinstance(values.get(name, {}), Mapping):
                raise ManifestError(f"manifest.json's {name} is not an object")
        values["runs"] = tuple(RunRecord.from_dict(r) for r in runs)
        values["markets"] = tuple(values.get("markets") or ())
        try:
            return cls(**values)
        except TypeError as exc:
            raise ManifestError(f"manifest.json is not a manifest ({exc})") from None

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data; request totals are added for quick reading."""
        data = {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "runs"
        }
        data["runs"] = [run.to_dict() for run in self.runs]
        data["requests_total"] = sum(self.requests.values())
        data["minimum_requests_total"] = sum(self.minimum_requests.values())
        return data

    def observed(self, out: Path) -> Manifest:
        """The manifest as a reader should take it: one that says ``running`` while no
        process writes the pull in ``out`` was killed; its status is then ``killed``, its
        counts the journal's."""
        if self.status != "running" or is_being_written(out):
            return self
        counts = dict(read_journal(journal_path(out), STREAMS).counts)
        return dataclasses.replace(self, status=KILLED, counts=counts)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def write_manifest(out: Path, manifest: Manifest) -> Path:
    """Write ``manifest`` into ``out`` atomically and return its path."""
    path = manifest_path(out)
    atomic_write(path, orjson.dumps(manifest.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return path


def load_manifest(out: Path) -> Manifest:
    """manifest.json of the pull in ``out``; :class:`ManifestError` says why there is none."""
    try:
        data = orjson.loads(manifest_path(out).read_bytes())
    except FileNotFoundError:
        raise ManifestError("no manifest.json: the pull has not written one (yet)") from None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ManifestError(f"manifest.json is unreadable ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ManifestError("manifest.json does not hold a JSON object")
    return Manifest.from_dict(data)


def read_manifest(out: Path) -> Manifest | None:
    """manifest.json of the pull in ``out``, or None if absent or unreadable."""
    try:
        return load_manifest(out)
    except ManifestError:
        return None


def earlier_runs(previous: Manifest | None, committed: Mapping[str, int]) -> list[RunRecord]:
    """The ``runs`` of the manifest a resume replaces, its last run closed as it ended.

    ``committed`` are the journal's totals when the resume opened the pull: a run killed
    while its manifest said ``running`` added what the journal holds past its start.
    """
    if previous is None:
        return []
    runs = list(previous.runs)
    if previous.status == "running" and runs:
        at_start = previous.counts
        runs[-1] = dataclasses.replace(
            runs[-1],
            status=KILLED,
            finished_at=None,
            duration_seconds=None,
            added={k: committed.get(k, 0) - at_start.get(k, 0) for k in COUNTS},
        )
    return runs


def _as_run(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A run entry from a manifest written before manifests held ``runs``."""
    added = manifest.get("this_run") or {}
    figures = ("requests", "retries", "throttled", "waited_seconds", "backoff_seconds")
    return {
        "status": manifest.get("status"),
        "started_at": manifest.get("started_at"),
        "finished_at": manifest.get("finished_at"),
        "duration_seconds": manifest.get("duration_seconds"),
        **{k: added.get(k, 0) for k in COUNTS},
        **{k: manifest[k] for k in (*figures, "token_refreshes") if k in manifest},
        "error": manifest.get("error"),
    }


def _totals(runs: Sequence[RunRecord]) -> dict[str, Any]:
    """The pull's figures over its runs: the per-endpoint ones summed endpoint by endpoint,
    the other numbers summed (a killed run's unknown figures count 0), anything else (the
    pacing) the last run's."""
    totals: dict[str, Any] = {name: {} for name in _PER_ENDPOINT}
    for run in runs:
        figures = {**run.stats, "minimum_requests": run.minimum_requests}
        for name, value in figures.items():
            if name in _PER_ENDPOINT:
                for endpoint, n in (value or {}).items():
                    totals[name][endpoint] = totals[name].get(endpoint, 0) + n
            elif isinstance(value, int | float) and not isinstance(value, bool):
                totals[name] = totals.get(name, 0) + value
            else:
                totals[name] = value
    for name, value in totals.items():
        if isinstance(value, float):
            totals[name] = round(value, 3)
    totals["duration_seconds"] = round(sum(run.duration_seconds or 0 for run in runs), 3)
    return totals


def _public_url(url: str) -> str:
    """A URL without any user:password part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def arguments_of(settings: object, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every setting a pull ran with (each field of its settings, the client's in their
    place), as plain data and without any secret: a URL loses its ``user:password``."""
    arguments = {
        f.name: _public_url(value) if f.metadata.get("url") else plain(value)
        for f, value in setting_fields(settings)
    }
    arguments.update(extra or {})
    return arguments
