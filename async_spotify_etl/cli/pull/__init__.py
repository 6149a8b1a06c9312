"""``spotify-etl pull``: new releases and all their tracks into NDJSON in ``--out``.

The flags live in ``flags`` and what the command does in ``command``, imported only
when a pull runs: it brings aiohttp and the whole pipeline.
"""

from __future__ import annotations

import argparse
from typing import Any

from .flags import HelpFormatter, add_arguments


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``pull`` subcommand."""
    parser = sub.add_parser(
        "pull",
        help="pull new album releases and all their tracks into NDJSON",
        description="Pull Spotify's new album releases, every track of those albums and every"
        " artist they credit (unless --artists off) into albums.ndjson, tracks.ndjson,"
        " artists.ndjson and errors.ndjson in --out, with manifest.json."
        " Credentials come from SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET in the"
        " environment or a .env file, never from a flag.",
        formatter_class=HelpFormatter,
        arguments=add_arguments,
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``pull`` and return its exit code."""
    from .command import pull

    return pull(args)
