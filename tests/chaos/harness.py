"""Shared machinery of the chaos scenarios: scale, the CLI as a subprocess, tallies, secrets.

The short versions run in ``scripts/test``; ``CHAOS_LONG=1`` (set by ``scripts/chaos``)
selects the long ones: bigger catalogues, more kill points, more runs.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import os
import re
import secrets
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.sandbox import Sandbox

__all__ = [
    "LONG",
    "CliRun",
    "Tally",
    "cli_env",
    "expected_records",
    "pick",
    "pull_args",
    "pull_settings",
    "read_lines",
    "run_cli",
    "scan_for_secrets",
    "secret_config",
    "tally",
]

T = TypeVar("T")

LONG = os.environ.get("CHAOS_LONG") == "1"
_EXTRACTED_AT = re.compile(rb'"extracted_at":"[^"]*"')
_AT = re.compile(rb'"at":"[^"]*"')
#: ``python -c`` program: the CLI with every ``os.fsync`` delayed by %r seconds.
_SLOW_FSYNC = (
    "import os, runpy, time\n"
    "fsync = os.fsync\n"
    "def slow(fd):\n"
    "    time.sleep(%r)\n"
    "    fsync(fd)\n"
    "os.fsync = slow\n"
    "runpy.run_module('async_spotify_etl', run_name='__main__', alter_sys=True)\n"
)


def pick(short: T, long: T) -> T:
    """The short value in ``scripts/test``, the long one under ``scripts/chaos``."""
    return long if LONG else short


def secret_config(**fields: Any) -> dict[str, Any]:
    """Sandbox fields with a client secret unique to this run, so a leak cannot hide."""
    return {"client_secret": "chaos-secret-" + secrets.token_hex(12), **fields}


def pull_settings(sb: Sandbox, out: Path, **changes: Any) -> PullSettings:
    """Settings for an in-process pull against ``sb``; ``client`` changes go in ``client=``."""
    client_changes = changes.pop("client", {})
    client = ClientSettings(
        api_url=sb.api_url, token_url=sb.token_url, rate=2000.0, burst=200, concurrency=16
    ).replace(**client_changes)
    return dataclasses.replace(
        PullSettings(out=out, markets=sb.config.markets, client=client), **changes
    )


# -- the CLI ------------------------------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    """How one ``spotify-etl pull`` subprocess ended."""

    code: int
    stdout: str
    stderr: str
    killed: bool = False

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def cli_env(sb: Sandbox | None, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: no inherited SPOTIFY_* variables, the sandbox's
    credentials when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    env.pop("CHAOS_FIGURES", None)
    if sb is not None:
        env["SPOTIFY_CLIENT_ID"] = sb.config.client_id
        env["SPOTIFY_CLIENT_SECRET"] = sb.config.client_secret
    return {**env, "COLUMNS": "120", **extra}


def pull_args(sb: Sandbox, out: Path, *extra: str) -> list[str]:
    """``pull`` arguments pointing at ``sb`` and writing to ``out``."""
    return [
        "pull",
        "--out",
        str(out),
        "--market",
        ",".join(sb.config.markets),
        "--api-url",
        sb.api_url,
        "--accounts-url",
        sb.token_url,
        "--no-progress",
        *extra,
    ]


async def run_cli(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    kill_when: Callable[[], Awaitable[object]] | None = None,
    slow_fsync: float = 0.0,
    guard: float = 120.0,
    preexec_fn: Callable[[], None] | None = None,
) -> CliRun:
    """Run ``python -m async_spotify_etl ARGS``; SIGKILL it as soon as ``kill_when()``
    returns, unless it has ended by then.

    ``slow_fsync`` (seconds) makes every ``os.fsync`` of the child take that much longer,
    as on a slow disk, so a commit lasts long enough to be caught in the middle. The
    sandbox keeps serving from this process's loop while the child runs. ``guard``
    (seconds) only stops a hang; it is never a measurement.
    """
    start = ["-c", _SLOW_FSYNC % slow_fsync] if slow_fsync else ["-m", "async_spotify_etl"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *start,
        *args,
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=preexec_fn,
    )
    communicate = asyncio.ensure_future(proc.communicate())
    killed = False
    try:
        if kill_when is not None:
            trigger = asyncio.ensure_future(kill_when())
            await asyncio.wait({communicate, trigger}, return_when=asyncio.FIRST_COMPLETED)
            if trigger.done() and proc.returncode is None:
                trigger.result()  # a broken watcher fails the test, not the kill
                proc.kill()
                killed = True
            trigger.cancel()
        out, err = await asyncio.wait_for(communicate, guard)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"spotify-etl {' '.join(args[:1])} hung for {guard} s") from None
    assert proc.returncode is not None
    return CliRun(proc.returncode, out.decode(), err.decode(), killed)


# -- what a pull wrote ---------------------------------------------------------------


def read_lines(out: Path, name: str) -> list[bytes]:
    """Every line of ``out/name.ndjson`` or ``.ndjson.gz`` (the whole file, not only the
    committed part: a torn line or gzip member fails the read)."""
    path = out / f"{name}.ndjson"
    packed = out / f"{name}.ndjson.gz"
    if packed.exists():
        data = gzip.decompress(packed.read_bytes())
    elif path.exists():
        data = path.read_bytes()
    else:
        return []
    assert not data or data.endswith(b"\n"), f"{path} ends in a torn line"
    return data.splitlines()


def normalised(out: Path) -> dict[str, list[bytes]]:
    """Each data file's lines sorted, extraction times blanked: equal pulls are equal bytes."""
    return {
        "albums": sorted(
            _EXTRACTED_AT.sub(b'"extracted_at":""', x) for x in read_lines(out, "albums")
        ),
        "tracks": sorted(read_lines(out, "tracks")),
        "errors": sorted(_AT.sub(b'"at":""', x) for x in read_lines(out, "errors")),
    }


def expected_records(truth: Mapping[str, Any], markets: Iterable[str]) -> dict[str, list[str]]:
    """Album id -> its track ids, for every album the markets' new-releases list."""
    ids = dict.fromkeys(a for m in markets for a in truth["markets"][m])
    return {album_id: truth["albums"][album_id] for album_id in ids}


@dataclass(frozen=True)
class Tally:
    """Records (album and track lines) expected, missing, duplicated, and unexpected."""

    expected: int
    lost: int
    duplicates: int
    unexpected: int
    errors: int


def tally(out: Path, expected: Mapping[str, Sequence[str]]) -> Tally:
    """Compare a pull's files with the ground truth, record by record."""
    albums = Counter(orjson.loads(line)["id"] for line in read_lines(out, "albums"))
    tracks = Counter((t["album_id"], t["id"]) for t in map(orjson.loads, read_lines(out, "tracks")))
    want_albums = set(expected)
    want_tracks = {(a, t) for a, ts in expected.items() for t in ts}
    return Tally(
        expected=len(want_albums) + len(want_tracks),
        lost=len(want_albums - albums.keys()) + len(want_tracks - tracks.keys()),
        duplicates=sum(n - 1 for n in albums.values()) + sum(n - 1 for n in tracks.values()),
        unexpected=len(albums.keys() - want_albums) + len(tracks.keys() - want_tracks),
        errors=len(read_lines(out, "errors")),
    )


def track_order(out: Path) -> dict[str, list[str]]:
    """Album id -> its track ids in file order."""
    order: dict[str, list[str]] = {}
    for track in map(orjson.loads, read_lines(out, "tracks")):
        order.setdefault(track["album_id"], []).append(track["id"])
    return order


# -- secrets -------------------------------------------------------------------------


def scan_for_secrets(
    sb: Sandbox,
    texts: Iterable[str],
    dirs: Iterable[Path],
    *,
    secret: str | None = None,
    issued: bool = True,
) -> int:
    """Count occurrences of the client secret (plain or in its Basic header) and of every
    token ``sb`` issued in the texts (logs, stdout, stderr) and every file under ``dirs``
    (manifests, NDJSON, errors, journal).

    ``secret`` is the one the run was given when it is not the sandbox's; ``issued=False``
    for a run stopped before it asked for a token."""
    secret = sb.config.client_secret if secret is None else secret
    basic = base64.b64encode(f"{sb.config.client_id}:{secret}".encode())
    needles = [secret.encode(), basic, *(t.encode() for t in sb.state.tokens.issued)]
    assert not issued or sb.state.tokens.issued, "the scan needs the issued tokens"
    haystacks = [t.encode() for t in texts]
    for directory in dirs:
        haystacks.extend(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())
    return sum(h.count(n) for h in haystacks for n in needles)
