"""How many requests a pull needs: the arithmetic, and the ``--dry-run`` plan built on it.

:func:`minimum_requests` is the fewest requests that fetch a catalogue; a finished run's
manifest records :func:`run_minimum` of what it fetched, and ``--dry-run`` counts a
pull before it runs with :func:`plan_requests`. The dry run makes the listing calls (they
are few and tell which albums and how many tracks); nothing is expanded and nothing is
written. Expansion is counted from the listings' ``total_tracks``; with ``--ids`` there is
no listing, so the count is a lower bound. A watchlist (``--artist-ids``) reads every page
of each artist's albums, as the pull does, and counts from the releases it keeps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..client.http import SpotifyClient
from ..core.errors import EndpointUnavailableError, NotFoundError
from ..core.settings import Credentials, PullSettings
from .access import Access
from .artists import credited_artists, several_artists_choice
from .dedupe import Dedupe, Sighting
from .endpoints import (
    ALBUMS_PER_BATCH,
    ARTIST_ALBUMS_PAGE,
    ARTISTS_PER_BATCH,
    LISTING_PAGE,
    SEARCH_PAGE_DEVELOPMENT,
    TRACKS_PAGE,
    AccessMode,
    SpotifyAPI,
)
from .enrich import minimum as enrich_minimum
from .expansion import several_albums_choice
from .ids_file import IdsInput
from .known import NOTHING_KNOWN, Known
from .listing import artist_key, new_releases_choice, note_reach, release_day, unreached_text
from .outcomes import PullStats


def minimum_requests(
    listed: Mapping[str, Sequence[str]],
    track_counts: Mapping[str, int],
    access: AccessMode = "extended",
    page_size: int | None = None,
    artist_totals: Mapping[str, int | None] | None = None,
) -> dict[str, int]:
    """The fewest requests per endpoint that fetch a catalogue.

    ``listed`` maps each market to the album ids its discovery listing holds
    (new-releases in extended mode, search ``tag:new`` in development mode);
    ``track_counts`` gives each unique album's total tracks. Extended: ceil(listed/50)
    listing pages per market, ceil(unique/20) several-albums calls, and one call per
    further 50 tracks of long albums. Development: search pages per market, one Get Album
    per unique album, and the same further track pages.

    A watchlist (``--source artists``) lists through Get Artist's Albums instead:
    ``artist_totals`` maps each watched artist to the ``total`` its listing reported (all
    its albums in the groups asked for, however old), and every page of them is read,
    since Spotify documents no order to stop early by: max(1, ceil(total/10)) pages per
    artist, in both modes; ``listed`` then maps each artist to its recent releases.
    """
    unique = {album_id for ids in listed.values() for album_id in ids}
    further = sum(
        max(0, math.ceil(track_counts.get(album_id, 0) / TRACKS_PAGE) - 1) for album_id in unique
    )
    if artist_totals is not None:
        size = page_size or ARTIST_ALBUMS_PAGE
        pages = sum(max(1, math.ceil((t or 0) / size)) for t in artist_totals.values())
        expansion = (
            {"several-albums": math.ceil(len(unique) / ALBUMS_PER_BATCH)}
            if access == "extended"
            else {"album": len(unique)}
        )
        return {"artist-albums": pages, **expansion, "album-tracks": further}
    if access == "extended":
        size = page_size or LISTING_PAGE
        return {
            "new-releases": sum(max(1, math.ceil(len(ids) / size)) for ids in listed.values()),
            "several-albums": math.ceil(len(unique) / ALBUMS_PER_BATCH),
            "album-tracks": further,
        }
    size = page_size or SEARCH_PAGE_DEVELOPMENT
    return {
        "search": sum(max(1, math.ceil(len(ids) / size)) for ids in listed.values()),
        "album": len(unique),
        "album-tracks": further,
    }


def listing_minimum(source: str, listed: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """The fewest listing requests (``new-releases`` or ``search``) that page ``listed``."""
    access: AccessMode = "extended" if source == "new-releases" else "development"
    return {source: minimum_requests(listed, {}, access)[source]}


def artists_listing_minimum(reach: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """The fewest Get Artist's Albums requests that page the watched artists' listings,
    from the ``total`` each reported (``reach``, keyed by artist)."""
    totals = {k: r.get("total") for k, r in reach.items() if r.get("source") == "artists"}
    return {"artist-albums": minimum_requests({}, {}, artist_totals=totals)["artist-albums"]}


def expansion_minimum(expand: str, track_counts: Mapping[str, int]) -> dict[str, int]:
    """The fewest requests that expand these albums (id to total tracks) through ``expand``."""
    if expand == "tracks":
        pages = sum(max(1, math.ceil(n / TRACKS_PAGE)) for n in track_counts.values())
        return _nonzero({"album-tracks": pages})
    access: AccessMode = "extended" if expand == "several" else "development"
    found = minimum_requests({"": list(track_counts)}, track_counts, access)
    found.pop("new-releases" if access == "extended" else "search")
    return _nonzero(found)


def artists_minimum(artists: str, count: int) -> dict[str, int]:
    """The fewest requests that fetch ``count`` artists through ``artists`` (several: 50 a
    call; single: one Get Artist each; off: none)."""
    if artists == "several":
        return _nonzero({"several-artists": math.ceil(count / ARTISTS_PER_BATCH)})
    if artists == "single":
        return _nonzero({"artist": count})
    return {}


def run_minimum(stats: PullStats) -> dict[str, int]:
    """The fewest requests that fetch what a run listed, expanded and credited."""
    minimum: dict[str, int] = {}
    if stats.source in ("new-releases", "search"):
        minimum.update(listing_minimum(stats.source, stats.listed))
    elif stats.source == "artists":  # the listings this run read (none when replayed)
        minimum.update(artists_listing_minimum(stats.reach))
    if stats.expand in ("several", "album", "tracks"):
        minimum.update(expansion_minimum(stats.expand, stats.expanded))
    minimum.update(artists_minimum(stats.artists, stats.artists_requested))
    return _nonzero(minimum)


def _nonzero(requests: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in requests.items() if v}


@dataclass
class RequestPlan:
    """What a pull would request: per endpoint, and whether the count is exact."""

    source: str
    expand: str
    markets: tuple[str, ...]
    artists: str = "off"
    albums: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    lower_bound: bool = False
    notes: list[str] = field(default_factory=list)
    #: Per market: the listing's source, the total it reported and the items it reached.
    reach: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The enrichment's requests per endpoint (``enrich``), paced by its own APIs.
    enrich: dict[str, int] = field(default_factory=dict)
    #: Seconds the enrichment needs at least, each API at its own pace, side by side.
    enrich_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def seconds(self, rate: float) -> float:
        """Time at ``rate`` requests per second, ignoring latency and Retry-After waits."""
        return self.total / rate

    def lines(self, rate: float) -> list[str]:
        """The plan as lines for a terminal."""
        per = ", ".join(f"{k} {v}" for k, v in self.requests.items()) or "none"
        bound = "at least " if self.lower_bound else ""
        return [
            f"plan: discover through {self.source}, expand through {self.expand},"
            f" artists {self.artists} (markets {', '.join(self.markets)};"
            f" tracks requested with market={self.markets[0]})",
            *(f"note: {note}" for note in self.notes),
            f"albums: {self.albums}",
            f"requests: {bound}{self.total} ({per}), plus one token request",
            f"time at {rate:g} requests/s: {bound}{self.seconds(rate):.1f} s"
            " (more if Spotify answers 429 or errors)",
            *self._enrich_lines(),
        ]

    def _enrich_lines(self) -> list[str]:
        if not self.enrich:
            return []
        per = ", ".join(f"{k} {v}" for k, v in self.enrich.items())
        return [
            f"enrichment requests: at least {sum(self.enrich.values())} ({per}), plus one"
            " per Deezer artist matched, one per MusicBrainz hit, and one more per UPC form"
            " Deezer misses",
            f"enrichment time: at least {self.enrich_seconds:.1f} s (Deezer and MusicBrainz"
            " side by side, each at its own pace)",
        ]


async def plan_requests(
    settings: PullSettings,
    credentials: Credentials,
    ids: IdsInput | None,
    known: Known = NOTHING_KNOWN,
) -> RequestPlan:
    """Make the listing calls a pull would make and count the rest; with ``known`` (a
    dataset run), the albums it holds are not counted, and the artists the listing credits
    on albums are (a dataset run refreshes them).

    Each endpoint is chosen as a real run chooses it (:mod:`.access`), from what this app's
    memory holds (read, never written): a remembered 403 plans the fallback without a
    request, a remembered 200 plans the endpoint."""
    async with SpotifyClient(credentials, settings.client, writes_memory=False) as client:
        access = Access(client.memory, read_only=True)
        api = SpotifyAPI(client)
        probes: dict[str, int] = {}
        if settings.source == "artists" and ids is not None:
            watch = RequestPlan("artists", "", settings.markets)
            found = await _watchlist(api, settings, ids, watch)
            return _plan_rest(settings, access, probes, watch, known, *found)
        if ids is not None:
            return _plan_ids(settings, ids, access)
        forced = None if settings.source == "auto" else settings.source
        listing = new_releases_choice(access, probes, forced)
        plan = RequestPlan("new-releases", "", settings.markets)
        if listing.allowed is False and forced is None:
            plan.notes.append(
                "new-releases answered 403 in an earlier run (development mode): search"
                " tag:new covers releases of the last two weeks, not the editorial list"
            )
        listed: dict[str, list[str]] = {}
        totals: dict[str, int] = {}
        credits: dict[str, list[str]] = {}
        if await listing.use():
            try:
                listed, totals, credits = await _listings(api, settings, "new-releases", plan)
                listing.worked()
            except EndpointUnavailableError as exc:
                listing.refused(exc)
                plan.notes.append(
                    "new-releases answered 403 (development mode): search tag:new covers"
                    " releases of the last two weeks, not the editorial list"
                )
        if listing.allowed is False:
            plan.source = "search"
            listed, totals, credits = await _listings(api, settings, "search", plan)
    return _plan_rest(settings, access, probes, plan, known, listed, totals, credits)


def _plan_rest(
    settings: PullSettings,
    access: Access,
    probes: dict[str, int],
    plan: RequestPlan,
    known: Known,
    listed: dict[str, list[str]],
    totals: dict[str, int],
    credits: dict[str, list[str]],
) -> RequestPlan:
    """Count expansion and artists from what the listings showed."""
    dedupe = Dedupe(settings.markets, done=known.albums, max_albums=settings.max_albums)
    chosen = [
        c.album_id
        for market, album_ids in enumerate(listed.values())
        for n, album_id in enumerate(album_ids)
        for c in dedupe.see(Sighting(album_id, market, (market, n)))
    ]
    chosen += [c.album_id for c in dedupe.finish()]
    if dedupe.skipped_done:
        plan.notes.append(f"{dedupe.skipped_done} listed albums are in the dataset already")
    plan.albums = len(chosen)
    plan.expand = _expand_for(settings, access, probes, plan)
    counts = {a: totals.get(a, 0) for a in chosen}
    if plan.source == "artists":
        plan.requests = artists_listing_minimum(plan.reach)
    else:
        plan.requests = listing_minimum(plan.source, listed)
    plan.requests.update(expansion_minimum(plan.expand, counts))
    counted = credits if known.refresh_listed_artists else {a: credits.get(a, []) for a in chosen}
    album_artists = {a for ids in counted.values() for a in ids}
    _plan_artists(settings, access, probes, plan, len(album_artists))
    _plan_enrich(settings, plan, [counts[a] for a in chosen])
    return plan


def _plan_enrich(settings: PullSettings, plan: RequestPlan, track_totals: list[int]) -> None:
    """Count the enrichment of the chosen albums (see :func:`.enrich.minimum`)."""
    if not settings.enrich:
        return
    plan.enrich = enrich_minimum(settings.enrich, track_totals)
    pace = settings.enrichment
    deezer = sum(v for k, v in plan.enrich.items() if k.startswith("deezer"))
    musicbrainz = plan.enrich.get("musicbrainz-release-search", 0)
    plan.enrich_seconds = max(deezer / pace.deezer_rate, musicbrainz * pace.musicbrainz_interval)


def _plan_artists(
    settings: PullSettings,
    access: Access,
    probes: dict[str, int],
    plan: RequestPlan,
    album_artists: int,
) -> None:
    """Count the artists stage from the artists the listing credits on albums: tracks may
    credit more (features), so the count is a lower bound."""
    plan.artists = _artists_for(settings, access, probes, plan, album_artists)
    if plan.artists == "off" or not (plan.albums or album_artists):
        return
    plan.requests.update(artists_minimum(plan.artists, max(1, album_artists)))
    plan.lower_bound = True
    plan.notes.append(
        f"artists: {album_artists} credited on the albums; tracks may credit more"
        " (features), each needing its share of a request"
    )


def _artists_for(
    settings: PullSettings,
    access: Access,
    probes: dict[str, int],
    plan: RequestPlan,
    album_artists: int,
) -> str:
    """The artists stage a real run would take: as forced, as remembered, else off where
    the run met development mode and several-artists elsewhere (its first call decides)."""
    forced = None if settings.artists == "auto" else settings.artists
    choice = several_artists_choice(access, probes, forced)
    development = access.development() and access.known("several-artists") is not True
    if forced == "several" and development:
        plan.notes.append(
            "several-artists is not available to this app (development mode): the pull"
            " would stop before its first album; set --artists to auto, single or off"
        )
    if forced is not None:
        return forced
    if choice.allowed is None and development:
        choice.settle(False)
    if choice.allowed is False:
        plan.notes.append(
            f"artists skipped (development mode): fetching them one Get Artist each"
            f" (--artists single) would add at least {album_artists} requests"
        )
        return "off"
    if choice.allowed is None:
        plan.notes.append("several-artists assumed available: this app may use new-releases")
    return "several"


async def _listings(
    api: SpotifyAPI, settings: PullSettings, source: str, plan: RequestPlan
) -> tuple[dict[str, list[str]], dict[str, int], dict[str, list[str]]]:
    listed: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    credits: dict[str, list[str]] = {}
    for market in settings.markets:
        pages = (
            api.new_releases(market)
            if source == "new-releases"
            else api.search_new(market, SEARCH_PAGE_DEVELOPMENT)
        )
        ids = listed.setdefault(market, [])
        total: int | None = None
        reached = 0
        async for page in pages:
            total = page.total if total is None else total
            reached += len(page.items) + page.skipped
            for item in page.items:
                ids.append(item["id"])
                count = item.get("total_tracks")
                totals[item["id"]] = count if isinstance(count, int) else 0
                credits[item["id"]] = credited_artists(item, ())
        plan.reach[market] = note_reach(market, source, total, reached, warn=False)
        said = unreached_text(market, source, total, reached)
        if said:
            plan.notes.append(said)
    return listed, totals, credits


async def _watchlist(
    api: SpotifyAPI, settings: PullSettings, ids: IdsInput, plan: RequestPlan
) -> tuple[dict[str, list[str]], dict[str, int], dict[str, list[str]]]:
    """Every page of each watched artist's albums, as a pull lists them; the releases
    since the window's first day are the listing."""
    listed: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    credits: dict[str, list[str]] = {}
    since = settings.since_date()
    plan.notes.append(
        f"watchlist: {len(set(ids.ids))} artists, releases since {since.isoformat()}"
        f" in {','.join(settings.include_groups)}; every page of each artist's albums is"
        " read (Spotify documents no order to stop early by)"
    )
    for artist_id in dict.fromkeys(ids.ids):
        key = artist_key(artist_id)
        kept = listed.setdefault(key, [])
        total: int | None = None
        reached = 0
        try:
            async for page in api.artist_albums(
                artist_id, settings.markets[0], settings.include_groups
            ):
                total = page.total if total is None else total
                reached += len(page.items) + page.skipped
                for item in page.items:
                    day = release_day(item)
                    if day is None or day < since:
                        continue
                    kept.append(item["id"])
                    count = item.get("total_tracks")
                    totals[item["id"]] = count if isinstance(count, int) else 0
                    credits[item["id"]] = credited_artists(item, ())
        except NotFoundError:
            plan.notes.append(f"artist {artist_id}: Spotify has no such artist")
            total = 0
        plan.reach[key] = note_reach(key, "artists", total, reached, warn=False)
    return listed, totals, credits


def _expand_for(
    settings: PullSettings, access: Access, probes: dict[str, int], plan: RequestPlan
) -> str:
    """The expansion a real run would take: as forced, as remembered, else several-albums
    where the listing's endpoint answered and Get Album where it answered 403."""
    forced = None if settings.expand == "auto" else settings.expand
    choice = several_albums_choice(access, probes, forced)
    if forced is not None:
        return forced
    if choice.allowed is None:
        if access.development():
            choice.settle(False)
        else:
            plan.notes.append("several-albums assumed available: this app may use new-releases")
            return "several"
    elif plan.source == "search" or not choice.allowed:
        what = "may use" if choice.allowed else "answered 403 for"
        plan.notes.append(f"several-albums remembered: this app {what} it")
    return "several" if choice.allowed else "album"


def _plan_ids(settings: PullSettings, ids: IdsInput, access: Access) -> RequestPlan:
    unique = list(dict.fromkeys(ids.ids))[: settings.max_albums]
    probes: dict[str, int] = {}
    plan = RequestPlan("ids", "", settings.markets, albums=len(unique), lower_bound=True)
    plan.expand = _expand_for(settings, access, probes, plan)
    plan.requests = expansion_minimum(plan.expand, dict.fromkeys(unique, 0))
    if settings.artists != "off" and unique:  # at least one artist is credited
        plan.artists = _artists_for(settings, access, probes, plan, 1)
        plan.requests.update(artists_minimum(plan.artists, 1))
    plan.notes.append(
        "no listing to read track counts from: albums over 50 tracks need further"
        " album-tracks requests"
    )
    if settings.expand == "auto" and plan.expand == "several":
        plan.notes.append("if several-albums answers 403 (development mode): one Get Album each")
    _plan_enrich(settings, plan, [0] * len(unique))
    return plan
