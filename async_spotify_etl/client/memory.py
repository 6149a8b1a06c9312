"""What an app learned about its API in earlier runs: the rolling-window limit, the fastest
rate it sent without a 429, and which endpoints its access mode allows.

One small JSON file per app and API URL under the user's cache directory
(``$XDG_CACHE_HOME/async_spotify_etl``, else ``~/.cache/async_spotify_etl``; a setting
or ``SPOTIFY_ETL_CACHE_DIR`` moves it). The file is named by a hash of the client id and
the API URL, and holds neither: nothing in it identifies the app, and no token or secret
is ever written. Writes are atomic (a temporary file renamed over the old one), so a
killed run leaves the previous file whole; an unreadable file is as good as none.

Only a regular file is read, opened without blocking (``O_NONBLOCK``, then ``fstat``): a
FIFO or a device at the path is ignored with one warning, never waited on, and never
replaced. A value outside :data:`BOUNDS`, or dated in the future, is poison rather than
knowledge: it is ignored (learned again) with one warning naming what was dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..core.files import atomic_write
from .learning import Limit, RunReport

log = logging.getLogger(__name__)

#: Environment variable that moves the cache directory (tests point it at a tmp dir).
CACHE_ENV = "SPOTIFY_ETL_CACHE_DIR"
#: A remembered limit or access mode older than this is learned again.
MAX_AGE = dt.timedelta(days=7)
_VERSION = 1
#: Sane bounds of the remembered numbers, inclusive, as (low, high).
BOUNDS: dict[str, tuple[float, float]] = {
    "requests": (1, 100_000),  # per window, or in a clean run
    "seconds": (0.5, 3600.0),  # a rolling window
    "span": (1e-3, 7 * 86400.0),  # the time a clean run took
    "per_second": (0.01, 10_000.0),  # a clean rate
}
#: How far ahead of this machine's clock a remembered time may be (clock skew).
SKEW = dt.timedelta(minutes=5)
#: A memory file larger than this is not one this package wrote: ignored.
MAX_BYTES = 64 * 1024


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


class _Reader:
    """Reads the numbers and times of a memory file, naming the insane ones in ``poison``."""

    def __init__(self, poison: list[str], now: dt.datetime) -> None:
        self.poison, self.now = poison, now

    def time(self, value: object, name: str) -> dt.datetime | None:
        if not isinstance(value, str):
            return None
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        when = when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
        if when > self.now + SKEW:
            self.poison.append(f"{name} in the future")
            return None
        return when

    def number(self, value: object, kind: str, name: str) -> float | None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        low, high = BOUNDS[kind]
        if not low <= value <= high:  # NaN fails too
            self.poison.append(f"{name} {value:g}")
            return None
        return float(value)

    def limit(self, requests: object, seconds: object, name: str, span: str) -> Limit | None:
        count = self.number(requests, "requests", f"{name} requests")
        length = self.number(seconds, span, f"{name} seconds")
        if count is None or length is None or not isinstance(requests, int):
            return None
        return Limit(requests, length)


@dataclass
class Remembered:
    """One app's memory, as read; :meth:`fresh_limit` and friends apply :data:`MAX_AGE`."""

    limit: Limit | None = None
    limit_at: dt.datetime | None = None
    #: True for a limit measured on the run's own evidence; False for one an older
    #: version stored (perhaps from an earlier run's 429) or one raised but not measured.
    limit_trusted: bool = True
    clean_rate: float | None = None
    #: The most requests a run sent without any 429, and over how long.
    clean_burst: Limit | None = None
    clean_at: dt.datetime | None = None
    #: Endpoint -> allowed (True) or answered 403 (False), as the ``auto`` probes found.
    access: dict[str, bool] = field(default_factory=dict)
    access_at: dt.datetime | None = None
    #: The development-mode warnings this app was given once (never repeated as warnings).
    told: tuple[str, ...] = ()
    #: When the app's last run sent its last request (its requests may still count).
    last_request_at: dt.datetime | None = None

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
                "own": self.limit_trusted,
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
        if self.last_request_at is not None:
            data["last_request_at"] = self.last_request_at.isoformat()
        return data

    @classmethod
    def from_json(
        cls, data: object, poison: list[str] | None = None, now: dt.datetime | None = None
    ) -> Remembered:
        """Whatever of ``data`` is well-formed and within :data:`BOUNDS`; the rest is
        forgotten, and what was out of bounds or dated in the future is named in
        ``poison``."""
        memory = cls()
        read = _Reader(poison if poison is not None else [], now or _now())
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return memory
        limit = data.get("limit")
        if isinstance(limit, dict):
            at = read.time(limit.get("learned_at"), "limit learned_at")
            found = read.limit(limit.get("requests"), limit.get("seconds"), "limit", "seconds")
            if found is not None and at is not None:
                memory.limit, memory.limit_at = found, at
                memory.limit_trusted = limit.get("own") is True
        clean = data.get("clean_rate")
        if isinstance(clean, dict):
            at = read.time(clean.get("at"), "clean rate at")
            rate = read.number(clean.get("per_second"), "per_second", "clean rate")
            if rate is not None and at is not None:
                memory.clean_rate, memory.clean_at = rate, at
                burst = clean.get("burst")
                if isinstance(burst, list) and len(burst) == 2:
                    memory.clean_burst = read.limit(burst[0], burst[1], "clean burst", "span")
        access = data.get("access")
        if isinstance(access, dict):
            endpoints, at = access.get("endpoints"), read.time(access.get("at"), "access at")
            if isinstance(endpoints, dict) and at:
                memory.access = {k: v for k, v in endpoints.items() if isinstance(v, bool)}
                memory.access_at = at
        memory.last_request_at = read.time(data.get("last_request_at"), "last_request_at")
        told = data.get("told")
        if isinstance(told, list):
            memory.told = tuple(key for key in told if isinstance(key, str))
        return memory


class Memory:
    """The memory file of one app and API URL: read once, written back atomically by
    :meth:`save` when it changed, never when ``writable`` is False (a dry run's).

    The only code that reads or writes the file: the client and the engine ask it
    (:meth:`limit`, :meth:`accesses`, ...) and tell it what they learned
    (:meth:`remember_run`, :meth:`remember_access`, :meth:`remember_told`); what to keep
    of it is decided here."""

    def __init__(
        self, directory: Path, client_id: str, api_url: str, *, writable: bool = True
    ) -> None:
        self.path = directory / f"{memory_key(client_id, api_url)}.json"
        self.writable = writable
        #: False when something that is not a regular file sits at :attr:`path`.
        self._regular = True
        self.data = self._read()
        self._saved = self.data.to_json()

    def __repr__(self) -> str:
        return f"<Memory {self.path}{'' if self.writable else ' read-only'}>"

    @property
    def changed(self) -> bool:
        """Whether :attr:`data` differs from the file as read or last saved."""
        return self.data.to_json() != self._saved

    # -- what earlier runs learned ------------------------------------------------------

    def limit(self) -> Limit | None:
        """The remembered rolling-window limit, unless older than a week."""
        return self.data.fresh_limit()

    def limit_trusted(self) -> bool:
        """False when the remembered limit may be too low (not measured on a run's own
        evidence): the run then raises it while no 429 comes."""
        return self.data.limit_trusted

    def clean_rate(self) -> float | None:
        """The fastest rate a run sent over a whole slow-start step without a 429."""
        return self.data.fresh_clean_rate()

    def clean_burst(self) -> Limit | None:
        """The most requests a run sent without any 429, and over how long."""
        return self.data.fresh_clean_burst()

    def quiet_for(self, window: float, now: dt.datetime | None = None) -> float:
        """Seconds from now until the last run's requests have left a ``window`` long
        rolling window (0: they have, or no run is remembered)."""
        last = self.data.last_request_at
        if last is None:
            return 0.0
        return max(0.0, window - ((now or _now()) - last).total_seconds())

    def accesses(self) -> dict[str, bool]:
        """Endpoint -> allowed (True) or answered 403 (False), unless older than a week."""
        return self.data.fresh_access()

    def told(self) -> tuple[str, ...]:
        """The development-mode warnings this app was given once."""
        return self.data.told

    def _read(self) -> Remembered:
        raw = self._read_bytes()
        if raw is None:
            return Remembered()
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("%s is not JSON: ignored, and rewritten after this run", self.path)
            return Remembered()
        poison: list[str] = []
        memory = Remembered.from_json(data, poison)
        if poison:
            log.warning(
                "%s: ignored what is out of bounds (%s); it is learned again",
                self.path,
                ", ".join(poison),
            )
        return memory

    def _read_bytes(self) -> bytes | None:
        """The file's bytes if it is a regular file, opened without ever waiting for it
        (``O_NONBLOCK``: a FIFO opens at once and is then refused by its type)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self._regular = False
                log.warning(
                    "%s is not a regular file: ignored, and this run is not remembered",
                    self.path,
                )
                return None
            if info.st_size > MAX_BYTES:
                log.warning("%s is larger than a memory file: ignored", self.path)
                return None
            return os.read(fd, MAX_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)

    # -- what this run learned ----------------------------------------------------------

    def forget_limit(self) -> None:
        """Drop the limit and the clean rate (``--forget-limit``); written on :meth:`save`."""
        self.data.limit = self.data.limit_at = None
        self.data.limit_trusted = True
        self.data.clean_rate = self.data.clean_at = self.data.clean_burst = None

    def remember_access(self, endpoint: str, allowed: bool) -> bool:
        """This run saw ``endpoint`` answer (True) or 403 (False). True when that
        contradicts an earlier run (allowed then, refused now)."""
        known = self.data.fresh_access()
        if known.get(endpoint) == allowed:
            return False
        self.data.access, self.data.access_at = {**known, endpoint: allowed}, _now()
        return known.get(endpoint) is True and not allowed

    def remember_told(self, key: str) -> None:
        """The development-mode warning ``key`` was given to this app."""
        if key not in self.data.told:
            self.data.told = (*self.data.told, key)

    def remember_run(self, report: RunReport, now: dt.datetime | None = None) -> None:
        """What this run's pacing showed: a limit measured on its own requests, and the
        largest clean run and fastest clean rate, where they beat what is remembered."""
        now, data = now or _now(), self.data
        if report.last_request_at is not None:
            data.last_request_at = report.last_request_at
        if report.limit is not None:
            data.limit, data.limit_at, data.limit_trusted = report.limit, now, True
        elif report.raised is not None:  # sent cleanly past it: a start for the next run
            data.limit, data.limit_at, data.limit_trusted = report.raised, now, False
        burst, known = report.clean_burst, data.fresh_clean_burst(now)
        larger = burst is not None and (known is None or burst.requests > known.requests)
        fastest = report.fastest_clean
        if larger or (fastest > 0 and fastest != data.fresh_clean_rate(now)):
            data.clean_burst = burst if larger else known
            fastest = fastest or (data.clean_burst.rate if data.clean_burst else 0.0)
            data.clean_rate, data.clean_at = fastest, now

    def save(self) -> None:
        """Write the memory atomically if it changed; a cache that cannot be written is
        only logged, a read-only memory (a dry run's) is never written, and a path held
        by something that is not a regular file is left alone."""
        if not (self.writable and self._regular and self.changed):
            return
        saved = self.data.to_json()
        body = orjson.dumps(saved, option=orjson.OPT_INDENT_2) + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.path, body)
            self._saved = saved
        except OSError as exc:
            log.warning("cannot write %s (%s): this run is not remembered", self.path, exc)
