"""The artists stage: every artist credited on a pulled album or track, fetched once.

Extended-quota apps fetch 50 artists per several-artists call; development-mode apps
lost that endpoint in March 2026 and can only ask Get Artist once per artist. ``auto``
takes several-artists where the app may use it (the one endpoint choice of
:mod:`.access`); where it may not (a 403 the pull has already seen on new-releases or
several-albums, or remembered from an earlier run, or the first several-artists call's own
403) it says so in one line and fetches no artist: one request per artist is a cost only
the user can choose (``single``). ``several`` where development mode is known is refused
before any album is handed out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from ..core.errors import (
    ArtistUnavailableError,
    EndpointUnavailableError,
    HTTPStatusError,
    SettingsError,
    SpotifyETLError,
    TransportError,
    UnsafeRequestError,
    is_transient,
)
from ..core.ids import is_spotify_id
from ..core.timestamps import now_iso
from ..core.types import JSONObject
from .access import Access, batch_choice
from .endpoints import ARTISTS_PER_BATCH, SpotifyAPI
from .outcomes import ArtistFailure, ArtistResult, PullStats, artist_failure
from .stopping import Stop

log = logging.getLogger(__name__)

ArtistOutcome = ArtistResult | ArtistFailure
#: Errors that end one artist (or one batch): for good when definitive, else it stays due
#: (see :mod:`.stopping`); anything else stops the pull.
ARTIST_ERRORS = (HTTPStatusError, TransportError, UnsafeRequestError)


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

    def __init__(
        self,
        api: SpotifyAPI,
        forced: str | None,
        stats: PullStats,
        stop: Stop,
        access: Access | None = None,
    ) -> None:
        self.api = api
        self._stop = stop
        self._forced = forced
        self.stats = stats
        self._access = access or Access(None)
        self._choice = several_artists_choice(
            self._access, stats.probes, forced, self._fell_back, self._decided
        )
        #: Unique artists credited so far (the stage's batcher counts them).
        self.credited = 0
        if self._choice.remembered:
            self._decided(bool(self._choice.allowed))
            if not self._choice.allowed:
                self._skip("several-artists answered 403 in an earlier run")

    @property
    def mode(self) -> str | None:
        """several, single or off; None until the first batch decides (``auto``)."""
        if self._forced is not None:
            return self._forced
        allowed = self._choice.allowed
        return None if allowed is None else "several" if allowed else "off"

    @property
    def batch_size(self) -> int:
        """Ids per batch: 50 while several-artists may be used, else one."""
        return ARTISTS_PER_BATCH if self.mode in (None, "several") else 1

    def decide_early(self) -> None:
        """Settle the stage without a request where the pull already met development mode:
        ``auto`` is off; ``several`` is refused, before any album is handed out (every
        artist call would answer 403)."""
        if self._access.known("several-artists") is True or not self._access.development():
            return
        if self._forced == "several":
            raise SettingsError(
                "artists",
                "several-artists is not available to this app (development mode); set"
                " {artists} to auto, single or off",
            )
        if self._forced is None and self._choice.allowed is None:
            self._choice.settle(False)
            self._skip("this app is in development mode")

    async def fetch(self, ids: Sequence[str]) -> list[ArtistOutcome]:
        """Each artist of the batch, or its failure, in batch order; nothing once off, and
        none a resumable stop interrupted or the API kept failing for (see :mod:`.stopping`)."""
        if self.mode in (None, "several"):
            return await self._stop.guard(self._several(list(ids))) or []
        if self.mode == "single":
            return await self._stop.gather(self._single(i) for i in ids)
        return []

    async def _several(self, ids: list[str]) -> list[ArtistOutcome]:
        if not await self._choice.use():
            return await self.fetch(ids)  # decided off while this batch waited
        deciding = not self._choice.decided
        try:
            fulls = await self.api.several_artists(ids)
        except EndpointUnavailableError as exc:
            self._choice.refused(exc)
            return [] if deciding else self._failed_all(ids, exc)
        except ARTIST_ERRORS as exc:
            return self._failed_all(ids, exc)  # the next batch decides
        finally:
            self._choice.undecided()
        self._choice.worked()
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

    def _decided(self, allowed: bool) -> None:
        if self._forced is None:
            self.stats.artists = "several" if allowed else "off"

    def _fell_back(self) -> None:
        self._skip("several-artists answered 403 (development mode)")

    def _skip(self, why: str) -> None:
        self._access.tell(
            "artists-off",
            "artists skipped: %s, where every artist costs one Get Artist request (%d"
            " credited so far); ask for artists 'single' (--artists single) to fetch them",
            why,
            self.credited,
        )


#: The artists stage's choice of several-artists against none (``--artists``: auto falls
#: back to off, since one Get Artist per artist is a cost only the user chooses).
several_artists_choice = partial(batch_choice, "several-artists", "artists", "auto, single or off")
