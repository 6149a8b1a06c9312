"""What a resume takes from the pull it continues: the settings of its plan, so that
``--resume`` needs no flag retyped, and a library caller can resume a pull knowing only
its folder (:func:`resume_settings`).

The journal's first line records the plan (the settings marked PLAN); manifest.json's
``arguments`` give the path of an ``--ids`` file, whose digest the plan holds. Settings
given anyway must agree: the sink refuses a resume with a different plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.settings import ClientSettings, PullSettings, plan_fields
from ..output.manifest import read_manifest
from ..output.sink import recorded_plan


def recorded_settings(out: Path) -> dict[str, Any]:
    """The PullSettings fields of the plan the pull in ``out`` was started with (none for
    a folder that holds no pull), as keyword arguments of :class:`PullSettings`."""
    plan = recorded_plan(out) or {}
    recorded: dict[str, Any] = {
        name: plan[name] for name in plan_fields(PullSettings) if plan.get(name) is not None
    }
    for name in ("markets", "include_groups", "enrich"):
        if name in recorded:
            recorded[name] = tuple(recorded[name])
    if plan.get("ids_sha256"):
        manifest = read_manifest(out)
        ids_file = manifest.arguments.get("ids_file") if manifest is not None else None
        if ids_file:
            recorded["ids_file"] = Path(ids_file)
    return recorded


def resume_settings(
    out: Path, *, client: ClientSettings | None = None, **given: Any
) -> PullSettings:
    """Settings that resume the pull in ``out``: the plan it was started with, the fields in
    ``given`` over it (one that changes the plan is refused by the sink when the pull starts,
    naming the setting) and ``client`` for how to send (not part of the plan)."""
    fields = {**recorded_settings(out), **given}
    return PullSettings(out=out, resume=True, client=client or ClientSettings(), **fields)
