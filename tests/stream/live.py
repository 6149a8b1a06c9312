"""Helpers of the live stream tests: ``spotify-etl`` as a process, waiting on what it
writes, and a TCP proxy that stops forwarding publishes after a given number (a broker
that stops answering at a known point, so a kill -9 lands mid-publish every time)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.output.dataset import read_index
from async_spotify_etl.stream.publisher import Publisher
from async_spotify_etl.stream.target import Target

#: The readiness bound of every wait (the tests never assert on time).
PATIENCE = 120.0
_CREDENTIALS = ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_API_URL")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "async_spotify_etl", *args]


def start(argv: Sequence[str], cwd: Path, log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """``argv`` as a process in ``cwd``, no credentials in its environment, stderr to ``log``."""
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIALS}
    env.pop("SPOTIFY_ACCOUNTS_URL", None)
    with log.open("ab") as err:
        return subprocess.Popen(list(argv), cwd=cwd, env=env, stderr=err, **kwargs)


def wait_for(
    what: str, ready: Callable[[], bool], proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Until ``ready()``; fails saying ``what`` if it never is, or ``proc`` ended first."""
    deadline = time.monotonic() + PATIENCE
    while not ready():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.05)


def ended(proc: subprocess.Popen[bytes]) -> int:
    return proc.wait(timeout=PATIENCE)


def progress(root: Path, prefix: str) -> dict[str, Any] | None:
    """How far publishing to ``prefix`` got, as the index records it (None: not yet, or
    the index is being replaced this instant)."""
    try:
        return read_index(root).published(prefix)
    except (ConfigurationError, FileNotFoundError):
        return None


def caught_up(root: Path, prefix: str) -> bool:
    """Whether every run the index lists is published (the last complete)."""
    done = progress(root, prefix)
    try:
        runs = read_index(root).runs
    except ConfigurationError:
        return False
    return bool(done and runs and done["run"] == runs[-1]["id"] and done["complete"])


def observed_days(root: Path) -> set[str]:
    """The (sandbox) dates the runs of the index observed their listings on."""
    try:
        runs = read_index(root).runs
    except ConfigurationError:
        return set()
    return {str(r["observed_at"])[:10] for r in runs if r.get("observed_at")}


def publish_rest(url: str, root: Path) -> None:
    """What the next start publishes first: the runs the index has not yet published."""

    async def go() -> None:
        async with Publisher(Target.parse(url)) as publisher:
            await publisher.catch_up(root)

    asyncio.run(go())


class HoldingProxy:
    """Forwards 127.0.0.1:``port`` to the NATS server at ``upstream``, but only the first
    ``publishes`` publishes (HPUB) from clients: after those it holds everything clients
    send, as a broker that stopped answering would."""

    def __init__(self, upstream: int, publishes: int) -> None:
        self.upstream = upstream
        self.left = publishes
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = False
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def __repr__(self) -> str:
        return f"<HoldingProxy :{self.port} -> :{self.upstream}, {self.left} left>"

    def close(self) -> None:
        self._closing = True
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        held = False
        try:
            while chunk := src.recv(65536):
                if held:
                    continue
                if counted:
                    chunk, held = self._allowed(chunk)
                if chunk:
                    dst.sendall(chunk)
        except OSError:
            return

    def _allowed(self, chunk: bytes) -> tuple[bytes, bool]:
        """The part of ``chunk`` before the first publish past the limit, and whether the
        limit was reached (nats-py writes each HPUB line whole within one flush)."""
        with self._lock:
            at = 0
            while (found := chunk.find(b"HPUB ", at)) >= 0:
                if self.left == 0:
                    return chunk[:found], True
                self.left -= 1
                at = found + 1
            return chunk, False
