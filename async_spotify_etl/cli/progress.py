"""``pull``'s display: a live bar on a terminal, a periodic log line elsewhere, a summary.

Updates run on a timer of the running loop, so the numbers are read in the loop's own
thread. rich renders the bar and, on a terminal, the summary table; it is imported only
to draw them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from ..run.progress import Snapshot

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from ..output.manifest import Manifest

log = logging.getLogger(__name__)

ProgressMode = Literal["bar", "log", "off"]

#: Seconds of sending the shown request rate covers. The bucket lets ``--burst`` requests
#: go at once after an idle spell, so a rate over one bar tick (0.25 s) showed bursts and
#: rounding (4 requests in 0.26 s: 15.3 req/s at --rate 5); over this window a burst adds
#: at most burst / window (0.5 req/s at the defaults), and a slowdown still shows within it.
RATE_WINDOW = 10.0


class ProgressReporter:
    """Shows live progress while open; a sync context manager used inside the running loop."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        mode: ProgressMode,
        *,
        console: Console | None = None,
        bar_interval: float = 0.25,
        log_interval: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._snapshot = snapshot
        self.mode: ProgressMode = mode
        self._console = console
        self._interval = bar_interval if mode == "bar" else log_interval
        self._clock = clock or time.monotonic
        self._timer: asyncio.TimerHandle | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        # (time, requests) of the ticks of the last RATE_WINDOW, counted in ticks so that a
        # timer firing a hair early does not leave the window one tick short.
        ticks = math.ceil(RATE_WINDOW / self._interval - 1e-9)
        self._samples: deque[tuple[float, int]] = deque(maxlen=ticks + 1)
        #: Requests a second over the last RATE_WINDOW; None until that much has passed.
        self.rate: float | None = None

    def __repr__(self) -> str:
        return f"<ProgressReporter {self.mode} {_rate_text(self.rate)} req/s>"

    def __enter__(self) -> ProgressReporter:
        self._samples.append((self._clock(), self._snapshot().requests))
        if self.mode == "bar":
            self._bar = _new_bar(self._console)
            self._task = self._bar.add_task(
                "pull", total=None, tracks=0, failed=0, rate=_rate_text(None), waited=0.0
            )
            self._bar.start()
        if self.mode != "off":
            self._arm()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._bar is not None:
            self.tick()
            self._bar.stop()
            self._bar = None

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._on_timer)

    def _on_timer(self) -> None:
        try:
            self.tick()
        finally:
            self._arm()

    def tick(self) -> Snapshot:
        """Read the numbers once and show them."""
        snap = self._snapshot()
        self._measure(self._clock(), snap.requests)
        if self._bar is not None and self._task is not None:
            self._bar.update(
                self._task,
                total=max(snap.found, snap.done) or None,
                completed=snap.done,
                tracks=snap.tracks,
                failed=snap.failed,
                rate=_rate_text(self.rate),
                waited=snap.waited_seconds,
            )
            self._bar.refresh()
        elif self.mode == "log":
            log.info(
                "progress: %d/%d albums, %d tracks, %d failed, %s req/s, %.0f s waited on 429s",
                snap.done,
                snap.found,
                snap.tracks,
                snap.failed,
                _rate_text(self.rate),
                snap.waited_seconds,
            )
        return snap

    def _measure(self, now: float, requests: int) -> None:
        """Add a sample; the rate is the requests since the oldest, a window's ticks ago."""
        self._samples.append((now, requests))
        if len(self._samples) == self._samples.maxlen:
            then, before = self._samples[0]
            if now > then:
                self.rate = (requests - before) / (now - then)


def _rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1f}"


def _new_bar(console: Console | None) -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("[bold]albums"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tracks]} tracks · {task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]} req/s · waited {task.fields[waited]:.0f} s"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        auto_refresh=False,
    )


def summary_rows(manifest: Manifest) -> list[tuple[str, str]]:
    """The end-of-pull summary as (label, value) rows: what was pulled and what it cost."""
    counts, run = manifest.counts, manifest.this_run
    rows = [
        ("plan", _plan(manifest.plan)),
        ("markets", ", ".join(manifest.markets) or "-"),
    ]
    shown = [("albums", "albums"), ("tracks", "tracks"), ("failed", "failed albums")]
    if manifest.plan.get("artists", "off") != "off" or counts.get("artists"):
        shown += [("artists", "artists"), ("artists_failed", "failed artists")]
    for key, label in shown:
        extra = f" ({run.get(key, 0)} this run)" if manifest.resumed else ""
        rows.append((label, f"{counts.get(key, 0)}{extra}"))
    if manifest.albums_skipped and not manifest.resumed:
        rows.append(("albums already held", str(manifest.albums_skipped)))
    if manifest.status != "complete" and manifest.albums_left:
        rows.append(("albums left", f"{manifest.albums_left} (run again to fetch them)"))
    rows += [(f"unreached {market}", text) for market, text in unreached(manifest.reach)]
    return [
        *rows,
        ("requests", _requests(manifest)),
        ("retries · 429s", f"{manifest.retries} · {manifest.throttled}"),
        ("waited on Retry-After", f"{manifest.waited_seconds:.1f} s"),
        ("retry backoff", f"{manifest.backoff_seconds:.1f} s"),
        ("access tokens", str(manifest.token_refreshes)),
        *([("pacing", pacing_text(manifest.pacing))] if manifest.pacing else []),
        ("duration", f"{manifest.duration_seconds:.1f} s"),
    ]


def unreached(reach: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The markets whose listing reported more albums than its paging reached, in words."""
    return [
        (
            market,
            f"{r['source']} reports {r['total']:,}, the API lets a query reach {r['reached']:,}",
        )
        for market, r in reach.items()
        if isinstance(r.get("total"), int)
        and isinstance(r.get("reached"), int)
        and r["total"] > r["reached"]
        and r.get("source") == "search"
    ]


def pacing_text(pacing: Mapping[str, Any]) -> str:
    """How the run was paced, in a few words: the fixed rate and window, or what ``--rate
    auto`` paced by and where that limit came from."""
    window = pacing.get("window")
    if pacing.get("rate") != "auto":
        fixed = f"{pacing.get('rate'):g} requests/s"
        if window:
            fixed += f", window {window['requests']} per {window['seconds']:g} s"
        return fixed
    limit = pacing.get("limit")
    if not limit:
        fastest = pacing.get("fastest_clean_rate") or 0
        return f"auto: no limit met (up to {fastest:g} requests/s without a 429)"
    source = {"learned": "learned this run", "remembered": "remembered"}.get(
        pacing.get("limit_source") or "", "?"
    )
    return f"auto: limit {limit['requests']} per {limit['seconds']:g} s ({source})"


def _plan(plan: Mapping[str, Any]) -> str:
    line = f"{plan.get('source')} → {plan.get('expand')}"
    return f"{line}, artists {plan['artists']}" if "artists" in plan else line


def _requests(manifest: Manifest) -> str:
    """Requests sent against the plan's minimum for the same scope: the pull's (every run's
    requests against every run's minimum), then this run's alone after a resume, with the
    probes ``auto`` spent on 403s this run."""
    probes = sum(manifest.plan.get("probes", {}).values())
    run = manifest.last_run
    if run is None or len(manifest.runs) == 1:
        return _against(manifest.requests, manifest.minimum_requests, probes)
    pull = _against(manifest.requests, manifest.minimum_requests)
    return f"{pull}; this run {_against(run.requests, run.minimum_requests, probes)}"


def _against(sent: Mapping[str, int], minimum: Mapping[str, int], probes: int = 0) -> str:
    total, least = sum(sent.values()), sum(minimum.values())
    if not least:
        return str(total)
    extra = f" + {probes} probe{'s' * (probes != 1)}" if probes else ""
    return f"{total} (plan minimum {least}{extra})"


def print_summary(manifest: Manifest, paths: dict[str, Path]) -> None:
    """Print the summary on stdout: a table on a terminal, plain aligned lines otherwise
    (for logs and scripts, and without importing rich)."""
    if sys.stdout.isatty():
        render_summary(manifest, paths)
    else:
        sys.stdout.write(summary_text(manifest, paths))


def summary_text(manifest: Manifest, paths: dict[str, Path]) -> str:
    """The summary as plain text: a title, one aligned line per row, one line per file."""
    rows = summary_rows(manifest)
    width = max(len(label) for label, _ in rows)
    lines = [f"spotify-etl pull: {manifest.status}"]
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    lines += [f"{name}: {path}" for name, path in paths.items()]
    return "\n".join(lines) + "\n"


def render_summary(
    manifest: Manifest, paths: dict[str, Path], console: Console | None = None
) -> None:
    """Print the summary as a table on ``console`` (stdout by default), then the files."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"spotify-etl pull: {manifest.status}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for label, value in summary_rows(manifest):
        table.add_row(label, value)
    console.print(table)
    for name, path in paths.items():  # whole paths, never folded, so they can be copied
        console.print(f"{name}: {path}", soft_wrap=True, highlight=False, markup=False)
