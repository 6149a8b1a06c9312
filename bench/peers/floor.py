"""The floor: bare aiohttp issuing only the minimal set of requests, all at once.

No pacing beyond what the server's limit forces (an oracle that knows the rolling window
exactly), no retries beyond honouring a 429, no records written: only the ids it got, at
the end, so the harness can check it. Nothing can be faster than this and still be right.
In extended mode it also fetches every artist credited on an album or a track, 50 a
several-artists call as soon as 50 new ones are known (the last batch when the albums are
done), as the pull does; in development mode none (the pull's ``auto`` skips them).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from .common import PeerArgs, parse_args

__all__ = ["main"]

PAGE = 50
BATCH = 20
ARTISTS_BATCH = 50
SEARCH_PAGE = 10
#: Seconds added to the oracle's wait, for clock granularity.
MARGIN = 0.02


class Oracle:
    """Sends no more than the server's rolling window allows; one shared 429 gate.

    A request's slot is stamped when its answer arrives: the server admitted it before
    then, so the slot frees no later than that stamp plus the window. Exact enough to be
    the floor, and never wrong however long the event loop takes to send a request.
    """

    def __init__(self, window: tuple[int, float] | None) -> None:
        self._window = window
        self._stamps: list[float | None] = []  # None: in flight
        self._changed = asyncio.Condition()
        self._gate_until = 0.0

    async def acquire(self) -> int:
        """Wait for a slot; returns its index, to pass to :meth:`done`."""
        async with self._changed:
            while True:
                now = time.monotonic()
                wait = self._gate_until - now
                slot = self._free_slot(now)
                if slot is None and wait <= 0:
                    wait = self._next_free(now)
                if wait <= 0 and slot == -1:
                    return slot
                if wait <= 0 and slot is not None:
                    if slot == len(self._stamps):
                        self._stamps.append(None)
                    else:
                        self._stamps[slot] = None
                    return slot
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), max(wait, 0.001))

    def _free_slot(self, now: float) -> int | None:
        if self._window is None:
            return -1
        count, seconds = self._window
        if len(self._stamps) < count:
            return len(self._stamps)
        for index, stamp in enumerate(self._stamps):
            if stamp is not None and now - stamp >= seconds + MARGIN:
                return index
        return None

    def _next_free(self, now: float) -> float:
        assert self._window is not None
        done = [stamp for stamp in self._stamps if stamp is not None]
        # All in flight: an answer will notify; else the oldest answered slot frees.
        return min(done) + self._window[1] + MARGIN - now if done else 3600.0

    async def done(self, slot: int) -> None:
        """The answer of the request in ``slot`` arrived."""
        async with self._changed:
            if slot >= 0:
                self._stamps[slot] = time.monotonic()
            self._changed.notify_all()

    def close_gate(self, seconds: float) -> None:
        self._gate_until = max(self._gate_until, time.monotonic() + seconds)


class Floor:
    """The minimal plan for one access mode, with unlimited concurrency."""

    def __init__(self, session: aiohttp.ClientSession, args: PeerArgs) -> None:
        self._session = session
        self._args = args
        self._oracle = Oracle(args.window)
        self._headers: dict[str, str] = {}
        self.tracks: dict[str, list[str]] = {}
        self._seen: set[str] = set()
        self._pending: list[tuple[str, str]] = []
        #: Artists credited so far, those not yet requested, and those fetched.
        self._credited: set[str] = set()
        self._artists_pending: list[str] = []
        self.artists: list[str] = []
        self.fetch_artists = False

    async def token(self) -> None:
        basic = base64.b64encode(f"{self._args.client_id}:{self._args.client_secret}".encode())
        async with self._session.post(
            self._args.token_url,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic.decode()}"},
        ) as resp:
            resp.raise_for_status()
            body = await resp.json()
        self._headers = {"Authorization": f"Bearer {body['access_token']}"}

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        url = self._args.api_url + path
        while True:
            slot = await self._oracle.acquire()
            try:
                async with self._session.get(url, params=params, headers=self._headers) as resp:
                    if resp.status == 429:
                        self._oracle.close_gate(float(resp.headers.get("Retry-After", "1")))
                        continue
                    resp.raise_for_status()
                    return await resp.json()
            finally:
                await self._oracle.done(slot)

    async def extended(self, tg: asyncio.TaskGroup) -> None:
        async with asyncio.TaskGroup() as listing:
            for market in self._args.markets:
                listing.create_task(self._listing(market, tg))
        self._flush(tg, final=True)

    async def _listing(self, market: str, tg: asyncio.TaskGroup) -> None:
        first = await self._new_releases(market, 0, tg)
        rest = [self._new_releases(market, offset, tg) for offset in range(PAGE, first, PAGE)]
        await asyncio.gather(*rest)

    async def _new_releases(self, market: str, offset: int, tg: asyncio.TaskGroup) -> int:
        params = {"country": market, "limit": PAGE, "offset": offset}
        page = (await self.get("/browse/new-releases", params))["albums"]
        for item in page["items"]:
            if item and item["id"] not in self._seen:
                self._seen.add(item["id"])
                self._pending.append((item["id"], market))
        self._flush(tg, final=False)
        return int(page["total"])

    def _flush(self, tg: asyncio.TaskGroup, *, final: bool) -> None:
        while len(self._pending) >= BATCH or (final and self._pending):
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            tg.create_task(self._several([a for a, _ in batch], batch[0][1], tg))

    async def _several(self, ids: Sequence[str], market: str, tg: asyncio.TaskGroup) -> None:
        body = await self.get("/albums", {"ids": ",".join(ids), "market": market})
        for album in body["albums"]:
            if album is not None:
                self._album(album, market, tg)

    def _credit(self, items: Sequence[dict[str, Any]], tg: asyncio.TaskGroup) -> None:
        if not self.fetch_artists:
            return
        for item in items:
            for artist in item.get("artists") or ():
                if artist["id"] not in self._credited:
                    self._credited.add(artist["id"])
                    self._artists_pending.append(artist["id"])
        while len(self._artists_pending) >= ARTISTS_BATCH:
            batch = self._artists_pending[:ARTISTS_BATCH]
            self._artists_pending = self._artists_pending[ARTISTS_BATCH:]
            tg.create_task(self._several_artists(batch))

    async def last_artists(self) -> None:
        """The last, short batch: once every album and track is in."""
        if self._artists_pending:
            await self._several_artists(self._artists_pending)

    async def _several_artists(self, ids: Sequence[str]) -> None:
        body = await self.get("/artists", {"ids": ",".join(ids)})
        self.artists.extend(a["id"] for a in body["artists"] if a is not None)

    def _album(self, album: dict[str, Any], market: str, tg: asyncio.TaskGroup) -> None:
        page = album["tracks"]
        self.tracks[album["id"]] = [t["id"] for t in page["items"]]
        self._credit([album, *page["items"]], tg)
        for offset in range(PAGE, int(page["total"]), PAGE):
            tg.create_task(self._tracks(album["id"], market, offset, tg))

    async def _tracks(self, album_id: str, market: str, offset: int, tg: asyncio.TaskGroup) -> None:
        params = {"market": market, "limit": PAGE, "offset": offset}
        page = await self.get(f"/albums/{album_id}/tracks", params)
        self.tracks[album_id].extend(t["id"] for t in page["items"])
        self._credit(page["items"], tg)

    async def development(self, tg: asyncio.TaskGroup) -> None:
        # Search answers per market (availability differs), so each market is searched.
        for market in self._args.markets:
            tg.create_task(self._search_market(market, tg))

    async def _search_market(self, market: str, tg: asyncio.TaskGroup) -> None:
        first = await self._search(market, 0, tg)
        await asyncio.gather(
            *(self._search(market, o, tg) for o in range(SEARCH_PAGE, first, SEARCH_PAGE))
        )

    async def _search(self, market: str, offset: int, tg: asyncio.TaskGroup) -> int:
        params = {
            "q": "tag:new",
            "type": "album",
            "market": market,
            "limit": SEARCH_PAGE,
            "offset": offset,
        }
        page = (await self.get("/search", params))["albums"]
        for item in page["items"]:
            if item and item["id"] not in self._seen:
                self._seen.add(item["id"])
                tg.create_task(self._get_album(item["id"], market, tg))
        return min(int(page["total"]), 1000)

    async def _get_album(self, album_id: str, market: str, tg: asyncio.TaskGroup) -> None:
        self._album(await self.get(f"/albums/{album_id}", {"market": market}), market, tg)


async def _run(args: PeerArgs, development: bool) -> tuple[dict[str, list[str]], list[str]]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        floor = Floor(session, args)
        floor.fetch_artists = not development
        await floor.token()
        async with asyncio.TaskGroup() as tg:
            await (floor.development(tg) if development else floor.extended(tg))
        await floor.last_artists()
        return floor.tracks, floor.artists


def main(argv: Sequence[str] | None = None) -> int:
    """Pull, then write ``ids.json`` ({album id: [track ids]}) and ``artists.json`` (the
    artist ids fetched) for the check."""
    argv = list(sys.argv[1:] if argv is None else argv)
    development = "--development" in argv
    if development:
        argv.remove("--development")
    args = parse_args(argv)
    tracks, artists = asyncio.run(_run(args, development))
    (args.out / "ids.json").write_text(json.dumps(tracks))
    (args.out / "artists.json").write_text(json.dumps(artists))
    return 0


if __name__ == "__main__":
    sys.exit(main())
