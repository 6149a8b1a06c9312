"""The emulated Spotify endpoints, as plain functions from a query to a reply.

Handlers only read the catalogue; authentication, limits and faults are applied around
them by :mod:`.app`, so each handler is the happy path plus Spotify's 4xx rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..core.ids import is_spotify_id
from .catalogue import GROUPS, SEARCH_CAP, Catalogue
from .config import SandboxConfig
from .pages import BadParam, error_body, market_param, paging, paging_params

#: Several-albums accepts at most this many ids.
MAX_IDS = 20
#: Several-artists accepts at most this many ids.
MAX_ARTIST_IDS = 50
#: Get Album and several-albums embed the first page of tracks at this size.
EMBEDDED_TRACKS = 50
_SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer before it is sent; ``cut_off`` drops the connection mid-body."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    cut_off: bool = False


def _error(status: int, message: str) -> Reply:
    return Reply(status, error_body(status, message))


FORBIDDEN = _error(403, "Forbidden")
NOT_FOUND = _error(404, "non existing id")


def bad_request(exc: BadParam) -> Reply:
    """The 400 Spotify sends for a rejected parameter."""
    return _error(400, str(exc))


def new_releases(cat: Catalogue, query: Mapping[str, str]) -> Reply:
    """``GET /browse/new-releases``: one market's capped editorial list."""
    if cat.config.access == "development":
        return FORBIDDEN
    country = market_param(query, "country") or cat.config.markets[0]
    limit, offset = paging_params(query, default=20, max_limit=50)
    total = cat.listing_length(country)
    items = [
        cat.album(cat.listing_index(country, p)).simplified
        for p in range(offset, min(offset + limit, total))
    ]
    page = paging(
        f"{cat.base}/browse/new-releases", query, items, offset=offset, limit=limit, total=total
    )
    return Reply(200, b'{"albums":' + page + b"}")


def _full_album(cat: Catalogue, index: int, market: str | None) -> bytes:
    rendered = cat.album(index)
    query = {"market": market} if market else {}
    tracks = paging(
        f"{cat.base}/albums/{rendered.shape.id}/tracks",
        query,
        rendered.tracks[:EMBEDDED_TRACKS],
        offset=0,
        limit=EMBEDDED_TRACKS,
        total=len(rendered.tracks),
    )
    return rendered.full_prefix + tracks + b"}"


def _ids_param(query: Mapping[str, str], most: int) -> list[str]:
    """The ``ids=`` of a several-objects call, checked as Spotify checks it."""
    raw = query.get("ids")
    if not raw:
        raise BadParam("invalid id")
    ids = raw.split(",")
    if len(ids) > most:
        raise BadParam("Too many ids requested")
    if not all(is_spotify_id(i) for i in ids):
        raise BadParam("Invalid base62 id")
    return ids


def several_albums(cat: Catalogue, query: Mapping[str, str]) -> Reply:
    """``GET /albums?ids=``: full albums in request order, null for unknown ids."""
    if cat.config.access == "development":
        return FORBIDDEN
    ids = _ids_param(query, MAX_IDS)
    market = market_param(query)
    parts = []
    for album_id in ids:
        index = cat.index_of(album_id)
        parts.append(b"null" if index is None else _full_album(cat, index, market))
    return Reply(200, b'{"albums":[' + b",".join(parts) + b"]}")


def _lookup(cat: Catalogue, album_id: str) -> int | Reply:
    if not is_spotify_id(album_id):
        return bad_request(BadParam("Invalid base62 id"))
    index = cat.index_of(album_id)
    return NOT_FOUND if index is None else index


def album(cat: Catalogue, query: Mapping[str, str], album_id: str) -> Reply:
    """``GET /albums/{id}``: the album with its first 50 tracks embedded."""
    found = _lookup(cat, album_id)
    if isinstance(found, Reply):
        return found
    return Reply(200, _full_album(cat, found, market_param(query)))


def album_tracks(cat: Catalogue, query: Mapping[str, str], album_id: str) -> Reply:
    """``GET /albums/{id}/tracks``: one page of an album's tracks."""
    found = _lookup(cat, album_id)
    if isinstance(found, Reply):
        return found
    market_param(query)
    limit, offset = paging_params(query, default=20, max_limit=50)
    tracks = cat.album(found).tracks
    page = paging(
        f"{cat.base}/albums/{album_id}/tracks",
        query,
        tracks[offset : offset + limit],
        offset=offset,
        limit=limit,
        total=len(tracks),
    )
    return Reply(200, page)


def several_artists(cat: Catalogue, query: Mapping[str, str]) -> Reply:
    """``GET /artists?ids=``: full artists in request order, null for unknown ids; gone
    (403) for development-mode apps."""
    if cat.config.access == "development":
        return FORBIDDEN
    parts = [cat.artist(artist_id) or b"null" for artist_id in _ids_param(query, MAX_ARTIST_IDS)]
    return Reply(200, b'{"artists":[' + b",".join(parts) + b"]}")


def artist(cat: Catalogue, query: Mapping[str, str], artist_id: str) -> Reply:
    """``GET /artists/{id}``: one full artist (without followers and popularity for
    development-mode apps)."""
    if not is_spotify_id(artist_id):
        return bad_request(BadParam("Invalid base62 id"))
    body = cat.artist(artist_id)
    return NOT_FOUND if body is None else Reply(200, body)


def search(cat: Catalogue, query: Mapping[str, str]) -> Reply:
    """``GET /search``: albums for ``tag:new``; other queries and types find nothing."""
    q = query.get("q")
    if not q:
        raise BadParam("No search query")
    types = query.get("type", "").split(",")
    if not all(t in _SEARCH_TYPES for t in types):
        raise BadParam("Bad search type field")
    config: SandboxConfig = cat.config
    dev = config.access == "development"
    limit, offset = paging_params(
        query, default=5 if dev else 20, max_limit=10 if dev else 50, max_offset=SEARCH_CAP
    )
    market_param(query)
    url = f"{cat.base}/search"
    parts = []
    for kind in types:
        found = cat.search_new() if kind == "album" and "tag:new" in q.split() else []
        reached = found[:SEARCH_CAP]  # the total counts them all; paging stops at the cap
        items = [cat.album(i).simplified for i in reached[offset : offset + limit]]
        page = paging(url, query, items, offset=offset, limit=limit, total=len(found))
        parts.append(b'"' + kind.encode() + b's":' + page)
    return Reply(200, b"{" + b",".join(parts) + b"}")


#: Get Artist's Albums pages at most this many albums (the 2026 spec: 1..10, default 5).
MAX_ARTIST_ALBUMS = 10


def artist_albums(cat: Catalogue, query: Mapping[str, str], artist_id: str) -> Reply:
    """``GET /artists/{id}/albums``: a page of the artist's albums in the groups
    ``include_groups`` names (all when absent) and available in ``market`` (any when
    absent); each item is a simplified album plus ``album_group`` (which development-mode
    apps no longer get, like the other fields Spotify removed in February 2026)."""
    if not is_spotify_id(artist_id):
        return bad_request(BadParam("Invalid base62 id"))
    limit, offset = paging_params(query, default=5, max_limit=MAX_ARTIST_ALBUMS)
    market = market_param(query)
    raw = query.get("include_groups")
    groups = GROUPS if raw is None else tuple(g.strip() for g in raw.split(","))
    if not groups or not all(g in GROUPS for g in groups):
        raise BadParam("Invalid include_groups")
    if cat.artist(artist_id) is None:
        return NOT_FOUND
    releases = [
        r
        for r in cat.discography(artist_id)
        if r.group in groups and (market is None or market in r.markets)
    ]
    dev = cat.config.access == "development"
    items = []
    for release in releases[offset : offset + limit]:
        simplified = cat.album(release.index).simplified
        if not dev:
            simplified = simplified[:-1] + b',"album_group":"' + release.group.encode() + b'"}'
        items.append(simplified)
    page = paging(
        f"{cat.base}/artists/{artist_id}/albums",
        query,
        items,
        offset=offset,
        limit=limit,
        total=len(releases),
    )
    return Reply(200, page)
