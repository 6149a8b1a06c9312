"""Expansion: album ids become full album lines and every track line, in the fewest calls.

Extended-quota apps fetch 20 albums per several-albums call and only the further track
pages of long albums. With ``auto`` several-albums is chosen against Get Album plus Get
Album Tracks by the one endpoint choice of :mod:`.access`: the first several-albums call
decides for every worker, a 403 (development mode) switches, once, to Get Album, and what
earlier runs found decides without that call.
"""

from __future__ import annotations

import logging
from functools import partial

from ..core.errors import (
    AlbumUnavailableError,
    EndpointUnavailableError,
    HTTPStatusError,
    ResumableStop,
    SpotifyETLError,
    TransportError,
    UnsafeRequestError,
    is_transient,
)
from ..core.timestamps import now_iso
from ..core.types import JSONObject
from .access import Access, batch_choice
from .artists import credited_artists
from .dedupe import Candidate
from .endpoints import ALBUMS_PER_BATCH, SpotifyAPI
from .outcomes import AlbumResult, Outcome, PullStats, failure
from .stopping import Stop

log = logging.getLogger(__name__)

#: Errors that end one album (or one batch): for good when definitive, else it stays due
#: (see :mod:`.stopping`); anything else stops the pull.
ALBUM_ERRORS = (HTTPStatusError, TransportError, UnsafeRequestError)


class Expander:
    """Expands batches of candidates; shared by every expander worker of one pull."""

    def __init__(
        self,
        api: SpotifyAPI,
        market: str,
        forced: str | None,
        stats: PullStats,
        stop: Stop,
        access: Access | None = None,
    ) -> None:
        self.api = api
        self._stop = stop
        self.market = market
        self._forced = forced
        self.stats = stats
        self._access = access or Access(None)
        self._choice = several_albums_choice(
            self._access, stats.probes, forced, self._fell_back, self._decided
        )
        if self._choice.remembered:
            self._decided(bool(self._choice.allowed))

    @property
    def mode(self) -> str | None:
        """several, album or tracks; None until the first several-albums call decides."""
        if self._forced is not None:
            return self._forced
        allowed = self._choice.allowed
        return None if allowed is None else "several" if allowed else "album"

    @property
    def batch_size(self) -> int:
        """Ids per batch: 20 while several-albums may be used, else one."""
        return ALBUMS_PER_BATCH if self.mode in (None, "several") else 1

    async def expand(self, batch: list[Candidate]) -> list[Outcome]:
        """Every album of the batch with its tracks, or its failure, in batch order; an album
        a resumable stop interrupted, or the API kept failing for, is left out (see
        :mod:`.stopping`)."""
        gather = self._stop.gather
        if self.mode in (None, "several") and await self._choice.use():
            try:
                fulls = await self._several(batch)
            except ResumableStop as exc:
                self._stop.record(exc)
                return []
            except ALBUM_ERRORS as exc:  # transient: the whole batch stays due
                self._stop.defer("album", [c.album_id for c in batch], exc)
                return []
            finally:
                self._choice.undecided()  # a failure that is not a 403 decides nothing
            if fulls is not None:
                return await gather(self._finish(c, f) for c, f in zip(batch, fulls, strict=True))
            # several-albums is unavailable, or failed for this batch: one Get Album each
        if self.mode == "tracks":
            return await gather(self._tracks_only(c) for c in batch)
        return await gather(self._get_album(c) for c in batch)

    async def _several(self, batch: list[Candidate]) -> list[JSONObject | None] | None:
        """Full albums for a batch; None when several-albums cannot serve this batch."""
        ids = [c.album_id for c in batch]
        try:
            albums = await self.api.several_albums(ids, self.market)
        except EndpointUnavailableError as exc:
            self._choice.refused(exc)
            return None
        except ALBUM_ERRORS as exc:
            if is_transient(exc):
                raise  # no fallback: one Get Album each would meet the same outage
            log.warning(
                "several-albums failed for good for a batch of %d (%s); asking Get Album for"
                " each of them instead",
                len(batch),
                exc,
            )
            return None
        self._choice.worked()
        return list(albums)

    def _decided(self, allowed: bool) -> None:
        if self._forced is None:
            self.stats.expand = "several" if allowed else "album"

    def _fell_back(self) -> None:
        self._access.tell(
            "several-albums",
            "several-albums answered 403: this app is in development mode (Spotify"
            " removed the batch endpoint in March 2026); expanding each album through"
            " Get Album and Get Album Tracks instead",
        )

    def _failed(self, candidate: Candidate, stage: str, exc: SpotifyETLError) -> Outcome | None:
        """The album's failure for good, or None (it stays due) if ``exc`` is transient."""
        if is_transient(exc):
            self._stop.defer("album", [candidate.album_id], exc)
            return None
        return failure(candidate.album_id, stage, exc)

    async def _finish(self, candidate: Candidate, full: JSONObject | None) -> Outcome | None:
        if full is None:
            missing = AlbumUnavailableError(
                "several-albums answered 200 with null for this id: Spotify serves no such album"
            )
            return failure(candidate.album_id, "several-albums", missing)
        return await self._with_tracks(candidate, full)

    async def _get_album(self, candidate: Candidate) -> Outcome | None:
        try:
            full = await self.api.album(candidate.album_id, self.market)
        except ALBUM_ERRORS as exc:
            return self._failed(candidate, "album", exc)
        return await self._with_tracks(candidate, full)

    async def _with_tracks(self, candidate: Candidate, full: JSONObject) -> Outcome | None:
        try:
            tracks = await self.api.complete_tracks(full, self.market)
        except ALBUM_ERRORS as exc:
            return self._failed(candidate, "album-tracks", exc)
        return self._result(candidate, full, tracks)

    async def _tracks_only(self, candidate: Candidate) -> Outcome | None:
        try:
            tracks = await self.api.album_tracks(candidate.album_id, self.market)
        except ALBUM_ERRORS as exc:
            return self._failed(candidate, "album-tracks", exc)
        album = candidate.album or {"id": candidate.album_id, "type": "album"}
        return self._result(candidate, album, tracks)

    def _result(self, candidate: Candidate, full: JSONObject, tracks: list[JSONObject]) -> Outcome:
        album_id = candidate.album_id
        album = {k: v for k, v in full.items() if k != "tracks"}
        album["_etl"] = {
            "markets": list(candidate.markets),
            "extracted_at": now_iso(),
            "source": self.stats.source,
        }
        total = album.get("total_tracks")
        self.stats.expanded[album_id] = total if isinstance(total, int) else len(tracks)
        lines = [{**t, "album_id": album_id} for t in tracks if isinstance(t, dict)]
        return AlbumResult(album_id, album, lines, tuple(credited_artists(album, lines)))


#: Expansion's choice of several-albums against Get Album (``--expand``).
several_albums_choice = partial(batch_choice, "several-albums", "expand", "auto, album or tracks")
