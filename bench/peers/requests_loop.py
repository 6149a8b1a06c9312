"""The loop most tutorials (and the pipeline this project grew from) write: ``requests``,
one call at a time, following ``next`` through each market's new releases and then
through each album's tracks. It sleeps out a 429's Retry-After, as tutorials advise."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Sequence
from typing import Any

import requests

from .common import Writer, parse_args

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Pull new releases of every market and all their tracks, one request at a time."""
    args = parse_args(argv)
    session = requests.Session()
    basic = base64.b64encode(f"{args.client_id}:{args.client_secret}".encode()).decode()
    token = session.post(
        args.token_url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def get(url: str) -> Any:
        while True:
            response = session.get(url, headers=headers, timeout=30)
            if response.status_code == 429:
                time.sleep(int(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            return response.json()

    albums: dict[str, tuple[dict[str, Any], str]] = {}
    for market in args.markets:
        url: str | None = f"{args.api_url}/browse/new-releases?country={market}&limit=50"
        while url:
            page = get(url)["albums"]
            for item in page["items"]:
                if item and item["id"] not in albums:
                    albums[item["id"]] = (item, market)
            url = page["next"]
    writer = Writer(args.out)
    for album_id, (album, market) in albums.items():
        tracks: list[dict[str, Any]] = []
        url = f"{args.api_url}/albums/{album_id}/tracks?market={market}&limit=50"
        while url:
            page = get(url)
            tracks.extend(page["items"])
            url = page["next"]
        writer.album(album, tracks)
    writer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
