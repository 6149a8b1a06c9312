"""``spotify-etl events --from nats://HOST:PORT/PREFIX``: the published events as JSON lines.

One event a line on stdout (the message's JSON, as docs/realtime.md describes it), oldest
first; ``--follow`` waits for new ones until SIGTERM or Ctrl-C (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

import orjson

from .pull.flags import HelpFormatter


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``events`` subcommand."""
    parser = sub.add_parser(
        "events",
        help="print the events a watch published, as JSON lines",
        description="Print the listed and delisted events that `watch --publish` (or"
        " `pull --dataset --publish`) published to NATS JetStream, one JSON object a line,"
        " oldest first.",
        formatter_class=HelpFormatter,
        arguments=_add_arguments,
    )
    parser.set_defaults(handler=handle)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="nats://HOST:PORT/PREFIX",
        help="the server and subject prefix the events were published to",
    )
    parser.add_argument("--market", metavar="CODE", help="one market's events only")
    parser.add_argument("--follow", action="store_true", help="wait for new events until stopped")


def handle(args: argparse.Namespace) -> int:
    """Run ``events`` and return its exit code."""
    from ..stream.target import Target

    target = Target.parse(args.source)
    market = args.market.strip().upper() if args.market else "*"
    return asyncio.run(_print(target, market, args.follow))


async def _print(target: Any, market: str, follow: bool) -> int:
    from ..stream.consumer import events

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    out = sys.stdout.buffer
    try:
        async for event in events(target, market=market, follow=follow):
            out.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
            out.flush()
    except asyncio.CancelledError:
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0
