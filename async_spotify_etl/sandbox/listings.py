"""Which albums each market's new-releases list holds on the sandbox's ``day``.

On day 0 every market lists ``albums_per_market`` albums drawn from one pool of the global
index space, ``POOL`` times a list's length, in its own order: any two markets share
about a third of their lists, whichever other markets are configured.

Each later day the lists move, as Spotify's do: some albums leave each market's list
(10 to 20 %, 25 to 35 % on a Friday, the release day), as many enter, and the list is
ordered anew. Day ``e``'s new albums are drawn from a fresh pool of the index space, after
day ``e - 1``'s, ``POOL`` times the day's leaving count, so entering albums have ids never
listed before and two markets share about a third of them. A few entering albums are
instead ones that left that market on an earlier day. A market's list on a day derives
from (seed, market, day) alone, never from the other configured markets, and an album's
content from its index alone: an id means the same album on every day.

A market's list is computed on first use by replaying the ``day`` moves of that market
only (cheap: a move touches the albums that leave), so any day of a 50,000-album
catalogue starts instantly.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random

from .config import SandboxConfig

#: A day's pool of albums is this many times the albums taken from it per market: two
#: markets share about a third of their lists.
POOL = 3
#: Share of a market's list that leaves on an ordinary day, drawn per day.
LEAVE_SHARE = (0.10, 0.20)
#: Share that leaves on a Friday, when most albums are released.
FRIDAY_LEAVE_SHARE = (0.25, 0.35)
FRIDAY = 4
#: Probability that an entering album is one that left the market before (if any did).
RETURN_SHARE = 0.04


class Listings:
    """The new-releases lists of ``config.markets`` on ``config.day``, as global indices."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        size = config.albums_per_market
        self.size = size
        self._served = frozenset(config.markets)
        #: ``_leaving[e]``: albums that leave (and enter) each list on day ``e``.
        self._leaving = [0]
        #: ``_starts[e]``: first index of day ``e``'s pool (day 0's: from 0).
        self._starts = [0, POOL * size]
        for day in range(1, config.day + 1):
            leaving = self._leave_count(day)
            self._leaving.append(leaving)
            self._starts.append(self._starts[-1] + POOL * leaving)
        #: Albums that exist by ``config.day`` (listed now or on an earlier day, or in a
        #: pool but not taken up by a market): indices ``0 .. album_count - 1``.
        self.album_count = self._starts[-1]
        self._lists: dict[str, list[int]] = {}

    def _leave_count(self, day: int) -> int:
        rng = random.Random(f"{self.config.seed}/leaving/{day}")
        date = self.config.today_date + dt.timedelta(days=day)
        low, high = FRIDAY_LEAVE_SHARE if date.weekday() == FRIDAY else LEAVE_SHARE
        return min(self.size, max(1, round(self.size * rng.uniform(low, high))))

    def leaving(self, day: int) -> int:
        """How many albums leave each market's list on ``day`` (1 .. ``config.day``)."""
        return self._leaving[day]

    def born(self, index: int) -> int:
        """The day album ``index`` was new: 0 for day 0's albums, else the day of its pool."""
        return bisect.bisect_right(self._starts, index) - 1

    def length(self, market: str) -> int:
        """How many albums ``market`` lists (0 for a market the sandbox does not serve)."""
        return self.size if market in self._served else 0

    def index(self, market: str, position: int) -> int:
        """Global index of the album at ``position`` in ``market``'s list."""
        return self.listing(market)[position]

    def listing(self, market: str) -> list[int]:
        """Global indices of ``market``'s whole list, in order."""
        if market not in self._served:
            return []
        if market not in self._lists:
            self._lists[market] = self._moved(market)
        return self._lists[market]

    def _moved(self, market: str) -> list[int]:
        seed, size = self.config.seed, self.size
        rng = random.Random(f"{seed}/listing/{market}")
        members = rng.sample(range(self._starts[1]), size)  # day 0, in day 0's order
        if not self.config.day:
            return members
        gone: list[int] = []  # left this market on an earlier day, not listed now
        for day in range(1, self.config.day + 1):
            rng = random.Random(f"{seed}/moves/{market}/{day}")
            leaving = self._leaving[day]
            fresh = iter(rng.sample(range(self._starts[day], self._starts[day + 1]), leaving))
            left = []
            for place in rng.sample(range(size), leaving):
                left.append(members[place])
                if gone and rng.random() < RETURN_SHARE:
                    pick = rng.randrange(len(gone))
                    gone[pick], gone[-1] = gone[-1], gone[pick]
                    members[place] = gone.pop()
                else:
                    members[place] = next(fresh)
            gone.extend(left)
        rng = random.Random(f"{seed}/order/{market}/{self.config.day}")
        rng.shuffle(members)
        return members
