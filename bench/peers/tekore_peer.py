"""tekore, asynchronous, gathering requests the way its docs show (``asyncio.gather`` over
coroutines of an ``asynchronous=True`` client), with its ``RetryingSender`` so 429s are
retried after Retry-After. Album ids go 20 a call through ``spotify.albums``.

tekore has no setting for its URLs; they are module constants, patched here before use
(``tekore._client.base.prefix`` and the token URL in ``tekore._auth.expiring.client``).
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import tekore as tk  # type: ignore[import-untyped]
import tekore._auth.expiring.client as tk_auth  # type: ignore[import-untyped]
import tekore._client.base as tk_base  # type: ignore[import-untyped]

from .common import PeerArgs, Writer, chunks, parse_args

__all__ = ["main"]


async def _pull(args: PeerArgs, spotify: tk.Spotify) -> None:
    firsts = await asyncio.gather(
        *(spotify.new_releases(country=m, limit=50) for m in args.markets)
    )
    more_pages = [
        (market, offset)
        for market, first in zip(args.markets, firsts, strict=True)
        for offset in range(50, first.total, 50)
    ]
    rests = await asyncio.gather(
        *(spotify.new_releases(country=m, limit=50, offset=o) for m, o in more_pages)
    )
    market_of: dict[str, str] = {}
    pages = list(zip(args.markets, firsts, strict=True))
    pages += [(m, page) for (m, _), page in zip(more_pages, rests, strict=True)]
    for market, page in pages:
        for item in page.items:
            if item is not None:
                market_of.setdefault(item.id, market)
    ids = list(market_of)
    batches = await asyncio.gather(
        *(spotify.albums(list(b), market=market_of[b[0]]) for b in chunks(ids, 20))
    )
    albums = [album for batch in batches for album in batch if album is not None]
    extra = [(album.id, offset) for album in albums for offset in range(50, album.tracks.total, 50)]
    pages_more = await asyncio.gather(
        *(spotify.album_tracks(aid, market=market_of[aid], limit=50, offset=o) for aid, o in extra)
    )
    more: dict[str, list[Any]] = {}
    for (aid, _), page in zip(extra, pages_more, strict=True):
        more.setdefault(aid, []).extend(page.items)
    writer = Writer(args.out)
    for album in albums:
        tracks = [*album.tracks.items, *more.get(album.id, [])]
        writer.album(album.model_dump(mode="json"), (t.model_dump(mode="json") for t in tracks))
    writer.close()


async def _main(args: PeerArgs) -> None:
    token = tk.request_client_token(args.client_id, args.client_secret)
    sender = tk.RetryingSender(sender=tk.AsyncSender())
    spotify = tk.Spotify(token, sender=sender, asynchronous=True)
    try:
        await _pull(args, spotify)
    finally:
        await sender.sender.client.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """Pull new releases of every market and all their tracks with asyncio.gather."""
    args = parse_args(argv)
    warnings.simplefilter("ignore")  # tekore warns on every field it has no model for
    tk_base.prefix = args.api_url + "/"
    tk_auth.OAUTH_TOKEN_URL = args.token_url
    asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
