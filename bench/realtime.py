"""The real-time scenario: how long from the moment the sandbox's listing changes to the
change's first message in the stream, with ``watch --every``; and what an idle poll (a
listing that did not change) costs in requests.

    python -m bench.realtime [--every 5] [--day-seconds 12] [--days 10]

Runs ``Watch`` in-process (as ``spotify-etl watch`` does) against an in-process sandbox
whose day moves every ``--day-seconds``, publishing through ``RetryingPublisher`` to a
throwaway ``nats-server -js``; a core NATS subscription stamps each event's arrival on the
sandbox's own clock (the loop's), so the latency is arrival minus the day's beginning.
Needs nats-server on PATH and the stream extra.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.run.watch import Watch, WatchSettings
from async_spotify_etl.sandbox import Sandbox, SandboxConfig
from async_spotify_etl.stream.retrying import RetryingPublisher
from async_spotify_etl.stream.target import Target

MARKETS = ("US", "GB", "DE", "SE")
_IDLE = re.compile(r" 0 listed, 0 delisted, 0 albums, 0 artists, (\d+) requests")


@dataclass(frozen=True)
class RealtimeResult:
    """Seconds from each listing change to its first message; requests of each idle poll."""

    latencies: list[float]
    idle_requests: list[int]

    def rows(self, every: float) -> list[str]:
        lat = sorted(self.latencies)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        idle = sorted(set(self.idle_requests))
        return [
            f"| event latency at --every {every:g} (s) | median {statistics.median(lat):.2f}"
            f" | p95 {p95:.2f} | {len(lat)} listing changes |",
            f"| requests per idle poll ({len(MARKETS)} markets) | {'/'.join(map(str, idle))}"
            f" | | {len(self.idle_requests)} idle polls |",
        ]


class _Polls(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.idle: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        if m := _IDLE.search(record.getMessage()):
            self.idle.append(int(m.group(1)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _nats_server(store: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    server = subprocess.Popen(
        ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store / "nats")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nats-server did not start")


async def measure(
    *, every: float, day_seconds: float, days: int, store: Path, port: int, albums: int = 50
) -> RealtimeResult:
    import nats

    polls = _Polls()
    logging.getLogger("async_spotify_etl.run.watch").addHandler(polls)
    logging.getLogger("async_spotify_etl.run.watch").setLevel(logging.INFO)
    try:
        config = SandboxConfig(
            markets=MARKETS, albums_per_market=albums, day_seconds=day_seconds, latency=0.02
        )
        async with Sandbox(config) as sandbox:
            loop = asyncio.get_running_loop()
            arrived: dict[int, float] = {}
            today = config.today_date
            enough = asyncio.Event()

            async def stamp(msg: nats.aio.msg.Msg) -> None:
                at = orjson.loads(msg.data)["at"]
                day = (dt.date.fromisoformat(at[:10]) - today).days
                arrived.setdefault(day, loop.time())
                if len([d for d in arrived if d > 0]) >= days:
                    enough.set()

            nc = await nats.connect(f"nats://127.0.0.1:{port}")
            await nc.subscribe("bench.events.*", cb=stamp)
            client = ClientSettings(
                api_url=sandbox.api_url, token_url=sandbox.token_url, remember=False
            )
            settings = PullSettings(out=store / "dataset", markets=MARKETS, client=client)

            def observed() -> dt.datetime:
                day = today + dt.timedelta(days=sandbox.state.day)
                return dt.datetime.combine(day, dt.datetime.now(dt.UTC).time(), dt.UTC)

            target = Target.parse(f"nats://127.0.0.1:{port}/bench")
            async with RetryingPublisher(target, cap=every) as publishing:
                watch = Watch(
                    settings,
                    sandbox.credentials,
                    WatchSettings(every=every),
                    publishing=publishing,
                    observed_at=observed,
                )
                task = asyncio.create_task(watch.run())
                waiting = asyncio.create_task(enough.wait())
                await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                watch.stop()
                await task
            await nc.close()
            latencies = [arrived[d] - sandbox.state.day_begins(d) for d in arrived if d > 0]
        return RealtimeResult(latencies, polls.idle)
    finally:
        logging.getLogger("async_spotify_etl.run.watch").removeHandler(polls)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime")
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--day-seconds", type=float, default=12.0)
    parser.add_argument("--days", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("nats-server") is None:
        raise SystemExit("the real-time scenario needs nats-server (apt-get install nats-server)")
    with tempfile.TemporaryDirectory() as tmp:
        server, port = _nats_server(Path(tmp))
        try:
            result = asyncio.run(
                measure(
                    every=args.every,
                    day_seconds=args.day_seconds,
                    days=args.days,
                    store=Path(tmp),
                    port=port,
                )
            )
        finally:
            server.terminate()
            server.wait()
    print("| measure | value | | over |")
    print("|---|---|---|---|")
    for row in result.rows(args.every):
        print(row)


if __name__ == "__main__":
    main()
