"""What a run adding to a dataset already has: the albums and artists not to fetch again.

A pull on its own knows nothing (:data:`NOTHING_KNOWN`); a dataset run
(``run/dataset.py``) builds a :class:`Known` from its earlier runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Known:
    """What a dataset already holds, for a run that adds to it: albums not to fetch again,
    artists not to fetch again, unless ``refresh_listed_artists`` asks for those the listing
    credits on its albums (a time series of their popularity and followers); and, for a
    run finished after a stop, the ``listing`` (market to album ids) its first attempt read
    through ``listing_source``, so it is not requested again (the pages a stop left
    unread, ``listing_next``, are requested from where it stopped)."""

    albums: frozenset[str] = frozenset()
    artists: frozenset[str] = frozenset()
    refresh_listed_artists: bool = False
    listing: Mapping[str, Sequence[str]] | None = None
    listing_source: str = "new-releases"
    #: Markets whose recorded ``listing`` stopped short (a budget spent while listing):
    #: the offset their listing goes on from, after replaying what was recorded.
    listing_next: Mapping[str, int] = field(default_factory=dict)


#: A pull on its own: nothing is known before it.
NOTHING_KNOWN = Known()
