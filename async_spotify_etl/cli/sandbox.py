"""``spotify-etl sandbox``: serve the Spotify emulator until Ctrl-C.

Prints the API and token URLs and the client id and secret the sandbox accepts, so any
Spotify client can be pointed at it. Every :class:`SandboxConfig` field has a flag.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ..errors import ConfigurationError
from ..sandbox import Sandbox, SandboxConfig
from ..sandbox import config as defaults

__all__ = ["DEFAULT_PORT", "config_from_args", "register"]

#: A fixed port, so a standalone sandbox has a URL worth writing into a .env file.
DEFAULT_PORT = 8765


def _markets(text: str) -> tuple[str, ...]:
    return tuple(m.strip().upper() for m in text.split(",") if m.strip())


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``sandbox`` subcommand."""
    parser = sub.add_parser(
        "sandbox",
        help="serve an emulated Spotify Web API on this machine",
        description="Serve an emulated Spotify Web API and token endpoint with a"
        " deterministic catalogue, until Ctrl-C. All misbehaviours are off by default.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default=defaults.DEFAULT_HOST, help="address to listen on")
    add("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0: any free port)")
    add("--client-id", default=defaults.DEFAULT_CLIENT_ID, help="client id to accept")
    add("--client-secret", default=defaults.DEFAULT_CLIENT_SECRET, help="secret to accept")
    add("--seed", type=int, default=0, help="catalogue and fault seed")
    add(
        "--markets",
        type=_markets,
        default=",".join(defaults.DEFAULT_MARKETS),
        metavar="CC,CC",
        help="markets with a new-releases list",
    )
    add(
        "--albums-per-market",
        type=int,
        default=defaults.DEFAULT_ALBUMS_PER_MARKET,
        help="new-releases total per market",
    )
    add(
        "--access",
        choices=("extended", "development"),
        default="extended",
        help="quota mode: development forbids new-releases and several-albums",
    )
    add(
        "--token-lifetime",
        type=float,
        default=defaults.DEFAULT_TOKEN_LIFETIME,
        help="seconds an access token lives",
    )
    add(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="requests allowed per rolling window (default: unlimited)%(default).0s",
    )
    add(
        "--rate-window",
        type=float,
        default=defaults.DEFAULT_RATE_WINDOW,
        help="rolling window in seconds",
    )
    add(
        "--quota",
        type=int,
        default=None,
        metavar="N",
        help="API requests before QUOTA_EXCEEDED (default: unlimited)%(default).0s",
    )
    add(
        "--quota-retry-after",
        type=int,
        default=defaults.DEFAULT_QUOTA_RETRY_AFTER,
        help="Retry-After seconds of a quota 429",
    )
    add("--error-rate", type=float, default=0.0, help="probability of a 500, 502 or 503")
    add(
        "--corrupt-rate",
        type=float,
        default=0.0,
        help="probability of a truncated or malformed JSON body",
    )
    add("--drop-rate", type=float, default=0.0, help="probability of a dropped connection")
    add("--latency", type=float, default=0.0, help="mean added latency in seconds")
    add("--latency-jitter", type=float, default=0.0, help="latency spread, +/- seconds")
    add(
        "--hostile",
        action="store_true",
        help="serve hostile data (bad ids, foreign links, HTML, lying totals, nulls)",
    )
    add(
        "--hostile-body-bytes",
        type=int,
        default=defaults.DEFAULT_HOSTILE_BODY_BYTES,
        help="size of hostile mode's oversized bodies",
    )
    add("--today", default=defaults.DEFAULT_TODAY, help="the sandbox's date (YYYY-MM-DD)")
    parser.set_defaults(handler=handle)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` the flags describe."""
    fields = {
        name: getattr(args, name)
        for name in SandboxConfig.__dataclass_fields__
        if hasattr(args, name)
    }
    return SandboxConfig(**fields)


async def serve(config: SandboxConfig) -> None:
    """Start the sandbox, print how to use it, and wait until cancelled."""
    try:
        sandbox = Sandbox(config)
        await sandbox.start()
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {config.host}:{config.port}: {exc}") from None
    try:
        print(f"Spotify sandbox (seed {config.seed}, {config.access} access)")
        print(f"  API URL:        {sandbox.api_url}")
        print(f"  token URL:      {sandbox.token_url}")
        print(f"  client id:      {config.client_id}")
        print(f"  client secret:  {config.client_secret}")
        print(f"  ground truth:   {sandbox.url}/_sandbox/truth")
        print(f"  stats:          {sandbox.url}/_sandbox/stats")
        print("Serving until Ctrl-C.", flush=True)
        await asyncio.Event().wait()
    finally:
        await sandbox.aclose()


def handle(args: argparse.Namespace) -> int:
    """Run the sandbox in the foreground; Ctrl-C is the normal way to stop it."""
    config = config_from_args(args)
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        print("sandbox stopped", file=sys.stderr)
    return 0
