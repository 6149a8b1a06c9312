"""What every peer shares: its arguments, the credentials, and the output files."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PeerArgs", "Writer", "chunks", "parse_args"]


@dataclass(frozen=True)
class PeerArgs:
    """Where the API is, what to pull and where to write it."""

    api_url: str
    token_url: str
    markets: tuple[str, ...]
    out: Path
    client_id: str
    client_secret: str
    #: The server's rolling window as (requests, seconds), for the floor's oracle pacing.
    window: tuple[int, float] | None


def parse_args(argv: Sequence[str] | None = None) -> PeerArgs:
    """Parse the peer command line; credentials come from the environment."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token-url", required=True)
    parser.add_argument("--market", required=True, help="comma-separated market codes")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--window", default=None, help="N/SECONDS: the server's rolling limit")
    args = parser.parse_args(argv)
    window = None
    if args.window:
        count, seconds = args.window.split("/")
        window = (int(count), float(seconds))
    args.out.mkdir(parents=True, exist_ok=True)
    return PeerArgs(
        api_url=args.api_url.rstrip("/"),
        token_url=args.token_url,
        markets=tuple(m.strip() for m in args.market.split(",") if m.strip()),
        out=args.out,
        client_id=os.environ["SPOTIFY_CLIENT_ID"],
        client_secret=os.environ["SPOTIFY_CLIENT_SECRET"],
        window=window,
    )


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Writer:
    """``albums.ndjson`` and ``tracks.ndjson`` written with the standard json module, as
    a user of these libraries would."""

    def __init__(self, out: Path) -> None:
        self._albums = (out / "albums.ndjson").open("w", encoding="utf-8")
        self._tracks = (out / "tracks.ndjson").open("w", encoding="utf-8")

    def album(self, album: dict[str, Any], tracks: Iterable[dict[str, Any]]) -> None:
        """Write one album (without its embedded track page) and its tracks."""
        record = {key: value for key, value in album.items() if key != "tracks"}
        self._albums.write(json.dumps(record, ensure_ascii=False) + "\n")
        album_id = album["id"]
        for track in tracks:
            self._tracks.write(json.dumps({**track, "album_id": album_id}, ensure_ascii=False))
            self._tracks.write("\n")

    def close(self) -> None:
        """Flush and close both files."""
        self._albums.close()
        self._tracks.close()
