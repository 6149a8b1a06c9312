"""The library's :class:`Pull`: the engine's pull, honouring ``PullSettings.resume``.

With ``resume=True`` and ``out`` holding a pull of the same plan (as :func:`run_pull`
writes it), the albums and artists that pull committed are not requested again, so
:meth:`Pull.results` yields only what it still lacks; once that pull is complete, nothing
is left: no request is sent and nothing is yielded (its albums are on disk, for
``read_committed``). Nothing is written either way: writing is :func:`run_pull`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping

from ..client.http import SpotifyClient
from ..core.settings import Credentials, PullSettings
from ..engine import pipeline
from ..engine.ids_file import IdsInput, input_of
from ..engine.known import NOTHING_KNOWN, Known
from ..engine.outcomes import Outcome
from ..output.journal import read_journal
from ..output.layout import STREAMS, journal_path
from ..output.manifest import read_manifest
from .pull import plan_fingerprint

log = logging.getLogger(__name__)


class Pull(pipeline.Pull):
    """One pull as an async context manager that owns its client and its tasks.

    ``async with Pull(settings, credentials) as pull: async for album, tracks in
    pull.albums(): ...``. With ``settings.resume``, what the pull in ``settings.out``
    committed is skipped (see the module's docstring), unless ``skip``, ``skip_artists``
    or ``artists_due`` are given, which say it instead.
    """

    def __init__(
        self,
        settings: PullSettings,
        credentials: Credentials,
        *,
        skip: Collection[str] | None = None,
        skip_artists: Collection[str] | None = None,
        artists_due: Collection[str] | None = None,
        ids: IdsInput | None = None,
        client: SpotifyClient | None = None,
        known: Known = NOTHING_KNOWN,
        on_listed: Callable[[Mapping[str, list[str]], str | None], None] | None = None,
    ) -> None:
        given = skip is not None or skip_artists is not None or artists_due is not None
        #: Filled from ``out`` when the pull starts (the engine reads them from then on).
        self._done: set[str] = set()
        self._artists_done: set[str] = set()
        self._due: list[str] = []
        self._from_disk = settings.resume and not given
        #: The pull in ``out`` is complete: nothing to request.
        self.complete = False
        super().__init__(
            settings,
            credentials,
            skip=self._done if skip is None else skip,
            skip_artists=self._artists_done if skip_artists is None else skip_artists,
            artists_due=self._due if artists_due is None else artists_due,
            ids=ids,
            client=client,
            known=known,
            on_listed=on_listed,
        )

    async def __aenter__(self) -> Pull:
        if self._state == "new" and self._from_disk:
            self.complete = await asyncio.to_thread(self._read_out)
            if self.complete:
                log.info("the pull in %s is already complete: nothing to do", self.settings.out)
                self._state = "complete"
                return self
        await super().__aenter__()
        return self

    async def results(self) -> AsyncIterator[Outcome]:
        """Every album's outcome, as soon as it is expanded (none once ``out`` is complete)."""
        if self.complete:
            return
        async for outcome in super().results():
            yield outcome

    def _read_out(self) -> bool:
        """Take what ``out`` committed under this plan; True when that pull is complete."""
        settings = self.settings
        if self._ids is None:
            self._ids = input_of(settings.source, settings.ids_file)
        path = journal_path(settings.out)
        if not path.exists():
            return False
        state = read_journal(path, STREAMS)
        if state.plan != plan_fingerprint(settings, self._ids):
            return False  # another pull's directory: nothing of it is ours to skip
        manifest = read_manifest(settings.out)
        if manifest is not None and manifest.status == "complete":
            return True
        self._done.update(state.done)
        self._artists_done.update(state.artists_done)
        self._due.extend(sorted(state.credited - state.artists_done))
        return False
