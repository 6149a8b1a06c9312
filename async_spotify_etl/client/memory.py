"""What an app learned about its API in earlier runs: the rolling-window limit, the fastest
rate it sent without a 429, which endpoints its access mode allows, and when its last run
sent its last request.

One small JSON file per app and API URL under the user's cache directory
(``$XDG_CACHE_HOME/async_spotify_etl``, else ``~/.cache/async_spotify_etl``; a setting
or ``SPOTIFY_ETL_CACHE_DIR`` moves it). The file is named by a hash of the client id and
the API URL, and holds neither: nothing in it identifies the app, and no token or secret
is ever written. Writes are atomic (a temporary file renamed over the old one), so a
killed run leaves the previous file whole; an unreadable file is as good as none.

:class:`Memory` is the only code that reads or writes the file. What the client and the
engine learn reaches it through its methods (:meth:`Memory.remember_run`,
:meth:`Memory.remember_access`, :meth:`Memory.forget_limit`); a read-only memory (a dry
run's) answers the same questions and never writes.

Only regular files are opened, without blocking (a FIFO at the path is ignored, never
waited on), and values outside :data:`BOUNDS` or dated in the future are ignored with
one warning: a poisoned file can neither hang a pull nor pace it absurdly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .learning import Limit, RunReport

log = logging.getLogger(__name__)

#: Environment variable that moves the cache directory (tests point it at a tmp dir).
CACHE_ENV = "SPOTIFY_ETL_CACHE_DIR"
#: A remembered limit or access mode older than this is learned again.
MAX_AGE = dt.timedelta(days=7)
#: Sane bounds of every remembered number, inclusive: (requests per window, window
#: seconds, requests per second). A value outside them is poison, not knowledge.
BOUNDS = {"requests": (1, 100_000), "seconds": (0.5, 3600.0), "per_second": (0.01, 10_000.0)}
#: How far a remembered time may lie ahead of this machine's clock (clock skew).
SKEW = dt.timedelta(minutes=5)
#: A memory file larger than this is not one this project wrote.
MAX_BYTES = 64 * 1024
#: Version 2 marks limits measured on a window this run's own requests filled; a version
#: 1 limit may come from a 429 an earlier run's requests caused, so it is only a start.
_VERSION = 2
_READABLE = (1, 2)


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


@dataclass
class Remembered:
    """One app's memory, as read; :meth:`fresh_limit` and friends apply :data:`MAX_AGE`."""

    limit: Limit | None = None
    limit_at: dt.datetime | None = None
    #: False for a limit an older version stored (it may be an earlier run's 429).
    limit_trusted: bool = True
    clean_rate: float | None = None
    #: The most requests a run sent without any 429, and over how long.
    clean_burst: Limit | None = None
    clean_at: dt.datetime | None = None
    #: Endpoint -> allowed (True) or answered 403 (False), as the ``auto`` probes found.
    access: dict[str, bool] = field(default_factory=dict)
    access_at: dt.datetime | None = None
    #: When the last run sent its last request (its requests may still be in the window).
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
            }
            if not self.limit_trusted:
                data["limit"]["trusted"] = False
        if self.clean_rate is not None and self.clean_at is not None:
            burst = self.clean_burst
            data["clean_rate"] = {
                "per_second": round(self.clean_rate, 3),
                "burst": None if burst is None else [burst.requests, round(burst.seconds, 3)],
                "at": self.clean_at.isoformat(),
            }
        if self.access and self.access_at is not None:
            data["access"] = {"endpoints": dict(self.access), "at": self.access_at.isoformat()}
        if self.last_request_at is not None:
            data["last_request_at"] = self.last_request_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: object, poison: list[str] | None = None) -> Remembered:
        """Whatever of ``data`` is well-formed and sane; the rest is forgotten, and what
        was out of bounds or dated in the future is named in ``poison``."""
        return _Reader(poison if poison is not None else []).read(data)


class _Reader:
    """Reads a memory file's JSON, collecting what is out of bounds in ``poison``."""

    def __init__(self, poison: list[str]) -> None:
        self.poison = poison
        self.now = _now()

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
            self.poison.append(f"{name}={value:g}")
            return None
        return float(value)

    def limit(self, requests: object, seconds: object, name: str) -> Limit | None:
        n = self.number(requests, "requests", f"{name} requests")
        s = self.number(seconds, "seconds", f"{name} seconds")
        if n is None or s is None or not isinstance(requests, int):
            return None
        return Limit(requests, s)

    def read(self, data: object) -> Remembered:
        memory = Remembered()
        if not isinstance(data, dict) or data.get("version") not in _READABLE:
            return memory
        limit = data.get("limit")
        if isinstance(limit, dict):
            at = self.time(limit.get("learned_at"), "limit learned_at")
            found = self.limit(limit.get("requests"), limit.get("seconds"), "limit")
            if found is not None and at is not None:
                memory.limit, memory.limit_at = found, at
                memory.limit_trusted = data["version"] >= 2 and limit.get("trusted") is not False
        clean = data.get("clean_rate")
        if isinstance(clean, dict):
            at = self.time(clean.get("at"), "clean rate at")
            rate = self.number(clean.get("per_second"), "per_second", "clean rate")
            if rate is not None and at is not None:
                memory.clean_rate, memory.clean_at = rate, at
                burst = clean.get("burst")
                if isinstance(burst, list) and len(burst) == 2:
                    memory.clean_burst = self.limit(burst[0], burst[1], "clean burst")
        access = data.get("access")
        if isinstance(access, dict):
            endpoints, at = access.get("endpoints"), self.time(access.get("at"), "access at")
            if isinstance(endpoints, dict) and at:
                memory.access = {k: v for k, v in endpoints.items() if isinstance(v, bool)}
                memory.access_at = at
        memory.last_request_at = self.time(data.get("last_request_at"), "last_request_at")
        return memory


class Memory:
    """The memory file of one app and API URL: read once, written back atomically by
    :meth:`save` (never when ``writable`` is False, as in a dry run)."""

    def __init__(
        self, directory: Path, client_id: str, api_url: str, *, writable: bool = True
    ) -> None:
        self.path = directory / f"{memory_key(client_id, api_url)}.json"
        self.writable = writable
        self._regular = True  # False: something not a regular file is at the path
        self.data = self._read()
        self._as_read = self.data.to_json()

    def __repr__(self) -> str:
        mode = "" if self.writable else " read-only"
        return f"<Memory {self.path}{mode}>"

    # -- reading -----------------------------------------------------------------------

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
                "%s: ignored values out of bounds (%s); they are learned again",
                self.path,
                ", ".join(poison),
            )
        return memory

    def _read_bytes(self) -> bytes | None:
        """The file's bytes, opened only if it is a regular file and never waiting for one
        (O_NONBLOCK: a FIFO opens at once and is then refused by its type)."""
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symlink: not a file this project wrote
                self._refuse("a symbolic link")
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self._refuse("not a regular file")
                return None
            if info.st_size > MAX_BYTES:
                log.warning("%s is larger than a memory file: ignored", self.path)
                return None
            return os.read(fd, MAX_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)

    def _refuse(self, what: str) -> None:
        self._regular = False
        log.warning("%s is %s: ignored, and this run is not remembered", self.path, what)

    def limit(self) -> Limit | None:
        """The fresh remembered limit, or None."""
        return self.data.fresh_limit()

    def limit_trusted(self) -> bool:
        """False when the remembered limit may be an earlier run's 429 (a start, not a fact)."""
        return self.data.limit_trusted

    def clean_rate(self) -> float | None:
        """The fastest rate an earlier run sent over a whole slow-start step without a 429."""
        return self.data.fresh_clean_rate()

    def clean_burst(self) -> Limit | None:
        """The most requests an earlier run sent without any 429, and over how long."""
        return self.data.fresh_clean_burst()

    def access(self, endpoint: str) -> bool | None:
        """Whether ``endpoint`` answered (True) or 403 (False) in an earlier run; None:
        not known (or older than a week)."""
        return self.data.fresh_access().get(endpoint)

    def accesses(self) -> dict[str, bool]:
        """Every fresh remembered endpoint's access."""
        return self.data.fresh_access()

    def idle_seconds(self, now: dt.datetime | None = None) -> float | None:
        """Seconds since the last run sent its last request; None when unknown."""
        last = self.data.last_request_at
        if last is None:
            return None
        return max(0.0, ((now or _now()) - last).total_seconds())

    # -- learning ----------------------------------------------------------------------

    def forget_limit(self) -> None:
        """Drop the limit and the clean rate (``--forget-limit``); written on :meth:`save`."""
        self.data.limit = self.data.limit_at = None
        self.data.clean_rate = self.data.clean_at = self.data.clean_burst = None

    def remember_access(self, endpoint: str, allowed: bool) -> bool:
        """This run saw ``endpoint`` answer (True) or 403 (False). Returns True when that
        contradicts an earlier run (allowed then, refused now)."""
        known = self.data.fresh_access()
        if known.get(endpoint) == allowed:
            return False
        self.data.access, self.data.access_at = {**known, endpoint: allowed}, _now()
        return known.get(endpoint) is True and not allowed

    def remember_run(self, report: RunReport, now: dt.datetime | None = None) -> None:
        """What this run's pacing showed: a limit measured on its own requests, the
        largest count it sent in one window without a 429 (raising a remembered limit it
        contradicts), its fastest clean rate, and when it sent its last request."""
        now, data = now or _now(), self.data
        if report.last_request_at is not None:
            data.last_request_at = report.last_request_at
        if report.limit is not None:
            data.limit, data.limit_at, data.limit_trusted = report.limit, now, True
        known, peak = data.fresh_limit(now), report.clean_peak
        # sent more in one of its windows than it says, without a 429: it is too low
        if known and peak and peak.requests > known.requests and peak.seconds >= known.seconds:
            data.limit, data.limit_at = Limit(peak.requests, known.seconds), now
            data.limit_trusted = True
        burst, clean = report.clean_burst, data.fresh_clean_burst(now)
        larger = burst is not None and (clean is None or burst.requests > clean.requests)
        fastest = report.fastest_clean
        if larger or (fastest > 0 and fastest != data.fresh_clean_rate(now)):
            data.clean_burst = burst if larger else clean
            fastest = fastest or (data.clean_burst.rate if data.clean_burst else 0.0)
            if fastest > 0:
                data.clean_rate, data.clean_at = fastest, now

    def save(self) -> None:
        """Write the memory atomically if it changed; a cache that cannot be written is
        only logged, and a read-only one (a dry run's) is never written."""
        if not (self.writable and self._regular) or self.data.to_json() == self._as_read:
            return
        body = orjson.dumps(self.data.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp.write_bytes(body)
            os.replace(tmp, self.path)
            self._as_read = self.data.to_json()
        except OSError as exc:
            log.warning("cannot write %s (%s): this run is not remembered", self.path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
