"""The artists stage: every artist credited on a pulled album or track, fetched once.

Extended-quota apps fetch 50 artists per several-artists call; development-mode apps
lost that endpoint in March 2026 and can only ask Get Artist once per artist. ``auto``
takes several-artists where the app may use it; where it may not (a 403 the pull has
already seen on new-releases or several-albums, or remembered from an earlier run, or the
first several-artists call's own 403) it says so in one line and fetches no artist: one
request per artist is a cost only the user can choose (``single``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.errors import (
    ArtistUnavailableError,
    EndpointUnavailableError,
    HTTPStatusError,
    SpotifyETLError,
    TransportError,
    UnsafeRequestError,
    is_transient,
)
from ..core.ids import is_spotify_id
from ..core.timestamps import now_iso
from .endpoints import ARTISTS_PER_BATCH, SpotifyAPI, refused
from .outcomes import ArtistFailure, ArtistResult, PullStats, artist_failure
from .stopping import Stop

log = logging.getLogger(__name__)

JSONObject = dict[str, Any]
ArtistOutcome = ArtistResult | ArtistFailure
#: Errors that end one artist (or one batch): for good when definitive, else it stays due
#: (see :mod:`.stopping`); anything else stops the pull.
ARTIST_ERRORS = (HTTPStatusError, TransportError, UnsafeRequestError)
#: The endpoints whose 403 tells that the app is in development mode.
_DEVELOPMENT_SIGNS = ("new-releases", "several-albums")


def credited_artists(album: Mapping[str, Any], tracks: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ids of the artists credited on ``album`` or any of its ``tracks``, first seen
    first; credits without a Spotify id are left out (nothing could fetch them)."""
    seen: dict[str, None] = {}
    for item in (album, *tracks):
        credits = item.get("artists")
        if not isinstance(credits, list):
            continue
        for artist in credits:
            ident = artist.get("id") if isinstance(artist, dict) else None
            if isinstance(ident, str) and is_spotify_id(ident):
                seen[ident] = None
    return list(seen)


class ArtistFetcher:
    """Fetches batches of artist ids; shared by every artist worker of one pull."""

    def __init__(self, api: SpotifyAPI, forced: str | None, stats: PullStats, stop: Stop) -> None:
        self.api = api
        self._stop = stop
        self._forced = forced
        #: several, single or off; None until the first batch decides (``auto``).
        self.mode: str | None = forced
        self.stats = stats
        #: Unique artists credited so far (the stage's batcher counts them).
        self.credited = 0
        self._lock = asyncio.Lock()

    @property
    def batch_size(self) -> int:
        """Ids per batch: 50 while several-artists may be used, else one."""
        return ARTISTS_PER_BATCH if self.mode in (None, "several") else 1

    def decide_early(self) -> None:
        """Settle ``auto`` without a request when the pull already met development mode."""
        signs = (self.stats.probes.get(e) or self.stats.remembered.get(e) is False
                 for e in _DEVELOPMENT_SIGNS)  # fmt: skip
        if self.mode is None and any(signs):
            self._skip("this app is in development mode")

    async def fetch(self, ids: Sequence[str]) -> list[ArtistOutcome]:
        """Each artist of the batch, or its failure, in batch order; nothing once off, and
        none a resumable stop interrupted or the API kept failing for (see :mod:`.stopping`)."""
        if self.mode in (None, "several"):
            return await self._stop.guard(self._several(list(ids))) or []
        if self.mode == "single":
            return await self._stop.gather(self._single(i) for i in ids)
        return []

    async def _first(self, ids: Sequence[str]) -> list[ArtistOutcome]:
        """The first batch of ``auto``: its several-artists call decides for every worker."""
        async with self._lock:
            if self.mode is not None:  # decided while this batch waited
                return await self.fetch(ids)
            try:
                fulls = await self.api.several_artists(ids)
            except EndpointUnavailableError as exc:
                self._unavailable(exc)
                return []
            except ARTIST_ERRORS as exc:
                return self._failed_all(ids, exc)  # the next batch decides
            self.mode = self.stats.artists = "several"
            return self._results(ids, fulls, "several-artists")

    async def _several(self, ids: list[str]) -> list[ArtistOutcome]:
        if self.mode is None:
            return await self._first(ids)
        try:
            fulls = await self.api.several_artists(ids)
        except EndpointUnavailableError as exc:
            if self._forced == "several":
                self._unavailable(exc)
            return self._failed_all(ids, exc)
        except ARTIST_ERRORS as exc:
            return self._failed_all(ids, exc)
        return self._results(ids, fulls, "several-artists")

    async def _single(self, artist_id: str) -> ArtistOutcome | None:
        try:
            full = await self.api.artist(artist_id)
        except ARTIST_ERRORS as exc:
            failed = self._failed_all([artist_id], exc)
            return failed[0] if failed else None
        return self._results([artist_id], [full], "artist")[0]

    def _results(
        self, ids: Sequence[str], fulls: Sequence[JSONObject | None], endpoint: str
    ) -> list[ArtistOutcome]:
        self.stats.artists_requested += len(ids)
        outcomes: list[ArtistOutcome] = []
        for artist_id, full in zip(ids, fulls, strict=True):
            if full is None:
                missing = ArtistUnavailableError(
                    "several-artists answered 200 with null for this id: Spotify serves no"
                    " such artist"
                )
                outcomes.append(artist_failure(artist_id, missing))
                continue
            line = {**full, "_etl": {"extracted_at": now_iso(), "endpoint": endpoint}}
            outcomes.append(ArtistResult(artist_id, line))
        return outcomes

    def _failed_all(self, ids: Sequence[str], exc: SpotifyETLError) -> list[ArtistOutcome]:
        """Each artist's failure for good; none if ``exc`` is transient (they stay due)."""
        self.stats.artists_requested += len(ids)
        if is_transient(exc):
            self._stop.defer("artist", ids, exc)
            return []
        return [artist_failure(artist_id, exc) for artist_id in ids]

    def _unavailable(self, exc: EndpointUnavailableError) -> None:
        if self._forced == "several":
            raise refused("artists", "several-artists", exc, "auto, single or off") from None
        self.stats.probes["several-artists"] = 1
        self._skip("several-artists answered 403 (development mode)")

    def _skip(self, why: str) -> None:
        self.mode = self.stats.artists = "off"
        log.warning(
            "artists skipped: %s, where every artist costs one Get Artist request (%d"
            " credited so far); ask for artists 'single' (--artists single) to fetch them",
            why,
            self.credited,
        )
