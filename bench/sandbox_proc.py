"""The sandbox in a process of its own, so its CPU is never charged to a contender.

``python -m bench.sandbox_proc '{"markets": ["US"], ...}'`` starts a
:class:`~async_spotify_etl.sandbox.Sandbox` with those :class:`SandboxConfig` fields on
127.0.0.1, port 0, prints one JSON line with its URLs and credentials, and serves until
its standard input closes or it is terminated. :class:`SandboxProcess` is the parent side.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["SandboxInfo", "SandboxProcess"]

START_TIMEOUT = 120.0


@dataclass(frozen=True)
class SandboxInfo:
    """Where a running sandbox listens and what it accepts."""

    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    pid: int

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``: the inspection routes live under it."""
        return self.api_url.rsplit("/v1", 1)[0]

    def inspect(self, route: str) -> Any:
        """GET ``/_sandbox/<route>`` (``stats`` or ``truth``) as JSON."""
        with urllib.request.urlopen(f"{self.origin}/_sandbox/{route}", timeout=60) as resp:
            return json.load(resp)


class SandboxProcess:
    """Parent side: start the child, read its URLs, stop it on exit."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {"host": "127.0.0.1", "port": 0, **config}
        self._proc: subprocess.Popen[str] | None = None
        self.info: SandboxInfo | None = None

    def __enter__(self) -> SandboxInfo:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.sandbox_proc", json.dumps(self._config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError(f"sandbox did not start (exit {self._proc.returncode})")
        self.info = SandboxInfo(**json.loads(line), pid=self._proc.pid)
        return self.info

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close its stdin (it exits), and terminate it if it lingers; safe twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


async def _serve(config: dict[str, Any]) -> None:
    from async_spotify_etl.sandbox import Sandbox, SandboxConfig

    if "markets" in config:
        config["markets"] = tuple(config["markets"])
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def watch_stdin() -> None:
        sys.stdin.read()  # returns when the parent closes the pipe
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with Sandbox(SandboxConfig(**config)) as sb:
        info = {
            "api_url": sb.api_url,
            "token_url": sb.token_url,
            "client_id": sb.credentials.client_id,
            "client_secret": sb.credentials.client_secret,
        }
        print(json.dumps(info), flush=True)
        await stop.wait()


def main() -> int:
    """Serve the sandbox described by the JSON in argv[1]."""
    asyncio.run(_serve(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
