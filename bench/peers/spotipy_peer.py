"""spotipy, used as its documentation shows: listing pages followed with ``sp.next``,
``sp.albums`` 20 ids a call, and ``sp.next`` on the embedded track page of long albums.

Pointed at the sandbox through its own hooks: ``Spotify.prefix`` and the credentials
manager's ``OAUTH_TOKEN_URL``. Retries are raised from 3 to 10 so a rate-limited run can
finish (spotipy's urllib3 adapter honours Retry-After on 429).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import spotipy  # type: ignore[import-untyped]
from spotipy.cache_handler import MemoryCacheHandler  # type: ignore[import-untyped]
from spotipy.oauth2 import SpotifyClientCredentials  # type: ignore[import-untyped]

from .common import Writer, chunks, parse_args

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Pull new releases of every market and all their tracks, one request at a time."""
    args = parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)  # new_releases is deprecated upstream
    # In memory: the default file cache would hand a later run a token of an earlier sandbox.
    auth = SpotifyClientCredentials(
        args.client_id, args.client_secret, cache_handler=MemoryCacheHandler()
    )
    auth.OAUTH_TOKEN_URL = args.token_url
    sp = spotipy.Spotify(
        client_credentials_manager=auth, retries=10, status_retries=10, requests_timeout=30
    )
    sp.prefix = args.api_url + "/"
    market_of: dict[str, str] = {}
    for market in args.markets:
        page: dict[str, Any] | None = sp.new_releases(country=market, limit=50)["albums"]
        while page is not None:
            for item in page["items"]:
                if item:
                    market_of.setdefault(item["id"], market)
            page = sp.next(page)["albums"] if page["next"] else None
    writer = Writer(args.out)
    for batch in chunks(list(market_of), 20):
        for album in sp.albums(batch, market=market_of[batch[0]])["albums"]:
            if album is None:
                continue
            tracks = album["tracks"]
            items = list(tracks["items"])
            while tracks["next"]:
                tracks = sp.next(tracks)
                items.extend(tracks["items"])
            writer.album(album, items)
    writer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
