"""``--rate auto``: find a rolling window's limit from the server's own 429, then pace by it.

Spotify publishes no number, only that it counts an app's requests over a rolling
window. :class:`AutoRate` sets the pacer's one token bucket: it starts at the polite
default rate and, while no 429 comes, doubles it every :data:`SLOW_START_STEP` seconds in
which the rate was what held requests back (so never past what ``--concurrency`` and the
server's latency allow). The first 429 is a measurement:

* every request the server accepted since the first one still counts, so the limit is
  the number accepted before the throttled request;
* the window is when the oldest counted request (the first one sent) leaves, minus when
  it was sent. Retry-After says when that is only to the whole second (rounded up), so
  the 429 gives an interval one second wide: after ``sent + Retry-After - 1`` and by
  ``answer + Retry-After``. The gate then reopens inside that second, one probe at a
  time, every :data:`PRECISION` of the window: a refused probe moves the lower end up to
  its sending, the first accepted one brings the upper end down to its answer (the
  oldest request has left). Every other 429 of the episode narrows the interval too.
  The window is the upper end minus the first sending: never shorter than the server's
  (a window too long is safe, one too short is not), longer by at most one step plus a
  round trip, so within a few percent for windows of 5 s to 60 s; a window of 34 s or
  more needs no probe at all.

From then on the pacer paces exactly as ``--window N/SECONDS`` does, with ``N`` lowered by
:data:`MARGIN`. A later 429 lowers ``N`` to what the server counted in its window.

A 429 is the app's evidence only once the app's earlier requests have left the server's
window: a run started soon after another (the memory says when its last request left)
may meet a 429 the earlier run's requests caused. Such a 429 closes the gate as any
does, but teaches no limit: no new one (the rate is cut and climbs back instead), and no
lower one than the run paces by. What it learned is then not reported to the memory.
A 429 with no Retry-After teaches no window either: it counts as the window's length
(the learned one, else Spotify's 30 s), cuts the rate once per episode, and the rate
climbs back additively while no 429 comes.

A remembered limit an older version stored (it may be such an earlier run's 429) is only
a start: while no 429 comes and the window held requests back for a whole window, ``N``
doubles (at most to :data:`MAX_REQUESTS`), so a limit far too low is found out.

Nothing here sleeps or reads a clock: every method is given ``now``, so the decisions are
tested on plain numbers. Which 429s may teach is the caller's business: a quota 429 or a
Retry-After past ``--max-wait`` stops the pull before it gets here, and a 429 to a request
sent before the gate last closed belongs to the episode already measured.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

#: Seconds between two doublings of the slow start's rate.
SLOW_START_STEP = 0.5
#: Fraction of the learned limit left unused (rounded down: none below 20 requests).
MARGIN = 0.05
#: Multiplicative decrease of the rate on a 429 that teaches no limit.
CUT = 0.5
#: Additive increase per second after such a cut, as a fraction of the rate after it:
#: the rate doubles back in 50 s, slower than Spotify's 30 s window forgets.
CLIMB = 0.02
#: Answers kept to seed the window once learned; older ones no window this long counts.
MAX_WINDOW = 300.0
#: The window a 429 without Retry-After stands for while none was learned: Spotify's.
ASSUMED_WINDOW = 30.0
#: Spacing of the probes that pin the window down, as a fraction of its length.
PRECISION = 0.03
#: ... and never closer than this (seconds): a round trip's worth.
MIN_PROBE_STEP = 0.05
#: The most requests a raised limit may reach (the memory's own bound).
MAX_REQUESTS = 100_000
#: The longest window an earlier run's requests are assumed to stay counted in, when
#: the memory holds no limit to say so.
RECENT_WINDOW = 60.0

Phase = Literal["slow-start", "paced", "steady"]
LimitSource = Literal["learned", "remembered"]


@dataclass(frozen=True)
class Limit:
    """``requests`` per rolling ``seconds``, as the server counts them."""

    requests: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.requests} requests per {self.seconds:.3g} s"

    @property
    def paced(self) -> Limit:
        """The limit the pacer keeps to: :data:`MARGIN` fewer requests, at least one."""
        return Limit(max(1, self.requests - math.floor(self.requests * MARGIN)), self.seconds)

    @property
    def rate(self) -> float:
        """The average rate the limit allows, in requests per second."""
        return self.requests / self.seconds


@dataclass(frozen=True)
class RunReport:
    """What one run's pacing showed, for the memory (see ``Memory.remember_run``)."""

    #: A limit measured on this run's own requests (None: none, or not the app's own).
    limit: Limit | None = None
    #: The most requests sent within one remembered window with no 429 in the run.
    clean_peak: Limit | None = None
    clean_burst: Limit | None = None
    fastest_clean: float = 0.0
    last_request_at: dt.datetime | None = None


def infer_limit(
    first_sent: float, accepted: int, throttled_at: float, retry_after: float
) -> Limit | None:
    """The limit a first 429 shows when nothing narrows it: ``accepted`` requests since
    ``first_sent``, over a window ending when the oldest of them leaves (by
    ``retry_after`` after the 429, which came back at ``throttled_at``).
    None when nothing was accepted or the Retry-After says nothing."""
    if accepted < 1 or not retry_after > 0:
        return None
    return Limit(accepted, throttled_at + retry_after - first_sent)


def lowered_limit(limit: Limit, counted: int | None) -> Limit:
    """The limit after a 429 under it: what the server ``counted`` in its window when it
    said full (None: unknown), and in any case at least one request fewer (so a count
    that took in a request the server no longer held still converges)."""
    fewer = math.floor(limit.requests * 0.9) if counted is None else counted
    return Limit(max(1, min(limit.requests - 1, fewer)), limit.seconds)


@dataclass
class _Sent:
    sent_at: float
    answered_at: float | None = None
    accepted: bool = True


@dataclass
class _Measurement:
    """A teaching 429 being measured: the oldest counted request leaves the server's
    window after ``low`` and by ``high`` (on the client's clock)."""

    sent_at: float
    first_sent: float
    low: float
    high: float
    #: True once no probe can narrow it more (the first accepted probe, or close enough).
    done: bool = False

    @property
    def step(self) -> float:
        return max(MIN_PROBE_STEP, PRECISION * (self.high - self.first_sent))

    def narrow(self, low: float | None = None, high: float | None = None) -> None:
        if low is not None:
            self.low = max(self.low, low)
        if high is not None:
            self.high = min(self.high, high)
        if self.high - self.low <= self.step:
            self.done = True

    def reopen_at(self) -> float:
        """When the gate lets the next probe go: one step past the lower end, or the
        upper end once that is all there is to learn."""
        return self.high if self.done else min(self.high, self.low + self.step)


class AutoRate:
    """The state of ``--rate auto`` for one client: the rate and burst it gives the
    pacer's bucket (slow start, then the learned or remembered limit)."""

    def __init__(
        self,
        start_rate: float,
        start_burst: int,
        *,
        remembered: Limit | None = None,
        trusted: bool = True,
        clean_rate: float | None = None,
        clean_burst: Limit | None = None,
        idle_before: float | None = None,
    ) -> None:
        self.start_burst = start_burst
        self._rate = max(start_rate, clean_rate or 0.0, clean_burst.rate if clean_burst else 0.0)
        # what an earlier run sent without a 429 may leave at once
        self.burst = max(self._burst_for(self._rate), clean_burst.requests if clean_burst else 0)
        self.phase: Phase = "slow-start"
        #: The server's limit as measured (the pacer keeps to :attr:`Limit.paced`).
        self.limit: Limit | None = None
        self.source: LimitSource | None = None
        #: False while the limit paced by may be too low: raised while no 429 comes.
        self.trusted = trusted
        #: Highest rate sent over a whole slow-start step without a 429.
        self.fastest_clean = clean_rate or 0.0
        self._idle_before = idle_before
        self._step_start: float | None = None
        self._step_sent = 0
        self._step_held = False
        self._first_sent: float | None = None
        self._history: deque[_Sent] = deque()
        self._pending: _Measurement | None = None
        self._throttled = False  # any 429 this run
        self._own_limit = False  # the limit was measured on this run's own requests
        self._accepted = 0
        self._last_answer: float | None = None
        self._climb_since: float | None = None  # steady: when the rate was last cut
        self._recent: deque[float] = deque()  # send times within the paced window
        self._peak = 0
        self._held_since: float | None = None  # paced: when the window began holding back
        if remembered is not None:
            self._pace(remembered, "remembered")

    def __repr__(self) -> str:
        if self.limit is not None:
            return f"<AutoRate {self.phase} {self.limit} ({self.source})>"
        return f"<AutoRate {self.phase} {self._rate:g}/s burst {self.burst}>"

    def __str__(self) -> str:
        if self.limit is not None:
            paced = self.limit.paced
            return f"{paced.requests} requests per {paced.seconds:.1f} s ({self.source})"
        return f"{self._rate:.3g} requests/s ({self.phase})"

    def _burst_for(self, rate: float) -> int:
        return max(self.start_burst, math.ceil(rate * SLOW_START_STEP))

    def _pace(self, limit: Limit, source: LimitSource) -> None:
        self.limit, self.source, self.phase = limit, source, "paced"
        paced = limit.paced
        # the bucket beside the window never holds back what the window lets go
        self._rate, self.burst = paced.rate, paced.requests
        self._recent.clear()

    @property
    def rate(self) -> float:
        """The bucket's rate now (without the climb after a cut: see :meth:`rate_at`)."""
        return self._rate

    def rate_at(self, now: float) -> float:
        """The bucket's rate at ``now``: after a cut it climbs back additively."""
        if self._climb_since is None:
            return self._rate
        return self._rate * (1 + CLIMB * max(0.0, now - self._climb_since))

    @property
    def window_seconds(self) -> float:
        """The window a 429 without Retry-After stands for: the learned one, or 30 s."""
        return self.limit.seconds if self.limit is not None else ASSUMED_WINDOW

    # -- what the pacer reports ------------------------------------------------------

    def held_back(self, now: float, *, by_window: bool = False) -> None:
        """The rate (or, paced, the window) made a request wait: it, not the concurrency,
        is what binds."""
        self._step_held = True
        if by_window and self._held_since is None:
            self._held_since = now

    def sent(self, now: float) -> _Sent:
        """A request left now; the record comes back to :meth:`answered`."""
        if self._first_sent is None:
            self._first_sent = now
        self._advance(now)
        self._step_sent += 1
        record = _Sent(now)
        self._history.append(record)
        while (
            self._history
            and self._history[0].answered_at is not None
            and (self._history[0].answered_at < now - MAX_WINDOW)
        ):
            self._history.popleft()
        if self.limit is not None:
            recent, span = self._recent, self.limit.seconds
            recent.append(now)
            while recent and recent[0] <= now - span:
                recent.popleft()
            self._peak = max(self._peak, len(recent))
            self._raise_suspect(now)
        return record

    def answered(self, record: _Sent, now: float, *, throttled: bool) -> None:
        """The request of ``record`` came back (throttled or not)."""
        record.answered_at, record.accepted = now, not throttled
        self._last_answer = now
        if throttled:
            self._throttled = True
            return
        self._accepted += 1
        seen = self._pending
        if seen is not None and not seen.done and record.sent_at > seen.sent_at:
            seen.narrow(high=now)  # accepted: the oldest counted request had left
            seen.done = True

    @property
    def clean_burst(self) -> Limit | None:
        """What this run sent without a single 429: every accepted request, over the time
        from the first one's sending to the last answer; None after any 429."""
        first, last = self._first_sent, self._last_answer
        if self._throttled or first is None or last is None or self._accepted < 1:
            return None
        return Limit(self._accepted, max(last - first, 1e-3))

    def _advance(self, now: float) -> None:
        """End the slow start's step once it is over: double a rate that held back."""
        if self._step_start is None:
            self._step_start = now
            return
        elapsed = now - self._step_start
        if elapsed < SLOW_START_STEP:
            return
        if self.phase == "slow-start" and self._pending is None:
            self.fastest_clean = max(self.fastest_clean, self._step_sent / elapsed)
            if self._step_held:
                self._rate *= 2
                self.burst = self._burst_for(self._rate)
        self._step_start, self._step_sent, self._step_held = now, 0, False

    def _raise_suspect(self, now: float) -> None:
        """A remembered limit that may be too low, held to for a whole window without a
        429: double it (it is found out at the first 429, measured then)."""
        limit, since = self.limit, self._held_since
        if self.trusted or self._throttled or limit is None or since is None:
            return
        if now - since < limit.seconds:
            return
        self._held_since = None
        raised = Limit(min(MAX_REQUESTS, limit.requests * 2), limit.seconds)
        if raised != limit:
            self._pace(raised, self.source or "remembered")

    # -- what a 429 teaches -------------------------------------------------------------

    def _own(self, at: float, window: float) -> bool:
        """True when a 429 at ``at`` cannot be an earlier run's requests' doing: they
        left the server's ``window`` before it (or there was no earlier run to know of)."""
        idle, first = self._idle_before, self._first_sent
        if idle is None or first is None:
            return True
        return at - first + idle >= window

    def throttled(self, sent_at: float, now: float, retry_after: float | None) -> bool:
        """A rolling-window 429 to a request sent at ``sent_at``, the first of its
        episode (or, while a measurement runs, one of its probes). True when it belongs
        to the measurement: the gate then reopens at :meth:`reopen_at`."""
        self._throttled = True
        self._held_since = None
        seen = self._pending
        if seen is not None:
            if not seen.done:
                low = sent_at + max(0.0, (retry_after or 1.0) - 1.0)
                seen.narrow(low, None if retry_after is None else now + retry_after)
            return True
        first = self._first_sent
        recent = RECENT_WINDOW if self._idle_before is not None else 0.0
        learning = self.limit is None and self.phase == "slow-start"
        if learning and first is not None and retry_after and self._own(now, recent):
            seen = _Measurement(sent_at, first, sent_at + retry_after - 1, now + retry_after)
            seen.narrow()
            self._pending = seen
            self._step_start, self._step_sent, self._step_held = None, 0, False
            return True
        self._cut(sent_at, now, retry_after)
        return False

    def reopen_at(self) -> float | None:
        """When the gate reopens while a measurement runs (None: none runs)."""
        seen = self._pending
        return None if seen is None else seen.reopen_at()

    def _cut(self, sent_at: float, now: float, retry_after: float | None) -> None:
        """A 429 that measures nothing new: under a limit, lower it to what the server
        counted (when the count is the app's own); otherwise cut the rate."""
        if self.limit is not None:
            if retry_after is None or not self._own(now, self.limit.seconds):
                return  # the gate is enough: not evidence of a lower limit
            since = now - self.limit.seconds
            counted = sum(r.accepted and since < r.sent_at < sent_at for r in self._history)
            self._pace(lowered_limit(self.limit, counted), "learned")
            self._own_limit, self.trusted = True, True
            return
        self._rate = max(self.rate_at(now) * CUT, 1 / MAX_WINDOW)
        self.phase, self.burst, self._climb_since = "steady", self.start_burst, now

    def settle(self) -> bool:
        """Turn a measured 429 into a limit once its interval is as narrow as it gets and
        every request sent before it has come back; True when the limit changed (the
        pacer then rebuilds its window)."""
        seen = self._pending
        if seen is None or not seen.done:
            return False
        before = [r for r in self._history if r.sent_at < seen.sent_at]
        if any(r.answered_at is None for r in before):
            return False
        self._pending = None
        accepted = sum(r.accepted for r in before)
        if accepted < 1:
            self._rate, self.phase = max(self._rate * CUT, 1 / MAX_WINDOW), "steady"
            self.burst, self._climb_since = self.start_burst, seen.high
            return False
        self._pace(Limit(accepted, seen.high - seen.first_sent), "learned")
        self._own_limit = True
        return True

    def report(self, last_request_at: dt.datetime | None) -> RunReport:
        """What the memory should keep of this run."""
        limit = self.limit if self._own_limit else None
        peak = None
        if self.limit is not None and not self._throttled and self._peak:
            peak = Limit(self._peak, self.limit.seconds)
        return RunReport(
            limit=limit,
            clean_peak=peak,
            clean_burst=self.clean_burst,
            fastest_clean=self.fastest_clean,
            last_request_at=last_request_at,
        )

    def answers_since(self, since: float) -> list[float]:
        """Answer times after ``since``, oldest first, to seed a new window."""
        return sorted(
            r.answered_at
            for r in self._history
            if r.answered_at is not None and r.answered_at > since
        )
