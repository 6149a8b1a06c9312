"""``spotify-etl watch``: a dataset's runs on a schedule, published as they commit.

Takes every flag of ``pull`` that a dataset run uses (``--dataset`` required), plus
``--every``, ``--friday-every`` and ``--publish``; ``--budget`` is per day, spread over
the polls. Stops on SIGTERM or SIGINT: exit 0 between polls, 75 when a run was cut short
(it is resumable: the next run finishes it first).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from .logs import configured_logging
from .pull.flags import HelpFormatter, _positive_float, add_arguments

if TYPE_CHECKING:
    from ..run.watch import WatchSettings
    from ..stream.target import Target
    from .pull.command import _Invocation

EXIT_OK = 0
EXIT_RESUMABLE = 75
#: Flags of ``pull`` that mean nothing to a watch.
_REFUSED = {"out": "--out", "resume": "--resume", "dry_run": "--dry-run", "ids": "--ids"}


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``watch`` subcommand."""
    parser = sub.add_parser(
        "watch",
        help="run a dataset's runs on a schedule and publish what changes to a stream",
        description="Poll Spotify's new releases every --every seconds: each poll is one"
        " run of the dataset in --dataset (the listing, then only the albums and artists it"
        " does not hold). With --publish, each finished run's events, albums and artists go"
        " to NATS JetStream, exactly once. Stops on SIGTERM or Ctrl-C (exit 0, or 75 when a"
        " run was cut short: the next run finishes it).",
        formatter_class=HelpFormatter,
        arguments=_add_arguments,
    )
    parser.set_defaults(handler=handle)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("watch")
    group.add_argument(
        "--every",
        type=_positive_float,
        required=True,
        metavar="SECONDS",
        help="seconds from the start of one poll to the start of the next (an upper bound)",
    )
    group.add_argument(
        "--friday-every",
        type=_positive_float,
        metavar="SECONDS",
        help="poll this often within 15 minutes of a market's local Friday midnight, when"
        " Spotify's new releases change (default: --every)",
    )
    add_arguments(parser)
    for action in parser._actions:
        if action.dest == "budget":
            action.help = (
                "at most N API requests a day, spread over the polls (a poll that would"
                " exceed its share stops resumably and the next one finishes it;"
                " default: no budget)"
            )


def handle(args: argparse.Namespace) -> int:
    """Run ``watch`` and return its exit code."""
    from ..run.watch import WatchSettings
    from ..stream.target import Target
    from .pull.command import _invocation

    for dest, flag in _REFUSED.items():
        if getattr(args, dest):
            raise ConfigurationError(f"watch takes --dataset, not {flag}")
    if args.dataset is None:
        raise ConfigurationError("watch needs --dataset DIR")
    with configured_logging(args.log_format, args.quiet, "off"):
        # one line a poll: the runs' own lines only when they warn
        if not args.quiet:
            logging.getLogger("async_spotify_etl.run.dataset").setLevel(logging.WARNING)
            logging.getLogger("async_spotify_etl.output").setLevel(logging.WARNING)
            logging.getLogger("async_spotify_etl.run.pull").setLevel(logging.WARNING)
            logging.getLogger("async_spotify_etl.cli.progress").setLevel(logging.WARNING)
        budget, args.budget = args.budget, None
        invocation = _invocation(args)
        watch = WatchSettings(
            every=args.every,
            friday_every=args.friday_every,
            daily_budget=budget,
            refresh_after_days=args.refresh_after,
        )
        target = Target.parse(args.publish) if args.publish else None
        return asyncio.run(_watch(invocation, watch, target))


async def _watch(invocation: _Invocation, settings: WatchSettings, target: Target | None) -> int:
    from ..run.watch import Publishing, Watch
    from ..stream.retrying import RetryingPublisher
    from .pull.command import _connect_live, _sandbox_identity

    async with AsyncExitStack() as stack:
        pull, credentials, observed_at = await _connect_live(stack, invocation)
        options: dict[str, Any] = {}
        if invocation.sandbox:
            options["plan_extra"] = {"sandbox": _sandbox_identity(invocation.sandbox)}
            options["arguments_extra"] = {"sandbox": invocation.sandbox}
        publishing: Publishing | None = None
        if target is not None:
            retrying = RetryingPublisher(target, cap=settings.every)
            publishing = await stack.enter_async_context(retrying)
        watch = Watch(
            pull,
            credentials,
            settings,
            run_options=options,
            publishing=publishing,
            observed_at=observed_at,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, watch.stop)
        try:
            result = await watch.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
    return EXIT_RESUMABLE if result.interrupted_run else EXIT_OK
