"""Measure how many album-tracks pages a second the sandbox answers on one core.

The sandbox runs in a child process pinned to one CPU, with latency and faults off;
this process (pinned elsewhere when there is another CPU) keeps requests in flight and
counts answers. It prints requests per wall second and per CPU second of the sandbox
process: the second figure is the one-core capacity even when the load generator, not
the sandbox, is what limits the first. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import sys
import time

import aiohttp
import orjson

from async_spotify_etl.sandbox import Sandbox, SandboxConfig

TARGET = 2000.0


def _cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of process ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


async def _serve(albums: int) -> None:
    """Child side: serve until standard input closes."""
    _pin(0)
    config = SandboxConfig(markets=("US",), albums_per_market=albums)
    async with Sandbox(config) as sandbox:
        line = {"api": sandbox.api_url, "token": sandbox.token_url, "url": sandbox.url}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def _token(session: aiohttp.ClientSession, url: str) -> str:
    config = SandboxConfig()
    basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
    async with session.post(
        url, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    ) as resp:
        return str((await resp.json())["access_token"])


async def _load(api: str, urls: list[str], token: str, seconds: float, workers: int) -> int:
    """Keep ``workers`` requests in flight for ``seconds``; return how many got a 200."""
    done = 0
    cycle = itertools.cycle(urls)
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                async with session.get(next(cycle)) as resp:
                    await resp.read()
                    done += resp.status == 200

        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
    return done


async def _measure(args: argparse.Namespace) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", "--albums", str(args.albums),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        info = orjson.loads(await proc.stdout.readline())
        _pin(1)
        async with aiohttp.ClientSession() as session:
            token = await _token(session, info["token"])
            async with session.get(f"{info['url']}/_sandbox/truth") as resp:
                albums = orjson.loads(await resp.read())["albums"]
        urls = [
            f"{info['api']}/albums/{album}/tracks?limit=50&offset={offset}&market=US"
            for album, tracks in albums.items()
            for offset in range(0, len(tracks), 50)
        ]
        await _load(info["api"], urls, token, 1.0, args.workers)  # warm the album cache
        cpu0, wall0 = _cpu_seconds(proc.pid), time.monotonic()
        done = await _load(info["api"], urls, token, args.seconds, args.workers)
        cpu, wall = _cpu_seconds(proc.pid) - cpu0, time.monotonic() - wall0
    finally:
        proc.stdin.close()
        await proc.wait()
    per_wall, per_cpu = done / wall, done / cpu if cpu else float("inf")
    print(f"album-tracks pages answered: {done} in {wall:.1f} s ({args.workers} in flight)")
    print(f"  per second:                {per_wall:,.0f}")
    print(f"  sandbox CPU:               {cpu:.2f} s ({100 * cpu / wall:.0f}% of one core)")
    print(f"  per sandbox CPU-second:    {per_cpu:,.0f}  (one-core capacity; target {TARGET:,.0f})")
    return 0 if per_cpu >= TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measurement length")
    parser.add_argument("--workers", type=int, default=32, help="requests in flight")
    parser.add_argument("--albums", type=int, default=500, help="albums in the catalogue")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.albums))
        return 0
    return asyncio.run(_measure(args))


if __name__ == "__main__":
    sys.exit(main())
