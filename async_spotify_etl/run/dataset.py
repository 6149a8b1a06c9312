"""One run of a dataset kept over time: a pull into a new run folder that fetches only what
the dataset does not hold yet, its listing recorded, the index updated when it ends.

:func:`run_dataset` is what ``spotify-etl pull --dataset DIR`` runs. A run that finds the
last run unfinished (killed, stopped by a budget or a quota, interrupted) finishes that one
instead, so a scheduled command both takes snapshots and spreads a large first run over
several days; the next run then takes a new snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client.http import SpotifyClient
from ..core.settings import Credentials, PullSettings
from ..engine.known import Known
from ..output.dataset import Dataset, index_entry, is_dataset, recorded_listing
from ..output.manifest import Manifest, read_manifest
from .progress import ProgressMode
from .pull import PullResult, run_pull

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger(__name__)


async def run_dataset(
    settings: PullSettings,
    credentials: Credentials,
    *,
    refresh_after_days: float | None = None,
    progress: ProgressMode = "off",
    console: Console | None = None,
    plan_extra: Mapping[str, Any] | None = None,
    arguments_extra: Mapping[str, Any] | None = None,
    on_finish: Callable[[Manifest, Path], None] | None = None,
    client: SpotifyClient | None = None,
    refresh_listed_artists: bool = True,
) -> PullResult:
    """Add one run to the dataset in ``settings.out`` (or finish its unfinished last run).

    Albums the dataset holds are not fetched again, unless fetched more than
    ``refresh_after_days`` ago; artists credited on the albums the listing shows are
    fetched every run (their popularity and followers over time; with
    ``refresh_listed_artists=False`` only those not held yet), other artists once.
    ``on_finish`` gets the run's manifest and folder. Raises what stopped the run, after
    the index records it."""
    dataset = Dataset(settings.out)
    with dataset.locked():
        runs = dataset.runs()
        folder = dataset.unfinished(runs)
        resume = folder is not None
        if folder is None:
            folder = dataset.new_run(dt.datetime.now(dt.UTC))
        else:
            log.warning(
                "the last run of %s (%s) did not complete: finishing it first",
                dataset.root,
                folder.name,
            )
        earlier = [r for r in runs if r.get("id") != folder.name]
        known = _known(dataset, earlier, refresh_after_days, refresh_listed_artists)
        listing = recorded_listing(folder) if settings.expand != "tracks" else None
        source = ((read_manifest(folder) or {}).get("plan") or {}).get("source")
        if listing is not None and source in ("new-releases", "search"):
            known = dataclasses.replace(known, listing=listing, listing_source=source)
        run_settings = dataclasses.replace(settings, out=folder, resume=resume)

        def listed(listing: Mapping[str, list[str]]) -> None:
            dataset.record_listing(folder, listing, earlier)

        def finished(manifest: Manifest) -> None:
            if on_finish is not None:
                on_finish(manifest, folder)

        try:
            return await run_pull(
                run_settings,
                credentials,
                progress=progress,
                console=console,
                plan_extra=plan_extra,
                arguments_extra=arguments_extra,
                on_finish=finished,
                client=client,
                known=known,
                on_listed=listed,
            )
        finally:
            manifest = read_manifest(folder)
            if manifest is not None and manifest.get("status") != "running":
                entry = index_entry(folder, manifest)
                dataset.write_index([*earlier, entry])


def dataset_known(root: Path, refresh_after_days: float | None = None) -> Known:
    """What a new run of the dataset in ``root`` would not fetch again (for ``--dry-run``;
    nothing when there is no dataset there yet)."""
    dataset = Dataset(root)
    return _known(dataset, dataset.runs() if is_dataset(root) else [], refresh_after_days)


def _known(
    dataset: Dataset,
    runs: list[dict[str, Any]],
    refresh_after_days: float | None,
    refresh_listed_artists: bool = True,
) -> Known:
    held = dataset.held(runs)
    cutoff = None
    if refresh_after_days is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=refresh_after_days)
    return Known(
        held.albums_since(cutoff), held.artists, refresh_listed_artists=refresh_listed_artists
    )
