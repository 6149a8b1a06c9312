"""``--rate auto``: find a rolling window's limit from the server's own 429, then pace by it.

Spotify publishes no number, only that it counts an app's requests over a rolling
window. :class:`AutoRate` starts at the polite default rate and, while no 429 comes,
doubles it every :data:`SLOW_START_STEP` seconds in which the rate was what held requests
back (so never past what ``--concurrency`` and the server's latency allow). The first
429 is a measurement:

* every request the server accepted since the first one still counts, so the limit is
  the number accepted before the throttled request;
* a rolling window's Retry-After says when the oldest counted request leaves, and the
  oldest is the first one sent, so the window is ``429 answer time + Retry-After - first
  sent``. That is an upper bound: the first request arrived after it was sent, the
  throttled one before its answer came back (whatever a new connection's handshake or
  the client's own load delayed), and Retry-After is rounded up to whole seconds. A
  window too long is safe, one too short is not; the price is up to a second (a few
  percent of Spotify's 30 s, up to a fifth of a 5 s window).

From then on the pacer paces exactly as ``--window N/SECONDS`` does. The window's upper
bound is already a margin in time (under 1 s, a few percent of Spotify's 30 s); ``N``
is lowered by :data:`MARGIN` too, against a server that counts a little differently. A
later 429 lowers ``N`` to what the server counted in its window.
The first 429 must come within the first window for the bound to hold, which the slow
start makes likely (it reaches 150 requests within 5 s); where it does not, the window
estimate comes out too short and the next 429 lowers the limit.

The same 429 bounds the window from below: the first request was still counted when
the throttled one arrived, for longer than Retry-After less the second it was rounded up
by. While the bounds are more than :data:`TOLERANCE` apart (a window under about 20 s),
*trials* narrow them: a request of the pull, sent alone once the ``N`` requests since an
earlier one are back, timed so that its answer comes halfway between the bounds after
that one left. Accepted, the window is at most that; throttled, longer (its Retry-After is
obeyed). Trials pace by ``N`` itself (a trial tells something only when the window is as
full as the server allows), follow only an exact first measurement (:meth:`AutoRate._exact`)
and end at the first ordinary 429, after :data:`MAX_TRIALS` or :data:`MAX_FAILED_TRIALS`.

A 429 without a usable Retry-After teaches no window. The gate then stays closed for the
window's length (the learned one, else Spotify's 30 s: :data:`ASSUMED_WINDOW`), the rate
is cut by :data:`CUT` once for the episode, and it climbs back additively
(:data:`CLIMB`) while no 429 comes, up to the rate it had before the cut. So a server
that never says Retry-After slows a pull to about what it sustains, never to nothing.

A 429 is evidence of the app's limit only once the requests of the app's previous run
have left the server's window (``quiet_for``: the memory says when that run sent its
last request). A run started at once after another may meet a 429 that those requests
caused: it closes the gate as any 429 does, but teaches nothing. A remembered limit is
not lowered by it; in the slow start no limit is inferred from it, the rate is cut and
climbs back instead. So a limit is stored only from this run's own evidence.

A remembered limit without that mark (``trusted=False``: an older version stored it,
perhaps from such a 429 or a dry run's) is a start, not a fact: while no 429 comes and
the window has held requests back for a whole window, ``N`` doubles (at most to
:data:`MAX_REQUESTS`), so a limit far too low is found out; the first 429 then measures
it as any later 429 does.

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
#: How close the learned window must be to the server's: trials go on while the window
#: could be longer than the shortest it can be by more than this fraction.
TOLERANCE = 0.05
#: The most trials one run sends to narrow the window (each a real request of the pull)...
MAX_TRIALS = 8
#: ... and the most of them that may fail (each failure costs a request and its wait).
MAX_FAILED_TRIALS = 3
#: A 429 with no usable Retry-After teaches nothing about the window: the rate is cut...
CUT = 0.5
#: ... then climbs back by this fraction of the cut rate per second (doubling in 50 s,
#: slower than Spotify's 30 s window forgets), never above the rate before the cut.
CLIMB = 0.02
#: The window a 429 without Retry-After stands for while none was learned: Spotify's.
ASSUMED_WINDOW = 30.0
#: Answers kept to seed the window once learned; older ones no window this long counts.
MAX_WINDOW = 300.0
#: The most requests a raised limit may reach (the memory's own bound).
MAX_REQUESTS = 100_000
#: The window the previous run's requests are assumed to count in when no limit is
#: remembered: twice Spotify's.
RECENT_WINDOW = 60.0

Phase = Literal["slow-start", "paced", "steady"]
LimitSource = Literal["learned", "remembered"]


@dataclass(frozen=True)
class Limit:
    """``requests`` per rolling ``seconds``, as the server counts them."""

    requests: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.requests} requests per {self.seconds:.1f} s"

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
    """What one run's pacing showed, for the memory to keep (``Memory.remember_run``)."""

    #: A limit measured this run, on evidence that it is the app's (None: none).
    limit: Limit | None = None
    #: Every request this run sent without a 429, over how long (None after a 429).
    clean_burst: Limit | None = None
    #: The fastest rate sent over a whole slow-start step without a 429.
    fastest_clean: float = 0.0
    #: A remembered limit this run's clean sending showed too low, raised (None: not).
    raised: Limit | None = None
    #: When this run sent its last request (wall clock): the next run's 429s before
    #: that request leaves the window may be this run's doing.
    last_request_at: dt.datetime | None = None


def infer_limit(
    first_sent: float, accepted: int, throttled_at: float, retry_after: float
) -> Limit | None:
    """The limit a first 429 shows: ``accepted`` requests since ``first_sent``, over a
    window ending when the oldest of them leaves (``retry_after`` after the 429, which
    came back at ``throttled_at``).
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


@dataclass(frozen=True)
class _Observation:
    """A teaching 429, measured once every request sent before it has come back."""

    sent_at: float
    at: float
    retry_after: float | None
    #: The throttled request's own record: sent at the same instant as others (a
    #: burst), only the order it left in says which went before it.
    record: _Sent | None = None


class AutoRate:
    """The state of ``--rate auto`` for one client: the slow start's rate and burst, then
    the learned (or remembered) limit."""

    def __init__(
        self,
        start_rate: float,
        start_burst: int,
        *,
        remembered: Limit | None = None,
        clean_rate: float | None = None,
        clean_burst: Limit | None = None,
        quiet_for: float = 0.0,
        trusted: bool = True,
    ) -> None:
        self.start_burst = start_burst
        #: Seconds from the first request on in which a 429 may be the previous run's.
        self.quiet_for = quiet_for
        #: False while the remembered limit may be too low: raised while no 429 comes.
        self.trusted = trusted
        self._bound_since: float | None = None  # paced: since when the window binds
        self._raised = False
        self.rate = max(start_rate, clean_rate or 0.0, clean_burst.rate if clean_burst else 0.0)
        # what an earlier run sent without a 429 may leave at once
        self.burst = max(self._burst_for(self.rate), clean_burst.requests if clean_burst else 0)
        self.phase: Phase = "slow-start"
        #: The server's limit as measured (the pacer keeps to :attr:`Limit.paced`).
        self.limit: Limit | None = None
        self.source: LimitSource | None = None
        #: Highest rate sent over a whole slow-start step without a 429.
        self.fastest_clean = clean_rate or 0.0
        self._step_start: float | None = None
        self._step_sent = 0
        self._step_held = False
        self._history: deque[_Sent] = deque()
        self._pending: _Observation | None = None
        self._throttled = False  # any 429 this run
        self._accepted = 0
        self._last_answer: float | None = None
        #: After a cut: since when the rate climbs back, and up to what.
        self._climb_since: float | None = None
        self._ceiling = 0.0
        #: Once learned: the server's window is longer than the first, at most the second.
        self.bounds: tuple[float, float] | None = None
        self.trials = 0
        self.failed_trials = 0
        self._first: _Sent | None = None  # this run's first request
        if remembered is not None:
            self._pace(remembered, "remembered")

    def __repr__(self) -> str:
        if self.limit is not None:
            return f"<AutoRate {self.phase} {self.limit} ({self.source})>"
        return f"<AutoRate {self.phase} {self.rate:g}/s burst {self.burst}>"

    def rate_at(self, now: float) -> float:
        """The rate at ``now``: :attr:`rate`, or after a cut the rate climbing back."""
        since = self._climb_since
        if since is None:
            return self.rate
        climbed = self.rate * (1 + CLIMB * max(0.0, now - since))
        return min(max(self._ceiling, self.rate), climbed)

    @property
    def pacing(self) -> Limit:
        """The limit the pacer keeps to: :attr:`Limit.paced`; while trials narrow the
        window, the limit itself (a trial tells something only when the window is as
        full as the server allows)."""
        assert self.limit is not None
        return self.limit if self.refining else self.limit.paced

    @property
    def window_seconds(self) -> float:
        """What a 429 without Retry-After stands for: the learned window, else 30 s."""
        return self.limit.seconds if self.limit is not None else ASSUMED_WINDOW

    def _burst_for(self, rate: float) -> int:
        return max(self.start_burst, math.ceil(rate * SLOW_START_STEP))

    def _pace(self, limit: Limit, source: LimitSource) -> None:
        self.limit, self.source, self.phase = limit, source, "paced"
        self._climb_since = None
        paced = self.pacing
        # the bucket beside the window never holds back what the window lets go
        self.rate, self.burst = paced.rate, paced.requests

    # -- what the pacer reports ------------------------------------------------------

    def held_back(self) -> None:
        """The rate made a request wait: it, not the concurrency, is what binds."""
        self._step_held = True

    def sent(self, now: float) -> _Sent:
        """A request left now; the record comes back to :meth:`answered`."""
        self._advance(now)
        self._step_sent += 1
        record = _Sent(now)
        if self._first is None:
            self._first = record
        self._history.append(record)
        while (
            self._history
            and self._history[0].answered_at is not None
            and (self._history[0].answered_at < now - MAX_WINDOW)
        ):
            self._history.popleft()
        return record

    def answered(self, record: _Sent, now: float, *, throttled: bool) -> None:
        """The request of ``record`` came back (throttled or not)."""
        record.answered_at, record.accepted = now, not throttled
        self._last_answer = now
        if throttled:
            self._throttled = True
        else:
            self._accepted += 1

    def report(self, last_request_at: dt.datetime | None = None) -> RunReport:
        """What this run showed, for the memory."""
        learned = self.limit if self.source == "learned" else None
        raised = self.limit if self._raised and self.source == "remembered" else None
        return RunReport(learned, self.clean_burst, self.fastest_clean, raised, last_request_at)

    def window_bound(self, now: float, bound: bool) -> bool:
        """The window held a request back (``bound``) or let it go at once. True when a
        limit not trusted was raised: no 429 in this run, and the window still held
        requests back a whole window after it first did (the pacer then rebuilds it)."""
        if not bound:
            return False
        if self._bound_since is None:
            self._bound_since = now
        limit = self.limit
        if self.trusted or self._throttled or self.source != "remembered" or limit is None:
            return False
        if now - self._bound_since < limit.seconds or limit.requests >= MAX_REQUESTS:
            return False
        self._pace(Limit(min(MAX_REQUESTS, 2 * limit.requests), limit.seconds), "remembered")
        self._raised, self._bound_since = True, None
        return True

    def foreign(self, at: float) -> bool:
        """Whether a 429 answered at ``at`` may be the previous run's doing: its requests
        were still in the server's window."""
        first = self._first
        return first is not None and at < first.sent_at + self.quiet_for

    @property
    def clean_burst(self) -> Limit | None:
        """What this run sent without a single 429: every accepted request, over the time
        from the first one's sending to the last answer; None after any 429."""
        first, last = self._first, self._last_answer
        if self._throttled or first is None or last is None or self._accepted < 1:
            return None
        return Limit(self._accepted, max(last - first.sent_at, 1e-3))

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
                self.rate *= 2
                self.burst = self._burst_for(self.rate)
        self._step_start, self._step_sent, self._step_held = now, 0, False

    # -- what a 429 teaches -------------------------------------------------------------

    def throttled(
        self, sent_at: float, now: float, retry_after: float | None, record: _Sent | None = None
    ) -> None:
        """A rolling-window 429 to a request sent at ``sent_at``, the first of its
        episode; measured by :meth:`settle` once the requests sent before it are back."""
        if self._pending is not None:
            return
        self._pending = _Observation(sent_at, now, retry_after, record)
        self._step_start, self._step_sent, self._step_held = None, 0, False

    def settle(self) -> bool:
        """Turn a pending 429 into a limit once every request sent before it has come
        back; True when the limit changed (the pacer then rebuilds its window)."""
        seen = self._pending
        if seen is None:
            return False
        before, _ = self._split(seen)
        if any(r.answered_at is None for r in before):
            return False
        self._pending = None
        accepted = sum(r.accepted for r in before)
        ra = seen.retry_after
        foreign = self.foreign(seen.at)
        if foreign and self.limit is not None:
            return False  # the remembered limit stands: this 429 is no evidence against it
        if self.limit is None:
            first = self._first
            if self.phase == "slow-start" and ra is not None and first is not None and not foreign:
                limit = infer_limit(first.sent_at, accepted, seen.at, ra)
                if limit is not None:
                    if self._exact(seen):
                        self.bounds = (self._shortest(seen.sent_at, ra), limit.seconds)
                    self._pace(limit, "learned")
                    return True
            # one cut for the episode, from the rate it had climbed back to
            reached = self.rate_at(seen.at)
            self._ceiling = max(self._ceiling, reached)
            self.rate, self.phase = max(reached * CUT, 1 / MAX_WINDOW), "steady"
            self._climb_since = seen.at
            self.burst = self.start_burst
            return False
        # full when it said 429: what it accepted over the window before it is its limit
        since = seen.at - self.limit.seconds
        counted = sum(r.accepted and r.sent_at > since for r in before)
        self.bounds = None  # the limit is in doubt again: no trial may lean on it
        self._pace(lowered_limit(self.limit, counted), "learned")
        return True

    def _exact(self, seen: _Observation) -> bool:
        """Whether the limit a first 429 showed is the server's count, not just at most
        it: no request sent after the throttled one was accepted (one that was may have
        arrived before it and been counted). Only an exact limit may be narrowed by
        trials, which take ``N`` accepted requests for the server's full window."""
        _, later = self._split(seen)
        return all(r.answered_at is not None and not r.accepted for r in later)

    def _split(self, seen: _Observation) -> tuple[list[_Sent], list[_Sent]]:
        """The requests sent before the throttled one and those sent after it."""
        history = list(self._history)
        if seen.record is not None and seen.record in history:
            at = history.index(seen.record)
            return history[:at], history[at + 1 :]
        before = [r for r in history if r.sent_at < seen.sent_at]
        return before, [r for r in history if r.sent_at > seen.sent_at]

    def _shortest(self, throttled_sent: float, retry_after: float) -> float:
        """The lower bound a first 429 gives: the first request was still counted when the
        throttled one arrived, and for longer than Retry-After less the second it was
        rounded up by."""
        first = self._first
        assert first is not None
        assert first.answered_at is not None
        return max(0.0, throttled_sent - first.answered_at + retry_after - 1.0)

    # -- narrowing a learned window --------------------------------------------------------

    @property
    def refining(self) -> bool:
        """Whether the learned window may still be more than :data:`TOLERANCE` too long
        and trials are left to narrow it."""
        bounds = self.bounds
        return (
            bounds is not None
            and self.source == "learned"
            and self.trials < MAX_TRIALS
            and self.failed_trials < MAX_FAILED_TRIALS
            and bounds[1] - bounds[0] > TOLERANCE * bounds[0]
        )

    def trial_time(self, now: float) -> tuple[float, _Sent] | None:
        """When a trial should leave, and the request it is measured from: the ``N``-th
        most recent accepted one (``N`` the limit). Sent then, its answer comes back about
        halfway between the window's bounds after that request left (the pacer sends it
        alone, so that a 429 to it is about the requests it is measured against). None
        when not refining, or when that time has passed so far that the trial would
        narrow the window by less than half the tolerance."""
        limit, bounds = self.limit, self.bounds
        if not self.refining or limit is None or bounds is None:
            return None
        counted: list[_Sent] = []
        for record in reversed(self._history):
            if record.answered_at is not None and record.accepted:
                counted.append(record)
                if len(counted) == limit.requests:
                    break
        else:
            return None
        latest, oldest = counted[0], counted[-1]
        assert latest.answered_at is not None
        round_trip = latest.answered_at - latest.sent_at
        at = oldest.sent_at + sum(bounds) / 2 - round_trip
        if max(at, now) + round_trip - oldest.sent_at > bounds[1] - TOLERANCE * bounds[0] / 2:
            return None
        return at, oldest

    def trial_answered(self, trial: _Sent, oldest: _Sent, retry_after: float | None) -> bool:
        """What a trial showed. Accepted: the ``N`` requests from ``oldest`` on did not all
        count when it arrived, so the window is at most its answer less ``oldest``'s
        sending. Throttled: they did, so the window is longer than its sending less
        ``oldest``'s answer, by Retry-After less its rounding. True when what the pacer
        keeps to changed (a shorter window, or the trials over)."""
        bounds, limit = self.bounds, self.limit
        assert trial.answered_at is not None
        assert oldest.answered_at is not None
        if bounds is None or limit is None:
            return False
        was_refining = self.refining
        self.trials += 1
        lo, hi = bounds
        if trial.accepted:
            hi = min(hi, trial.answered_at - oldest.sent_at)
        else:
            self.failed_trials += 1
            ra = retry_after if retry_after is not None and retry_after > 0 else None
            lo = max(lo, trial.sent_at - oldest.answered_at + (ra - 1.0 if ra else 0.0))
        self.bounds = (min(lo, hi), hi)
        if hi >= limit.seconds and self.refining == was_refining:
            return False
        self._pace(Limit(limit.requests, min(hi, limit.seconds)), "learned")
        return True

    def answers_since(self, since: float) -> list[float]:
        """Answer times after ``since``, oldest first, to seed a new window."""
        return sorted(
            r.answered_at
            for r in self._history
            if r.answered_at is not None and r.answered_at > since
        )
