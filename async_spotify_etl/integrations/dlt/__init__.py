"""dlt sources for the pull (the ``dlt`` extra): every destination dlt knows, one line away.

``spotify_releases(...)`` runs the pull engine as a dlt source, incrementally through
dlt's state; ``spotify_dataset(DIR)`` loads the runs of a ``--dataset`` folder (or one
pull folder) that the destination lacks. See docs/dlt.md.
"""

from __future__ import annotations

from .rows import TABLES
from .sources import spotify_dataset, spotify_releases

__all__ = ["TABLES", "spotify_dataset", "spotify_releases"]
