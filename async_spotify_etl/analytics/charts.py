"""The report's charts: matplotlib figures rendered to inline SVG from aggregated rows.

SVG keeps the report one small self-contained file that any browser shows offline. Text
stays text (``svg.fonttype: none``), so it is crisp and searchable and the browser draws
any script (Hangul, kana, Han, Arabic...) with the system's fonts: each chart names one
font stack (:data:`FONT_STACK`) on its root element, and matplotlib measures the labels
with the installed fonts of that stack. Nothing is fetched: no web fonts. No pyplot:
figures are plain objects, and settings apply only inside ``matplotlib.rc_context``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

#: Colours by album type; anything else is grey.
PALETTE = {
    "album": "#1db954",
    "single": "#2e77d0",
    "ep": "#f59b23",
    "compilation": "#af2896",
}
#: The font-family of every chart's text, as CSS: DejaVu Sans (matplotlib's own font,
#: so labels fit as measured) or look-alikes, then fonts with Han, kana and Hangul on
#: Linux, macOS and Windows; the browser takes each character from the first that has it.
FONT_STACK = (
    "DejaVu Sans",
    "Bitstream Vera Sans",
    "Verdana",
    "Arial",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
    "Noto Sans CJK SC",
    "Source Han Sans",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Hiragino Sans",
    "Apple SD Gothic Neo",
    "PingFang SC",
    "Yu Gothic",
    "Malgun Gothic",
    "Microsoft YaHei",
    "sans-serif",
)
_OTHER = "#8c8c8c"
_ACCENT = "#1db954"
_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,  # "$uicideboy$" is a name, not a formula
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e6e6e6",
    "axes.axisbelow": True,
}
_SIZE = (6.4, 3.4)
_P = ParamSpec("_P")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
# matplotlib writes the family into every text's style, always right after the font size.
_TEXT_FAMILY = re.compile(r"; font-family: [^;\"]*")
_ROOT_FONT = 'font-family="{}" overflow="visible"'.format(
    ", ".join(f if f == "sans-serif" else f"'{f}'" for f in FONT_STACK)
)


def to_svg(fig: Figure, salt: str) -> str:
    """``fig`` as an ``<svg>`` element; ``salt`` keeps element ids unique across charts."""
    buffer = io.StringIO()
    with _style({"svg.hashsalt": salt}), warnings.catch_warnings():
        # A machine without a font for some script still writes the text, measured in
        # DejaVu Sans; the browser draws it with whatever font it has for that script.
        warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    # The RDF metadata block only names the tool; inline, it is dead weight.
    svg = _METADATA.sub("", text[text.index("<svg") :], count=1)
    # One font stack on the root, inherited by every text. Overflow stays visible so a
    # label drawn wider than measured (its font was missing here) is not clipped.
    return _TEXT_FAMILY.sub("", svg.replace("<svg ", f"<svg {_ROOT_FONT} ", 1))


@functools.cache
def _measured_with() -> list[str]:
    """The fonts of :data:`FONT_STACK` that matplotlib finds here, to measure text with."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return [family for family in FONT_STACK if family in installed] or ["DejaVu Sans"]


def _style(extra: dict[RcKeyType, Any] | None = None) -> contextlib.AbstractContextManager[None]:
    return matplotlib.rc_context({**_STYLE, "font.family": _measured_with(), **(extra or {})})


def _styled(draw: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Run a chart function in the charts' style: texts take their font and flags as made."""

    @functools.wraps(draw)
    def styled(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        with _style():
            return draw(*args, **kwargs)

    return styled


def _figure(size: tuple[float, float] = _SIZE) -> tuple[Figure, Axes]:
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _whole(axis: Any) -> None:
    """Counts get integer ticks only."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _empty(ax: Axes, what: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"no {what} to show", ha="center", va="center", color=_OTHER)


@_styled
def releases_by_type(rows: Sequence[tuple[str, int]]) -> Figure:
    """Bars: albums per (normalised) album type."""
    fig, ax = _figure()
    if not rows:
        _empty(ax, "albums")
        return fig
    kinds = [kind for kind, _ in rows]
    bars = ax.bar(kinds, [n for _, n in rows], color=[PALETTE.get(k, _OTHER) for k in kinds])
    ax.bar_label(bars, padding=2)
    ax.set_ylabel("releases")
    _whole(ax.yaxis)
    return fig


@_styled
def releases_by_date(rows: Sequence[tuple[dt.date, str, int]], unit: str) -> Figure:
    """Stacked bars: albums per release day (or month), split by album type; gaps show."""
    fig, ax = _figure()
    if not rows:
        _empty(ax, "release dates")
        return fig
    periods = _periods(min(p for p, _, _ in rows), max(p for p, _, _ in rows), unit)
    kinds = sorted({kind for _, kind, _ in rows}, key=lambda k: (k not in PALETTE, k))
    counts = {(period, kind): n for period, kind, n in rows}
    x = range(len(periods))
    bottom = [0] * len(periods)
    for kind in kinds:
        heights = [counts.get((p, kind), 0) for p in periods]
        ax.bar(x, heights, 0.85, bottom=bottom, label=kind, color=PALETTE.get(kind, _OTHER))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    step = max(1, len(periods) // 10)
    fmt = "%b %d" if unit == "day" else "%b %Y"
    ax.set_xticks(x[::step], [p.strftime(fmt) for p in periods[::step]])
    ax.set_ylabel(f"releases per {unit}")
    _whole(ax.yaxis)
    ax.legend(frameon=False, ncols=len(kinds), loc="upper left")
    ax.set_ylim(top=max(bottom) * 1.18)
    fig.autofmt_xdate()
    return fig


def _periods(first: dt.date, last: dt.date, unit: str) -> list[dt.date]:
    """Every day (or first of month) from ``first`` to ``last``."""
    if unit == "day":
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    months = (last.year - first.year) * 12 + last.month - first.month
    return [
        dt.date(first.year + (first.month - 1 + n) // 12, (first.month - 1 + n) % 12 + 1, 1)
        for n in range(months + 1)
    ]


@_styled
def tracks_per_album(rows: Sequence[tuple[int, int]], cap: int) -> Figure:
    """Bars: how many albums have 1, 2, 3... tracks; ``cap`` and more share the last bar."""
    fig, ax = _figure()
    if not rows:
        _empty(ax, "albums")
        return fig
    ax.bar([n for n, _ in rows], [albums for _, albums in rows], 0.85, color=_ACCENT)
    ax.set_xlabel("tracks on the album")
    ax.set_ylabel("albums")
    _whole(ax.yaxis)
    ticks = [t for t in (1, 5, 10, 15, 20, 25) if t < cap] + [cap]
    ax.set_xticks(ticks, [str(t) for t in ticks[:-1]] + [f"{cap}+"])
    ax.set_xlim(0.3, cap + 0.7)
    return fig


@_styled
def track_lengths(rows: Sequence[tuple[float, int]], median_minutes: float | None) -> Figure:
    """Histogram of track lengths in 30-second bins (minutes on the axis), median marked."""
    fig, ax = _figure()
    if not rows:
        _empty(ax, "tracks")
        return fig
    ax.bar([start for start, _ in rows], [n for _, n in rows], 0.5, align="edge", color=_ACCENT)
    if median_minutes is not None:
        ax.axvline(median_minutes, color="#333333", linestyle="--", linewidth=1)
        ax.annotate(
            f"median {int(median_minutes)}:{round(median_minutes % 1 * 60):02d}",
            (median_minutes, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
        )
    ax.set_xlabel("minutes")
    ax.set_ylabel("tracks")
    _whole(ax.yaxis)
    return fig


@_styled
def explicit_share(rows: Sequence[tuple[str, int, int]]) -> Figure:
    """Horizontal 100 % bars: share of explicit tracks, overall and per album type."""
    fig, ax = _figure()
    if not rows:
        _empty(ax, "tracks")
        return fig
    labels = [label for label, _, _ in rows][::-1]
    shares = [explicit / total if total else 0.0 for _, explicit, total in rows][::-1]
    ax.barh(labels, [1.0] * len(labels), color="#e6e6e6")
    bars = ax.barh(labels, shares, color="#d7263d")
    ax.bar_label(bars, [f"{s:.0%}" for s in shares], padding=3)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.grid(False)
    ax.set_xlabel("explicit tracks")
    return fig


@_styled
def top_artists(rows: Sequence[tuple[str, int]]) -> Figure:
    """Horizontal bars: the artists credited on the most releases."""
    return _top(rows, "artists")


@_styled
def top_labels(rows: Sequence[tuple[str, int]]) -> Figure:
    """Horizontal bars: the labels with the most releases."""
    return _top(rows, "labels")


@_styled
def top_genres(rows: Sequence[tuple[str, int]], unit: str) -> Figure:
    """Horizontal bars: the genres of the most releases (or tracks, as ``unit`` says)."""
    return _top(rows, "genres", unit)


@_styled
def top_values(rows: Sequence[tuple[str, int]], unit: str) -> Figure:
    """Horizontal bars: the artists with the highest ``unit`` (popularity, followers)."""
    from matplotlib.ticker import EngFormatter

    fig = _top(rows, "artists", unit)
    if rows and max(n for _, n in rows) >= 100_000:  # 1.5M, not 1.5 and a "1e6" offset
        fig.axes[0].xaxis.set_major_formatter(EngFormatter(sep=""))
    return fig


def _top(rows: Sequence[tuple[str, int]], what: str, unit: str = "releases") -> Figure:
    fig, ax = _figure((6.4, max(2.0, 0.28 * len(rows) + 0.8)))
    if not rows:
        _empty(ax, what)
        return fig
    # One bar per row, placed by position: a categorical axis would draw rows with the
    # same label (two artists of one name) as one bar.
    names = [name for name, _ in rows][::-1]
    bars = ax.barh(range(len(rows)), [n for _, n in rows][::-1], color=_ACCENT)
    ax.set_yticks(range(len(rows)), names)
    ax.bar_label(bars, padding=3, fmt="{:,.0f}")
    ax.grid(False)
    ax.set_xlabel(unit)
    _whole(ax.xaxis)
    return fig


@_styled
def genre_share(
    markets: Sequence[str], genres: Sequence[str], shares: Sequence[Sequence[float]]
) -> Figure:
    """Heat map: per genre (rows) and market (columns), the share of the market's releases
    that carry the genre. Genres run down the side, so their names need no rotation and the
    figure stays as narrow as the other charts: its cell text is the charts' own size."""
    by_genre = [[row[j] for row in shares] for j in range(len(genres))]
    fig, ax = _figure((max(4.8, 0.75 * len(markets) + 3.4), max(2.4, 0.34 * len(genres) + 1.0)))
    top = max(0.01, *map(max, shares))
    image = ax.imshow(by_genre, cmap="Greens", vmin=0.0, vmax=top, aspect="auto")
    ax.set_xticks(range(len(markets)), markets)
    ax.set_yticks(range(len(genres)), genres)
    ax.xaxis.tick_top()
    ax.grid(False)
    ax.tick_params(length=0)
    if len(markets) <= 12:
        for i, row in enumerate(by_genre):
            for j, share in enumerate(row):
                ax.text(
                    j,
                    i,
                    f"{share:.0%}",
                    ha="center",
                    va="center",
                    color="white" if share > 0.6 * top else "#222222",
                )
    fig.colorbar(image, ax=ax, format="{x:.0%}", label="share of the market's releases")
    return fig


@_styled
def market_overlap(markets: Sequence[str], matrix: Sequence[Sequence[int]]) -> Figure:
    """Heat map: albums listed in both markets; colour is the share of the row's albums."""
    side = max(3.0, 0.45 * len(markets) + 1.6)
    fig, ax = _figure((side + 1.2, side))
    shares = [[n / row[i] if row[i] else 0.0 for n in row] for i, row in enumerate(matrix)]
    image = ax.imshow(shares, cmap="Greens", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(markets)), markets)
    ax.set_yticks(range(len(markets)), markets)
    ax.grid(False)
    ax.tick_params(length=0)
    if len(markets) <= 12:
        for i, row in enumerate(matrix):
            for j, n in enumerate(row):
                ax.text(
                    j,
                    i,
                    str(n),
                    ha="center",
                    va="center",
                    color="white" if shares[i][j] > 0.6 else "#222222",
                )
    fig.colorbar(image, ax=ax, format="{x:.0%}", label="share of the row market's albums")
    return fig
