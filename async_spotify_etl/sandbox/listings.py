"""Which albums each market's new-releases list holds on the sandbox's ``day``.

On day 0, market ``k`` lists a window of the global album index space that overlaps its
neighbour's by a third, in its own permuted order.

Each later day the lists move, as Spotify's do: some albums leave each market's list
(10 to 20 %, 25 to 35 % on a Friday, the release day), as many enter, and the list is
ordered anew. Day ``e``'s new albums are a fresh block of the index space, after day
``e - 1``'s, laid out over the markets like day 0's (neighbours share a third), so
entering albums have ids never listed before. A few entering albums are instead ones that
left that market on an earlier day. Everything derives from (seed, market, day), and an
album's content from its index alone: an id means the same album on every day.

Day ``d``'s list of a market is computed on first use by replaying the ``d`` moves of
that market only (cheap: a move touches the albums that leave), so any day of a
50,000-album catalogue starts instantly.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random

from .config import SandboxConfig

#: Share of a market's list that leaves on an ordinary day, drawn per day.
LEAVE_SHARE = (0.10, 0.20)
#: Share that leaves on a Friday, when most albums are released.
FRIDAY_LEAVE_SHARE = (0.25, 0.35)
FRIDAY = 4
#: Probability that an entering album is one that left the market before (if any did).
RETURN_SHARE = 0.04


def coprime(rng: random.Random, size: int) -> int:
    """A step in ``[1, size]`` coprime with ``size``: ``p -> step * p`` permutes positions."""
    step = rng.randrange(1, size + 1)
    while math.gcd(step, size) != 1:
        step += 1
    return step


class Listings:
    """The new-releases lists of ``config.markets`` on ``config.day``, as global indices."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        size = config.albums_per_market
        self.size = size
        self._stride = _stride(size)
        rng = random.Random(f"{config.seed}/listing")
        self._step = coprime(rng, size)
        self._shift = {m: rng.randrange(size) for m in config.markets}
        self._slot = {m: k for k, m in enumerate(config.markets)}
        spans = len(config.markets) - 1
        #: ``_leaving[e]``: albums that leave (and enter) each list on day ``e``.
        self._leaving = [0]
        #: ``_starts[e]``: first index of day ``e``'s new albums (day 0's: all from 0).
        self._starts = [0, self._stride * spans + size]
        for day in range(1, config.day + 1):
            leaving = self._leave_count(day)
            self._leaving.append(leaving)
            self._starts.append(self._starts[-1] + _stride(leaving) * spans + leaving)
        #: Albums that exist by ``config.day`` (listed now or on an earlier day, or not
        #: taken up by any market): indices ``0 .. album_count - 1``.
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
        """The day album ``index`` was new: 0 for day 0's albums, else the day of its block."""
        return bisect.bisect_right(self._starts, index) - 1

    def length(self, market: str) -> int:
        """How many albums ``market`` lists (0 for a market the sandbox does not serve)."""
        return self.size if market in self._slot else 0

    def index(self, market: str, position: int) -> int:
        """Global index of the album at ``position`` in ``market``'s list."""
        if self.config.day:
            return self.listing(market)[position]
        permuted = (self._step * position + self._shift[market]) % self.size
        return self._slot[market] * self._stride + permuted

    def listing(self, market: str) -> list[int]:
        """Global indices of ``market``'s whole list, in order."""
        if not self.config.day:
            return [self.index(market, p) for p in range(self.length(market))]
        if market not in self._lists:
            self._lists[market] = self._moved(market)
        return self._lists[market]

    def _moved(self, market: str) -> list[int]:
        seed, size, slot = self.config.seed, self.size, self._slot[market]
        members = [slot * self._stride + q for q in range(size)]  # day 0, unordered
        gone: list[int] = []  # left this market on an earlier day, not listed now
        for day in range(1, self.config.day + 1):
            rng = random.Random(f"{seed}/moves/{market}/{day}")
            leaving = self._leaving[day]
            fresh = self._starts[day] + slot * _stride(leaving)
            left = []
            for place in rng.sample(range(size), leaving):
                left.append(members[place])
                if gone and rng.random() < RETURN_SHARE:
                    pick = rng.randrange(len(gone))
                    gone[pick], gone[-1] = gone[-1], gone[pick]
                    members[place] = gone.pop()
                else:
                    members[place] = fresh
                    fresh += 1
            gone.extend(left)
        rng = random.Random(f"{seed}/order/{market}/{self.config.day}")
        step, shift = coprime(rng, size), rng.randrange(size)
        return [members[(step * p + shift) % size] for p in range(size)]


def _stride(width: int) -> int:
    """Offset between neighbouring markets' windows of ``width`` (they share a third)."""
    return max(1, width - width // 3)
