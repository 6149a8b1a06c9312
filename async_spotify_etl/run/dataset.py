"""One run of a dataset kept over time: a pull into a new run folder that fetches only what
the dataset does not hold yet, its listing recorded, the index updated when it ends.

:func:`run_dataset` is what ``spotify-etl pull --dataset DIR`` runs. A run that finds the
last run unfinished (killed, stopped by a budget or a quota, interrupted) finishes that one
instead, so a scheduled command both takes snapshots and spreads a large first run over
several days; the next run then takes a new snapshot. An unfinished run started with other
settings is refused in one line, unless ``abandon_unfinished`` leaves it as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..client.http import SpotifyClient
from ..core.errors import SettingsError
from ..core.settings import Credentials, PullSettings
from ..core.timestamps import now_iso
from ..engine.ids_file import input_of
from ..engine.known import Known
from ..engine.pipeline import ListingSoFar
from ..output.dataset import (
    Dataset,
    Held,
    Index,
    index_entry,
    is_dataset,
    partial_listing_of,
    read_index,
    record_partial_listing,
    recorded_listing_of,
)
from ..output.manifest import Manifest, read_manifest
from ..output.sink import recorded_plan
from .enrich import earlier_matches
from .progress import Progress
from .pull import PullResult, plan_fingerprint, run_pull

log = logging.getLogger(__name__)

#: Listing sources a recorded listing can be replayed through.
_REPLAYABLE = ("new-releases", "search", "artists")


async def run_dataset(
    settings: PullSettings,
    credentials: Credentials,
    *,
    refresh_after_days: float | None = None,
    abandon_unfinished: bool = False,
    observed_at: dt.datetime | None = None,
    progress: Progress | None = None,
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
    ``abandon_unfinished`` records an unfinished last run as abandoned (what it committed
    stays) instead of finishing it. ``observed_at`` is the date the run's listing is
    recorded as observed at (the wall clock when None; a sandbox day's simulated date).
    ``on_finish`` gets the run's manifest and folder. Raises what stopped the run, after
    the index records it."""
    dataset = Dataset(settings.out)
    with dataset.locked():
        index = dataset.index()
        folder = dataset.unfinished(index)
        if folder is not None and (
            abandon_unfinished or not _resumable(folder, settings, plan_extra)
        ):
            index = dataset.abandon(index, folder)
            folder = None
        resume = folder is not None
        if folder is None:
            folder = dataset.new_run(dt.datetime.now(dt.UTC))
        else:
            log.warning(
                "the last run of %s (%s) did not complete: finishing it first",
                dataset.root,
                folder.name,
            )
        run_id = folder.name
        earlier = [r for r in index.runs if r["id"] != run_id]
        known = _known(index, refresh_after_days, refresh_listed_artists)
        recorded = recorded_listing_of(folder) if settings.expand != "tracks" else None
        if recorded is not None:
            listing, source, _ = recorded
            if source is None:  # recorded before listings said their source
                manifest = read_manifest(folder)
                source = manifest.plan.get("source") if manifest is not None else None
            if source in _REPLAYABLE:
                known = dataclasses.replace(known, listing=listing, listing_source=source)
        elif settings.expand != "tracks" and (partial := partial_listing_of(folder)) is not None:
            listing, starts, source = partial  # a stop came while listing: go on from there
            if source in _REPLAYABLE:
                known = dataclasses.replace(
                    known, listing=listing, listing_source=source, listing_next=starts
                )
        run_settings = dataclasses.replace(settings, out=folder, resume=resume)
        if resume:  # a watchlist's window is the one the run started with
            since = (recorded_plan(folder) or {}).get("since")
            run_settings = dataclasses.replace(run_settings, since=since or settings.since)
        stamp = None if observed_at is None else observed_at.astimezone(dt.UTC)

        shown = {a for ids in (known.listing or {}).values() for a in ids}

        def listed(listing: Mapping[str, list[str]], source: str | None) -> None:
            shown.update(a for ids in listing.values() for a in ids)
            at = now_iso() if stamp is None else stamp.isoformat().replace("+00:00", "Z")
            dataset.record_listing(folder, listing, earlier, source=source, observed_at=at)

        def stopped(so_far: ListingSoFar, source: str) -> None:
            record_partial_listing(folder, so_far, source)

        def finished(manifest: Manifest) -> None:
            if on_finish is not None:
                on_finish(manifest, folder)

        try:
            return await run_pull(
                run_settings,
                credentials,
                progress=progress,
                plan_extra=plan_extra,
                arguments_extra=arguments_extra,
                on_finish=finished,
                client=client,
                known=known,
                on_listed=listed,
                enrich_prior=lambda: earlier_matches(
                    (dataset.root / r["path"] for r in earlier if r.get("path")), shown
                ),
                on_listing_stopped=stopped,
            )
        finally:
            manifest = read_manifest(folder)
            if manifest is not None and manifest.status != "running":
                dataset.ended(index, folder, index_entry(folder, manifest.to_dict()))


def _resumable(folder: Path, settings: PullSettings, extra: Mapping[str, Any] | None) -> bool:
    """True if the unfinished run in ``folder`` was started with the plan of ``settings``;
    a run that recorded nothing is simply replaced; otherwise one line says what changed
    and the two ways out (its own settings, or abandoning it)."""
    recorded = recorded_plan(folder)
    if recorded is None:
        return True
    ids = input_of(settings.source, settings.ids_file)
    # an unfinished watchlist run is finished with the window it started with
    plan = plan_fingerprint(settings, ids, extra)
    if "since" in plan:
        plan["since"] = recorded.get("since")
    changed = sorted(k for k in recorded.keys() | plan.keys() if recorded.get(k) != plan.get(k))
    if not changed:
        return True
    was = "; ".join(f"{k} {_shown(recorded.get(k))} (now {_shown(plan.get(k))})" for k in changed)
    raise SettingsError(
        "abandon_unfinished",
        "the last run of the dataset {path} ({run}) did not complete, and it was started with"
        " other settings: {was}. Run the command it was started with to finish it, or add"
        " {abandon_unfinished} to keep what it fetched and take a new snapshot",
        path=folder.parent.parent,
        run=folder.name,
        was=was,
    )


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def dataset_known(root: Path, refresh_after_days: float | None = None) -> Known:
    """What a new run of the dataset in ``root`` would not fetch again (for ``--dry-run``;
    nothing when there is no dataset there yet)."""
    index = read_index(root) if is_dataset(root) else Index([], Held())
    return _known(index, refresh_after_days)


def _known(
    index: Index, refresh_after_days: float | None, refresh_listed_artists: bool = True
) -> Known:
    cutoff = None
    if refresh_after_days is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=refresh_after_days)
    held = index.held
    return Known(
        held.albums_since(cutoff), held.artists, refresh_listed_artists=refresh_listed_artists
    )
