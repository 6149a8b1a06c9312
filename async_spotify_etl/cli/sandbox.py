"""``spotify-etl sandbox``: serve the Spotify emulator until Ctrl-C.

Prints the API and token URLs and the client id and secret the sandbox accepts, so any
Spotify client can be pointed at it. Every :class:`SandboxConfig` field has a flag. The
sandbox package (and aiohttp.web) is imported only when this subcommand is parsed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError, SettingsError
from .pull.flags import HelpFormatter

if TYPE_CHECKING:
    from ..sandbox import SandboxConfig

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
        formatter_class=HelpFormatter,
        arguments=_add_arguments,
    )
    parser.set_defaults(handler=handle)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..sandbox import config as defaults

    _server_flags(parser.add_argument_group("server"), defaults)
    _catalogue_flags(parser.add_argument_group("catalogue"), defaults)
    _limit_flags(parser.add_argument_group("access, tokens and limits"), defaults)
    _fault_flags(parser.add_argument_group("faults"), defaults)
    _other_api_flags(parser.add_argument_group("Deezer and MusicBrainz"), defaults)
    for action in parser._actions:  # a short metavar, not the dest in capitals
        if action.option_strings and action.nargs != 0 and action.metavar is None:
            action.metavar = _METAVARS.get(action.dest, "N" if action.type is int else "X")


#: What each valued flag takes, as --help shows it.
_METAVARS = {
    "host": "HOST",
    "port": "PORT",
    "client_id": "ID",
    "client_secret": "SECRET",
    "token_lifetime": "SECONDS",
    "rate_window": "SECONDS",
    "quota_retry_after": "SECONDS",
    "latency": "SECONDS",
    "latency_jitter": "SECONDS",
    "error_rate": "P",
    "corrupt_rate": "P",
    "drop_rate": "P",
    "hostile_body_bytes": "BYTES",
    "today": "YYYY-MM-DD",
    "access": "MODE",
    "deezer_share": "P",
    "musicbrainz_share": "P",
    "musicbrainz_shed_rate": "P",
}


def _server_flags(group: argparse._ArgumentGroup, defaults: ModuleType) -> None:
    add = group.add_argument
    add("--host", default=defaults.DEFAULT_HOST, help="address to listen on")
    add("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0: any free port)")
    add("--client-id", default=defaults.DEFAULT_CLIENT_ID, help="client id to accept")
    add("--client-secret", default=defaults.DEFAULT_CLIENT_SECRET, help="secret to accept")


def _catalogue_flags(group: argparse._ArgumentGroup, defaults: ModuleType) -> None:
    add = group.add_argument
    add("--seed", type=int, default=0, help="catalogue and fault seed")
    markets = ",".join(defaults.DEFAULT_MARKETS)
    add("--markets", type=_markets, default=markets, metavar="CC,CC", help="listed markets")
    add("--albums-per-market", type=int, default=defaults.DEFAULT_ALBUMS_PER_MARKET,
        help="new-releases total per market")  # fmt: skip
    add("--today", default=defaults.DEFAULT_TODAY, help="the sandbox's date (YYYY-MM-DD)")
    add("--day", type=int, default=0,
        help="days after --today: the new-releases lists move each day")  # fmt: skip
    add("--day-seconds", type=float, metavar="SECONDS",
        help="move the lists while serving: day --day + N begins N times SECONDS after"
        " start (default: the day never changes)")  # fmt: skip


def _limit_flags(group: argparse._ArgumentGroup, defaults: ModuleType) -> None:
    add = group.add_argument
    add("--access", choices=("extended", "development"), default="extended",
        help="development forbids new-releases and several-albums")  # fmt: skip
    add("--token-lifetime", type=float, default=defaults.DEFAULT_TOKEN_LIFETIME,
        help="seconds an access token lives")  # fmt: skip
    unlimited = "(default: unlimited)%(default).0s"
    add("--rate-limit", type=int, metavar="N",
        help=f"requests allowed per rolling window {unlimited}")  # fmt: skip
    add("--rate-window", type=float, default=defaults.DEFAULT_RATE_WINDOW,
        help="rolling window in seconds")  # fmt: skip
    add("--quota", type=int, metavar="N",
        help=f"API requests before QUOTA_EXCEEDED {unlimited}")  # fmt: skip
    add("--quota-retry-after", type=int, default=defaults.DEFAULT_QUOTA_RETRY_AFTER,
        help="Retry-After seconds of a quota 429")  # fmt: skip


def _fault_flags(group: argparse._ArgumentGroup, defaults: ModuleType) -> None:
    add = group.add_argument
    add("--error-rate", type=float, default=0.0, help="probability of a 500, 502 or 503")
    add("--corrupt-rate", type=float, default=0.0,
        help="probability of a truncated or malformed JSON body")  # fmt: skip
    add("--drop-rate", type=float, default=0.0,
        help="probability of a dropped connection (before or during the answer)")  # fmt: skip
    add("--latency", type=float, default=0.0, help="mean added latency in seconds")
    add("--latency-jitter", type=float, default=0.0, help="latency spread, +/- seconds")
    add("--hostile", action="store_true",
        help="serve hostile data (bad ids, foreign links, HTML, lying totals, nulls)")  # fmt: skip
    add("--hostile-body-bytes", type=int, default=defaults.DEFAULT_HOSTILE_BODY_BYTES,
        help="size of hostile mode's oversized bodies")  # fmt: skip


def _other_api_flags(group: argparse._ArgumentGroup, defaults: ModuleType) -> None:
    add = group.add_argument
    add("--deezer-share", type=float, default=defaults.DEFAULT_DEEZER_SHARE,
        help="share of the albums Deezer knows")  # fmt: skip
    add("--musicbrainz-share", type=float, default=defaults.DEFAULT_MUSICBRAINZ_SHARE,
        help="share of the albums MusicBrainz knows")  # fmt: skip
    add("--deezer-throttle", action="store_true",
        help="Deezer's quota: code 4 after 50 requests in 5 seconds")  # fmt: skip
    add("--musicbrainz-throttle", action="store_true",
        help="MusicBrainz's rate limit: 503 beyond one request a second")  # fmt: skip
    add("--musicbrainz-shed-rate", type=float, default=0.0,
        help="probability that MusicBrainz sheds a request anyway (503,"
        " retry-after: 0)")  # fmt: skip


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` the flags describe."""
    from ..sandbox import SandboxConfig

    fields = {
        name: getattr(args, name)
        for name in SandboxConfig.__dataclass_fields__
        if hasattr(args, name)
    }
    try:
        return SandboxConfig(**fields)
    except SettingsError as exc:  # spelled as this command's flags: --error-rate, --port
        flags = {name: "--" + name.replace("_", "-") for name in fields}
        raise ConfigurationError(exc.render(flags)) from None


async def serve(config: SandboxConfig) -> None:
    """Start the sandbox, print how to use it, and wait until cancelled."""
    from ..sandbox import Sandbox

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
        print(f"  Deezer URL:     {sandbox.deezer_url}")
        print(f"  MusicBrainz:    {sandbox.musicbrainz_url}")
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
