"""Hostile mode: answers a careful client must survive without leaking or looping.

A few albums, chosen from the seed, are sabotaged the same way on every request, so a
pull meets each kind at least once and ground truth can say which albums are affected:

- ``bad_id``: listings show an id that is not base62 (``../../v1/me`` and friends).
- ``html``: Get Album and album tracks answer 200 with an HTML page (null in several).
- ``oversized``: Get Album and album tracks answer a JSON body of ``hostile_body_bytes``
  (null in several-albums).
- ``lying_total``: track pages claim more tracks than exist.
- ``missing_fields``: the album lacks ``name``, ``artists`` and ``release_date`` (odd
  but valid: a lenient client writes it).
- ``track_without_id``: the album's first track lacks ``id`` (a careful client fails
  the album rather than write it without that track).

A few artists credited on the albums are gone (``gone_artists``): several-artists answers
``null`` for them and Get Artist 404, as Spotify does for an artist it no longer serves.
The first album of the first market's list, never sabotaged itself, credits one of them.

Every listing page also starts with a ``null`` item, claims a ``total`` larger than the
list, and the first page's ``next`` (and every embedded tracks ``next``) points to
another host (``attacker.invalid``, which never resolves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from .catalogue import Catalogue
from .handlers import NOT_FOUND, Reply
from .names import uniform
from .objects import artist_id, artist_pool

KINDS = ("bad_id", "html", "oversized", "lying_total", "missing_fields", "track_without_id")
#: Share of further albums given each kind, beyond the one per kind always chosen.
EXTRA_SHARE = 0.02
#: Share of artists gone, beyond the one always chosen.
GONE_ARTIST_SHARE = 0.02
FOREIGN_HOST = "attacker.invalid"
TOTAL_LIE = 25
_BAD_IDS = ("../../v1/me", "..%2F..%2Fv1%2Fme", "abc", "4aawyAB9vmqN3uQ7FjRGTy?x=1", "")
_HTML = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Captive portal</body></html>"
)


class Hostility:
    """Which albums are sabotaged how, and the rewriting of answers that goes with it."""

    def __init__(self, catalogue: Catalogue, body_bytes: int) -> None:
        self.catalogue = catalogue
        self.body_bytes = body_bytes
        config = catalogue.config
        self.kind_of: dict[str, str] = {}
        first = catalogue.listing(config.markets[0])
        for kind, index in zip(KINDS, first[1:], strict=False):
            self.kind_of[catalogue.shape(index).id] = kind
        listed = sorted({i for market in config.markets for i in catalogue.listing(market)})
        for index in listed:  # a day's pools hold albums no market lists: none of those
            roll = uniform(config.seed, "hostile", index)
            album_id = catalogue.shape(index).id
            if roll < EXTRA_SHARE * len(KINDS) and album_id not in self.kind_of:
                self.kind_of[album_id] = KINDS[int(roll / EXTRA_SHARE)]
        self.shown_id = {
            album_id: _BAD_IDS[n % len(_BAD_IDS)]
            for n, album_id in enumerate(a for a, k in self.kind_of.items() if k == "bad_id")
        }
        seed = config.seed
        self.gone_artists = {
            artist_id(seed, n)
            for n in range(artist_pool(catalogue.album_count - 1))
            if uniform(seed, "gone-artist", n) < GONE_ARTIST_SHARE
        }
        self.gone_artists.add(catalogue.credits(first[0])[0])

    def __repr__(self) -> str:
        return f"<Hostility albums={len(self.kind_of)}>"

    def truth(self) -> dict[str, Any]:
        """Ground-truth addendum: the sabotaged albums by kind (real ids)."""
        by_kind: dict[str, Any] = {kind: [] for kind in KINDS}
        for album_id, kind in self.kind_of.items():
            by_kind[kind].append(album_id)
        by_kind["bad_id"] = {a: self.shown_id[a] for a in by_kind["bad_id"]}
        by_kind["gone_artists"] = sorted(self.gone_artists)
        return by_kind

    def rewrite(
        self, route: str, args: tuple[str, ...], query: Mapping[str, str], reply: Reply
    ) -> Reply:
        """The hostile version of a successful answer."""
        if reply.status != 200:
            return reply
        if route == "artist":
            return NOT_FOUND if args[0] in self.gone_artists else reply
        if route in ("album", "album-tracks"):
            kind = self.kind_of.get(args[0])
            if kind == "html":
                return Reply(200, _HTML, {"Content-Type": "text/html; charset=utf-8"})
            if kind == "oversized":
                return Reply(200, self._oversized(reply.body))
        body = orjson.loads(reply.body)
        if route == "album":
            self._album(body)
        elif route == "album-tracks":
            self._tracks(body, args[0], embedded=False)
        elif route == "several-albums":
            body["albums"] = [self._several(a) for a in body["albums"]]
        elif route == "several-artists":
            body["artists"] = [
                None if a is None or a["id"] in self.gone_artists else a for a in body["artists"]
            ]
        elif route in ("new-releases", "search"):
            for page in body.values():
                self._listing(page, lie=route == "new-releases")
        return Reply(200, orjson.dumps(body), reply.headers)

    def _oversized(self, body: bytes) -> bytes:
        padding = b"x" * max(0, self.body_bytes - len(body))
        return body[:-1] + b',"padding":"' + padding + b'"}'

    def _several(self, album: dict[str, Any] | None) -> dict[str, Any] | None:
        if album is None or self.kind_of.get(album["id"]) in ("html", "oversized"):
            return None
        self._album(album)
        return album

    def _album(self, album: dict[str, Any]) -> None:
        self._tracks(album["tracks"], album["id"], embedded=True)
        self._strip(album)

    def _strip(self, album: dict[str, Any]) -> None:
        if self.kind_of.get(album["id"]) == "missing_fields":
            for key in ("name", "artists", "release_date"):
                album.pop(key, None)

    def _tracks(self, page: dict[str, Any], album_id: str, *, embedded: bool) -> None:
        kind = self.kind_of.get(album_id)
        if kind == "lying_total":
            page["total"] += TOTAL_LIE
            if page["next"] is None and page["offset"] + page["limit"] < page["total"]:
                page["next"] = _with_offset(page["href"], page["offset"] + page["limit"])
        if kind == "track_without_id" and page["offset"] == 0 and page["items"]:
            page["items"][0].pop("id", None)
        if embedded and page["next"]:
            page["next"] = _foreign(page["next"])

    def _listing(self, page: dict[str, Any], *, lie: bool) -> None:
        for album in page["items"]:
            self._strip(album)
            shown = self.shown_id.get(album["id"])
            if shown is not None:
                album["href"] = album["href"].replace(album["id"], shown)
                album["uri"] = f"spotify:album:{shown}"
                album["id"] = shown
        if page["offset"] == 0:
            page["items"].insert(0, None)
            if page["next"]:
                page["next"] = _foreign(page["next"])
        if lie:
            page["total"] += TOTAL_LIE


def _foreign(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("https", FOREIGN_HOST, parts.path, parts.query, ""))


def _with_offset(href: str, offset: int) -> str:
    parts = urlsplit(href)
    query = "&".join(
        f"offset={offset}" if p.startswith("offset=") else p for p in parts.query.split("&")
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
