"""Deezer and MusicBrainz as one small aiohttp server on port 0, for the enrichment tests.

Shaped as /work/shared FACTS say the real APIs answer: Deezer's errors are HTTP 200 with
an ``error`` body (code 800 a miss, code 4 past 50 requests in 5 s), UPCs stored as the
12-digit form, ``/album/{id}/tracks`` paged with ``index``/``limit`` (at most 100) and
``next``; MusicBrainz 403 without a User-Agent, 503 + Retry-After over one request a second,
404 a miss, barcode search hits with ``score``. ``script`` plays answers before the real
ones (``"code4"``, ``"code700"``, ``"503"``, ``"503-0"``, ``"500"``), per API.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

Album = tuple[dict[str, Any], list[dict[str, Any]]]


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def deezer_error(code: int, message: str, kind: str = "Exception") -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, "code": code}}


class FakeEnrichAPIs:
    """The truth it serves is built from Spotify albums: album ``i`` is on Deezer unless
    ``i % 4 == 3``, on MusicBrainz when ``i % 3 == 0``; one track per Deezer album has
    another ISRC there (a track miss); artist names are upper-cased on Deezer."""

    def __init__(
        self,
        albums: list[Album],
        *,
        clock: Callable[[], float] = time.monotonic,
        deezer_window: tuple[int, float] | None = (50, 5.0),
        musicbrainz_interval: float | None = None,
        padded_upcs: bool = False,
    ) -> None:
        self.clock = clock
        self.deezer_window = deezer_window
        self.musicbrainz_interval = musicbrainz_interval
        self.script: dict[str, deque[str]] = {"deezer": deque(), "musicbrainz": deque()}
        self.requests: list[tuple[str, str]] = []
        #: Deezer answers 502 to a lookup of these UPCs (a failure that outlasts retries).
        self.failing_upcs: set[str] = set()
        self.user_agents: set[str] = set()
        self.throttled = {"deezer": 0, "musicbrainz": 0}
        self._deezer_times: deque[float] = deque()
        self._mb_last = float("-inf")
        self.deezer_albums: dict[str, dict[str, Any]] = {}  # by stored upc
        self.deezer_by_id: dict[int, dict[str, Any]] = {}
        self.deezer_tracks: dict[int, list[dict[str, Any]]] = {}
        self.deezer_artists: dict[int, dict[str, Any]] = {}
        self.releases: dict[str, dict[str, Any]] = {}  # by barcode without leading zeros
        self.release_groups: dict[str, dict[str, Any]] = {}
        #: Spotify album id -> what the enrichment must find (None: a miss).
        self.truth_deezer: dict[str, int | None] = {}
        self.truth_mb: dict[str, str | None] = {}
        artist_ids: dict[str, int] = {}
        for i, (album, tracks) in enumerate(albums):
            upc = album["external_ids"]["upc"]
            spotify_id = album["id"]
            if i % 4 != 3:
                deezer_id = 300000 + i
                contributors = []
                for credit in album["artists"]:
                    a_id = artist_ids.setdefault(credit["id"], 27000 + len(artist_ids))
                    self.deezer_artists[a_id] = {
                        "id": a_id,
                        "name": credit["name"].upper(),
                        "nb_album": 3,
                        "nb_fan": 1000 * a_id % 997,
                        "type": "artist",
                    }
                    contributors.append(
                        {"id": a_id, "name": credit["name"].upper(), "role": "Main"}
                    )
                items = [
                    {
                        "id": 9_000_000 + i * 1000 + n,
                        "isrc": t["external_ids"]["isrc"] if n else "ZZ0000000000",
                        "title": t["name"],
                        "rank": 500 + n,
                        "track_position": n + 1,
                        "disk_number": 1,
                        "type": "track",
                    }
                    for n, t in enumerate(tracks)
                ]
                stored = upc.lstrip("0") if padded_upcs else upc
                body = {
                    "id": deezer_id,
                    "title": album["name"],
                    "upc": stored,
                    "genre_id": 132 if i % 2 else -1,
                    "genres": {"data": [{"id": 132, "name": "Pop", "type": "genre"}]}
                    if i % 2
                    else {"data": []},
                    "fans": 10 * i,
                    "nb_tracks": len(items),
                    "record_type": "album",
                    "artist": contributors[0] if contributors else None,
                    "contributors": contributors,
                    "tracks": {"data": [{"id": t["id"], "title": t["title"]} for t in items[:25]]},
                    "type": "album",
                }
                self.deezer_albums[stored] = body
                self.deezer_by_id[deezer_id] = body
                self.deezer_tracks[deezer_id] = items
                self.truth_deezer[spotify_id] = deezer_id
            else:
                self.truth_deezer[spotify_id] = None
            if i % 3 == 0:
                mbid = f"00000000-0000-4000-8000-{i:012d}"
                rgid = f"11111111-0000-4000-8000-{i:012d}"
                self.releases[upc.lstrip("0")] = {
                    "id": mbid,
                    "score": 100,
                    "title": album["name"],
                    "barcode": upc,
                    "release-group": {"id": rgid, "title": album["name"]},
                }
                self.release_groups[rgid] = {
                    "id": rgid,
                    "title": album["name"],
                    "genres": [{"count": 2, "id": "g1", "name": "pop", "disambiguation": ""}],
                    "tags": [{"count": 2, "name": "pop"}],
                }
                self.truth_mb[spotify_id] = mbid
            else:
                self.truth_mb[spotify_id] = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeEnrichAPIs:
        app = web.Application()
        app.router.add_get("/deezer/{path:.*}", self._deezer)
        app.router.add_get("/musicbrainz/ws/2/{path:.*}", self._musicbrainz)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def deezer_url(self) -> str:
        return f"{self.url}/deezer"

    @property
    def musicbrainz_url(self) -> str:
        return f"{self.url}/musicbrainz/ws/2"

    def count(self, api: str, prefix: str = "") -> int:
        return sum(1 for a, p in self.requests if a == api and p.startswith(prefix))

    async def _deezer(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.requests.append(("deezer", path))
        self.user_agents.add(request.headers.get("User-Agent", ""))
        if self.script["deezer"]:
            step = self.script["deezer"].popleft()
            if step == "code4":
                self.throttled["deezer"] += 1
                return _json(deezer_error(4, "Quota limit exceeded"))
            if step == "code700":
                return _json(deezer_error(700, "Service busy"))
            return _json({}, status=int(step))
        if self.deezer_window is not None:
            limit, seconds = self.deezer_window
            now = self.clock()
            while self._deezer_times and self._deezer_times[0] <= now - seconds:
                self._deezer_times.popleft()
            self._deezer_times.append(now)  # throttled requests count too
            if len(self._deezer_times) > limit:
                self.throttled["deezer"] += 1
                return _json(deezer_error(4, "Quota limit exceeded"))
        miss = deezer_error(800, "no data", "DataException")
        parts = path.split("/")
        if len(parts) == 2 and parts[0] == "album" and parts[1].startswith("upc:"):
            if parts[1][4:] in self.failing_upcs:
                return _json({}, status=502)
            found = self.deezer_albums.get(parts[1][4:])
            return _json(found if found is not None else miss)
        if len(parts) == 3 and parts[0] == "album" and parts[2] == "tracks":
            items = self.deezer_tracks.get(int(parts[1]))
            if items is None:
                return _json(miss)
            limit = min(100, int(request.query.get("limit", 25)))
            index = int(request.query.get("index", 0))
            page: dict[str, Any] = {"data": items[index : index + limit], "total": len(items)}
            if index + limit < len(items):
                page["next"] = f"{self.deezer_url}/{path}?limit={limit}&index={index + limit}"
            return _json(page)
        if len(parts) == 2 and parts[0] == "artist":
            artist = self.deezer_artists.get(int(parts[1]))
            return _json(artist if artist is not None else miss)
        return _json(
            deezer_error(600, f"Unknown path components : /{path}", "InvalidQueryException")
        )

    async def _musicbrainz(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.requests.append(("musicbrainz", path))
        agent = request.headers.get("User-Agent", "")
        self.user_agents.add(agent)
        if not agent:
            return _json({"error": "Your requests are being throttled ..."}, status=403)
        if self.script["musicbrainz"]:
            step = self.script["musicbrainz"].popleft()
            self.throttled["musicbrainz"] += step.startswith("503")
            after = "0" if step == "503-0" else "1"
            return _json({"error": "busy"}, status=int(step[:3]), headers={"Retry-After": after})
        if self.musicbrainz_interval is not None:
            now = self.clock()
            if now - self._mb_last < self.musicbrainz_interval:
                self.throttled["musicbrainz"] += 1
                body = {"error": "Your requests are exceeding the allowable rate limit."}
                return _json(body, status=503, headers={"Retry-After": "1"})
            self._mb_last = now
        not_found = {"error": "Not Found", "help": "For usage, please see: ..."}
        if path.rstrip("/") == "release":
            query = request.query.get("query", "")
            key = query.removeprefix("barcode:").lstrip("0")
            hit = self.releases.get(key)
            decoy = {"id": "decoy", "score": 100, "barcode": "1" + key, "release-group": {}}
            hits = [decoy, hit] if hit else []
            return _json(
                {
                    "created": "2026-12-07T00:00:00Z",
                    "count": len(hits),
                    "offset": 0,
                    "releases": hits,
                }
            )
        if path.startswith("release-group/"):
            group = self.release_groups.get(path.split("/", 1)[1])
            if group is None or request.query.get("inc") != "genres+tags":
                return _json(not_found, status=404)
            return _json(group)
        return _json(not_found, status=404)
