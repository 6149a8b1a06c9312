"""manifest.json: what a pull did, so a reader can trust (or question) its files.

Written when a pull starts (status ``running``) and again when it ends, each time
atomically (a temporary file renamed over the old one), so it is never half-written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import orjson

from .._version import __version__
from ..core.settings import PullSettings

PullStatus = Literal["running", "complete", "failed", "stopped", "interrupted"]


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
    error: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data; request totals are added for quick reading."""
        data = asdict(self)
        data["requests_total"] = sum(self.requests.values())
        data["minimum_requests_total"] = sum(self.minimum_requests.values())
        return data


def write_manifest(out: Path, manifest: Manifest, name: str = "manifest.json") -> Path:
    """Write ``manifest`` into ``out`` atomically and return its path."""
    path = out / name
    tmp = out / f".{name}.tmp"
    tmp.write_bytes(orjson.dumps(manifest.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    os.replace(tmp, path)
    return path


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
        "window": None if client.window is None else list(client.window),
        "concurrency": client.concurrency,
        "max_retries": client.max_retries,
        "max_wait": client.max_wait,
        "timeout": client.timeout,
    }
    arguments.update(extra or {})
    return arguments
