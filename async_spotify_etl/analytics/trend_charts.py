"""The figures of a dataset's trend cards: one value (or series) per run, in run order.

Drawn in the same style as :mod:`.charts` (inline SVG, text kept as text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from .charts import _OTHER, PALETTE, _figure, _styled, _whole

#: Colours of the series that are not album types (genres, labels, markets).
_SERIES = ("#1db954", "#2e77d0", "#f59b23", "#af2896", "#e8115b", "#148a08", "#8d67ab")


def _runs_axis(ax: object, labels: Sequence[str]) -> None:
    step = max(1, len(labels) // 10)
    ax.set_xticks(range(len(labels))[::step], labels[::step], rotation=30, ha="right")  # type: ignore[attr-defined]


@_styled
def stacked_per_run(
    labels: Sequence[str], series: Mapping[str, Sequence[int]], unit: str
) -> Figure:
    """Stacked bars: per run, one segment per album type, in the types' colours."""
    fig, ax = _figure()
    bottom = [0] * len(labels)
    for key, heights in series.items():
        colour = PALETTE.get(key, _OTHER)
        ax.bar(range(len(labels)), heights, 0.8, bottom=bottom, label=key, color=colour)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _runs_axis(ax, labels)
    ax.set_ylabel(unit)
    _whole(ax.yaxis)
    ax.legend(frameon=False, ncols=max(1, len(series)), loc="upper left")
    ax.set_ylim(top=max(1, *bottom) * 1.2)
    return fig


@_styled
def share_lines(labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> Figure:
    """Lines: per key, its share of each run's listed albums."""
    fig, ax = _figure((6.4, 3.8))
    for i, (key, shares) in enumerate(series.items()):
        ax.plot(range(len(labels)), shares, marker="o", label=key, color=_SERIES[i % 7])
    _runs_axis(ax, labels)
    ax.yaxis.set_major_formatter("{x:.0%}")
    ax.set_ylabel("share of the run's listed albums")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


@_styled
def churn(
    labels: Sequence[str],
    markets: Sequence[str],
    listed: Mapping[str, Sequence[int]],
    delisted: Mapping[str, Sequence[int]],
) -> Figure:
    """Grouped bars per run: albums listed (up) and delisted (down) in each market."""
    fig, ax = _figure()
    width = 0.8 / max(1, len(markets))
    for i, market in enumerate(markets):
        x = [n - 0.4 + width * (i + 0.5) for n in range(len(labels))]
        colour = _SERIES[i % len(_SERIES)]
        ax.bar(x, listed[market], width, color=colour, label=market)
        ax.bar(x, [-n for n in delisted[market]], width, color=colour, alpha=0.45)
    ax.axhline(0, color="#191414", linewidth=0.8)
    _runs_axis(ax, labels)
    ax.set_ylabel("delisted (below) · listed (above)")
    _whole(ax.yaxis)
    # Above the plot, not in it: inside, it covered the tallest bars.
    ax.legend(
        frameon=False,
        ncols=min(6, max(1, len(markets))),
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        borderaxespad=0.2,
    )
    return fig


@_styled
def histogram(rows: Sequence[tuple[int, int]], xlabel: str) -> Figure:
    """Bars: how many albums have each value (runs on the list)."""
    fig, ax = _figure()
    bars = ax.bar([str(v) for v, _ in rows], [n for _, n in rows], color=PALETTE["album"])
    ax.bar_label(bars, padding=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("albums")
    _whole(ax.yaxis)
    return fig
