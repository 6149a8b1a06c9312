"""What an app learned about its API in earlier runs: the rolling-window limit, the fastest
rate it sent without a 429, and which endpoints its access mode allows.

One small JSON file per app and API URL under the user's cache directory
(``$XDG_CACHE_HOME/async_spotify_etl``, else ``~/.cache/async_spotify_etl``; a setting
or ``SPOTIFY_ETL_CACHE_DIR`` moves it). The file is named by a hash of the client id and
the API URL, and holds neither: nothing in it identifies the app, and no token or secret
is ever written. Writes are atomic (a temporary file renamed over the old one), so a
killed run leaves the previous file whole; an unreadable file is as good as none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..core.files import atomic_write
from .learning import Limit

log = logging.getLogger(__name__)

#: Environment variable that moves the cache directory (tests point it at a tmp dir).
CACHE_ENV = "SPOTIFY_ETL_CACHE_DIR"
#: A remembered limit or access mode older than this is learned again.
MAX_AGE = dt.timedelta(days=7)
_VERSION = 1


def cache_dir(configured: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where the memory lives: ``configured``, else ``$SPOTIFY_ETL_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/async_spotify_etl``, else ``~/.cache/async_spotify_etl``."""
    if configured is not None:
        return configured
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "async_spotify_etl"


def memory_key(client_id: str, api_url: str) -> str:
    """The file name's stem: a hash of the app and the API it talks to, not reversible."""
    digest = hashlib.sha256(f"{client_id}\n{api_url.rstrip('/')}".encode())
    return digest.hexdigest()[:32]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@dataclass
class Remembered:
    """One app's memory, as read; :meth:`fresh_limit` and friends apply :data:`MAX_AGE`."""

    limit: Limit | None = None
    limit_at: dt.datetime | None = None
    clean_rate: float | None = None
    #: The most requests a run sent without any 429, and over how long.
    clean_burst: Limit | None = None
    clean_at: dt.datetime | None = None
    #: Endpoint -> allowed (True) or answered 403 (False), as the ``auto`` probes found.
    access: dict[str, bool] = field(default_factory=dict)
    access_at: dt.datetime | None = None
    #: The development-mode warnings this app was given once (never repeated as warnings).
    told: tuple[str, ...] = ()

    def _fresh(self, when: dt.datetime | None, now: dt.datetime) -> bool:
        return when is not None and now - when <= MAX_AGE

    def fresh_limit(self, now: dt.datetime | None = None) -> Limit | None:
        """The remembered limit, unless it is older than a week."""
        return self.limit if self._fresh(self.limit_at, now or _now()) else None

    def fresh_clean_rate(self, now: dt.datetime | None = None) -> float | None:
        """The fastest clean rate, unless it is older than a week."""
        return self.clean_rate if self._fresh(self.clean_at, now or _now()) else None

    def fresh_clean_burst(self, now: dt.datetime | None = None) -> Limit | None:
        """The largest clean run, unless it is older than a week."""
        return self.clean_burst if self._fresh(self.clean_at, now or _now()) else None

    def fresh_access(self, now: dt.datetime | None = None) -> dict[str, bool]:
        """The remembered access mode, unless it is older than a week."""
        return dict(self.access) if self._fresh(self.access_at, now or _now()) else {}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": _VERSION}
        if self.limit is not None and self.limit_at is not None:
            data["limit"] = {
                "requests": self.limit.requests,
                "seconds": round(self.limit.seconds, 3),
                "learned_at": self.limit_at.isoformat(),
            }
        if self.clean_rate is not None and self.clean_at is not None:
            burst = self.clean_burst
            data["clean_rate"] = {
                "per_second": round(self.clean_rate, 3),
                "burst": None if burst is None else [burst.requests, round(burst.seconds, 3)],
                "at": self.clean_at.isoformat(),
            }
        if self.access and self.access_at is not None:
            data["access"] = {"endpoints": dict(self.access), "at": self.access_at.isoformat()}
        if self.told:
            data["told"] = list(self.told)
        return data

    @classmethod
    def from_json(cls, data: object) -> Remembered:
        """Whatever of ``data`` is well-formed; the rest is forgotten."""
        memory = cls()
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return memory
        limit = data.get("limit")
        if isinstance(limit, dict):
            requests, seconds = limit.get("requests"), limit.get("seconds")
            at = _parse_time(limit.get("learned_at"))
            if isinstance(requests, int) and requests >= 1 and _positive(seconds) and at:
                memory.limit, memory.limit_at = Limit(requests, float(seconds)), at  # type: ignore[arg-type]
        clean = data.get("clean_rate")
        if isinstance(clean, dict):
            rate, at = clean.get("per_second"), _parse_time(clean.get("at"))
            if _positive(rate) and at:
                memory.clean_rate, memory.clean_at = float(rate), at  # type: ignore[arg-type]
                burst = clean.get("burst")
                if (
                    isinstance(burst, list)
                    and len(burst) == 2
                    and isinstance(burst[0], int)
                    and burst[0] >= 1
                    and _positive(burst[1])
                ):
                    memory.clean_burst = Limit(burst[0], float(burst[1]))
        access = data.get("access")
        if isinstance(access, dict):
            endpoints, at = access.get("endpoints"), _parse_time(access.get("at"))
            if isinstance(endpoints, dict) and at:
                memory.access = {k: v for k, v in endpoints.items() if isinstance(v, bool)}
                memory.access_at = at
        told = data.get("told")
        if isinstance(told, list):
            memory.told = tuple(key for key in told if isinstance(key, str))
        return memory


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e9


class Memory:
    """The memory file of one app and API URL: read once, written back atomically."""

    def __init__(self, directory: Path, client_id: str, api_url: str) -> None:
        self.path = directory / f"{memory_key(client_id, api_url)}.json"
        self.data = self._read()
        #: Set by whoever changes :attr:`data` in place; :meth:`save` clears it.
        self.changed = False

    def __repr__(self) -> str:
        return f"<Memory {self.path}>"

    def _read(self) -> Remembered:
        try:
            raw = self.path.read_bytes()
        except OSError:
            return Remembered()
        try:
            return Remembered.from_json(orjson.loads(raw))
        except orjson.JSONDecodeError:
            log.warning("%s is not JSON: ignored, and rewritten after this run", self.path)
            return Remembered()

    def forget_limit(self) -> None:
        """Drop the limit and the clean rate (``--forget-limit``); written on :meth:`save`."""
        self.data.limit = self.data.limit_at = None
        self.data.clean_rate = self.data.clean_at = self.data.clean_burst = None
        self.changed = True

    def save(self) -> None:
        """Write the memory atomically; a cache that cannot be written is only logged."""
        body = orjson.dumps(self.data.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.path, body)
            self.changed = False
        except OSError as exc:
            log.warning("cannot write %s (%s): this run is not remembered", self.path, exc)
