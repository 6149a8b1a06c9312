"""manifest.json: what a pull did, so a reader can trust (or question) its files.

Written when a pull starts (status ``running``) and again when it ends, each time
atomically (:func:`~async_spotify_etl.core.files.atomic_write`), so it is never half-written.
Figures are totals over every run of the pull (a first run and its resumes); ``runs``
holds each run's own. A manifest that says ``running`` while no process writes the pull
was killed: :func:`observed_manifest` says so, with the journal's committed counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import orjson

from .._version import __version__
from ..core.files import atomic_write
from ..core.settings import PullSettings
from .journal import read_journal
from .layout import STREAMS, journal_path, manifest_path
from .sink import is_being_written

PullStatus = Literal["running", "complete", "failed", "stopped", "interrupted"]
#: What a reader may see besides a PullStatus: a run recorded as running that nothing runs.
KILLED = "killed"
#: The figures of one run that add up to the pull's totals.
#: What a run adds to a pull, recorded per run and as totals.
ADDED = ("albums", "tracks", "failed", "artists", "artists_failed")
_SUMMED = ("retries", "throttled", "waited_seconds", "backoff_seconds", "token_refreshes")


@dataclass
class Manifest:
    """Everything manifest.json records; counts are totals over every run of the pull."""

    status: PullStatus
    plan: dict[str, Any]
    markets: list[str]
    counts: dict[str, int]
    this_run: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    minimum_requests: dict[str, int] = field(default_factory=dict)
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
    files: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)
    #: How this run paced its requests: the rate given, the window, and with ``auto`` the
    #: limit paced by and whether it was learned this run or remembered from an earlier one.
    pacing: dict[str, Any] = field(default_factory=dict)
    #: One entry per run: status, times, what it added and the requests it sent.
    runs: list[dict[str, Any]] = field(default_factory=list)
    version: str = __version__

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """A manifest read back from manifest.json (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data; request totals are added for quick reading."""
        data = asdict(self)
        data["requests_total"] = sum(self.requests.values())
        data["minimum_requests_total"] = sum(self.minimum_requests.values())
        return data


def write_manifest(out: Path, manifest: Manifest) -> Path:
    """Write ``manifest`` into ``out`` atomically and return its path."""
    path = manifest_path(out)
    atomic_write(path, orjson.dumps(manifest.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return path


def read_manifest(out: Path) -> dict[str, Any] | None:
    """manifest.json of the pull in ``out`` as written, or None if absent or unreadable."""
    try:
        data = orjson.loads(manifest_path(out).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def observed_manifest(out: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest as a reader should take it: one that says ``running`` while no process
    writes the pull was killed; its status is then ``killed``, its counts the journal's."""
    observed = dict(data)
    if data.get("status") == "running" and not is_being_written(out):
        observed["status"] = KILLED
        observed["counts"] = dict(read_journal(journal_path(out), STREAMS).counts)
    return observed


def earlier_runs(
    previous: Mapping[str, Any] | None, committed: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The ``runs`` of the manifest a resume replaces, its last run closed as it ended.

    ``committed`` are the journal's totals when the resume opened the pull: a run killed
    while its manifest said ``running`` added what the journal holds past its start.
    """
    if previous is None:
        return []
    runs = [dict(run) for run in previous.get("runs") or [_as_run(previous)]]
    if previous.get("status") == "running" and runs:
        at_start = previous.get("counts") or {}
        runs[-1].update(
            status=KILLED,
            finished_at=None,
            duration_seconds=None,
            **{k: committed.get(k, 0) - at_start.get(k, 0) for k in ADDED},
        )
    return runs


def _as_run(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A run entry from a manifest written before manifests held ``runs``."""
    added = manifest.get("this_run") or {}
    run = {
        "status": manifest.get("status"),
        "started_at": manifest.get("started_at"),
        "finished_at": manifest.get("finished_at"),
        "duration_seconds": manifest.get("duration_seconds"),
        **{k: added.get(k, 0) for k in ADDED},
        "requests": dict(manifest.get("requests") or {}),
        **{k: manifest.get(k, 0) for k in _SUMMED},
        "error": manifest.get("error"),
    }
    return run


def totals(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The pull's figures summed over its runs (a killed run's unknown figures count 0)."""
    requests: dict[str, int] = {}
    for run in runs:
        for endpoint, n in (run.get("requests") or {}).items():
            requests[endpoint] = requests.get(endpoint, 0) + n
    summed = {k: sum(run.get(k) or 0 for run in runs) for k in _SUMMED}
    summed["waited_seconds"] = round(summed["waited_seconds"], 3)
    summed["backoff_seconds"] = round(summed["backoff_seconds"], 3)
    duration = round(sum(run.get("duration_seconds") or 0 for run in runs), 3)
    return {"requests": requests, "duration_seconds": duration, **summed}


def _public_url(url: str) -> str:
    """A URL without any user:password part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def arguments_of(settings: PullSettings, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings a pull ran with, as plain data and without any secret."""
    client = settings.client
    arguments: dict[str, Any] = {
        "out": str(settings.out),
        "markets": list(settings.markets),
        "source": settings.source,
        "ids_file": None if settings.ids_file is None else str(settings.ids_file),
        "expand": settings.expand,
        "max_albums": settings.max_albums,
        "resume": settings.resume,
        "compress": settings.compress,
        "api_url": _public_url(client.api_url),
        "token_url": _public_url(client.token_url),
        "rate": client.rate,
        "burst": client.burst,
        "forget_limit": client.forget_limit,
        "window": None if client.window is None else list(client.window),
        "concurrency": client.concurrency,
        "max_retries": client.max_retries,
        "max_wait": client.max_wait,
        "timeout": client.timeout,
    }
    arguments.update(extra or {})
    return arguments
