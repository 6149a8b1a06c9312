"""The report page: inline CSS, inline SVG charts and the run's manifest, in one HTML string.

Everything the page shows is inside the file (no scripts, fonts, images or styles from
elsewhere), so it opens offline and can be mailed or archived as is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import orjson

from .._version import __version__
from ..output.manifest import Manifest
from .schema import LoadResult


@dataclass(frozen=True)
class Chart:
    """One card of the page: ``svg`` is None when the chart does not apply to this pull."""

    key: str
    title: str
    caption: str
    svg: str | None


@dataclass(frozen=True)
class ReportData:
    """What the page shows: the load's counts, the charts, the manifest (if readable)."""

    out_dir: Path
    load: LoadResult
    markets: list[str]
    charts: list[Chart]
    manifest: Manifest | None
    manifest_problem: str | None
    #: What ``out_dir`` holds, as the header names it ("Pull", "Dataset of 3 runs").
    source: str = "Pull"
    #: Artists fetched (the manifest's count of artists), beside those only credited.
    artists_fetched: int = 0


_CSS = """
:root { color-scheme: light; --ink: #191414; --muted: #6a6a6a; --line: #e3e3e3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #f6f6f4; }
header { padding: 28px 40px 20px; background: #191414; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: #b3b3b3; }
header code { color: #fff; }
.badge { display: inline-block; margin-left: 8px; padding: 1px 8px; border-radius: 10px;
  background: #f59b23; color: #191414; font-size: 12px; font-weight: 600; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 18px; }
.kpi { min-width: 120px; padding: 10px 16px; border-radius: 8px; background: #282828; }
.kpi b { display: block; font-size: 22px; color: #1db954; }
.kpi span { color: #b3b3b3; font-size: 13px; }
main { padding: 24px 40px 40px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));
  gap: 20px; align-items: start; }
figure.card, section.run { margin: 0; padding: 16px 20px; background: #fff;
  border: 1px solid var(--line); border-radius: 10px; }
figure.card h2, section.run h2 { margin: 0 0 8px; font-size: 17px; }
figure.card svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption, .note { color: var(--muted); font-size: 13px; }
section.run { margin-top: 20px; }
.run-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
  gap: 8px 28px; }
td:first-child { white-space: nowrap; }
td { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
h3 { margin: 14px 0 6px; font-size: 14px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
pre { overflow: auto; max-height: 420px; padding: 12px; background: #f6f6f4; font-size: 12px; }
footer { padding: 0 40px 30px; color: var(--muted); font-size: 12px; }
"""


def render_page(data: ReportData, *, generated_at: dt.datetime) -> str:
    """The whole report as one HTML document."""
    title = f"New releases: {data.out_dir.name or data.out_dir}"
    cards = "\n".join(_card(chart) for chart in data.charts)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
{_header(data, generated_at)}
<main>
<section class="charts">
{cards}
</section>
{_run_section(data.manifest, data.manifest_problem)}
</main>
<footer>async-spotify-etl {escape(__version__)} · generated {generated_at:%Y-%m-%d %H:%M} UTC
 · charts drawn with matplotlib</footer>
</body>
</html>
"""


def _header(data: ReportData, generated_at: dt.datetime) -> str:
    """The title and the key figures: the committed records' counts, those the run section's
    manifest counts too (artists are the fetched ones, as its ``artists`` count)."""
    counts, markets = data.load.counts, data.markets
    credited = f" · {counts['artists']:,} credited" if counts["artists"] else ""
    kpis = [
        (counts["albums"], "albums"),
        (counts["tracks"], "tracks"),
        (data.artists_fetched, "artists fetched" + credited),
        (len(markets), "markets: " + (", ".join(markets[:8]) or "none")),
        (counts["errors"], "albums failed"),
    ]
    tiles = "".join(
        f'<div class="kpi"><b>{n:,}</b><span>{escape(label)}</span></div>' for n, label in kpis
    )
    badge = '<span class="badge">committed records only: pull running or interrupted</span>'
    badge *= data.load.in_progress
    return (
        f"<header><h1>New releases report{badge}</h1>"
        f"<p>{escape(data.source)} in <code>{escape(str(data.out_dir))}</code> · report generated"
        f' {generated_at:%Y-%m-%d %H:%M} UTC</p><div class="kpis">{tiles}</div></header>'
    )


def _card(chart: Chart) -> str:
    body = chart.svg if chart.svg is not None else ""
    return (
        f'<figure class="card" id="chart-{escape(chart.key)}" data-chart="{escape(chart.key)}">'
        f"<h2>{escape(chart.title)}</h2>{body}"
        f"<figcaption>{escape(chart.caption)}</figcaption></figure>"
    )


#: An error longer than this is cut in the facts table (the full text is in the manifest).
ERROR_SHOWN = 240


def _run_section(manifest: Manifest | None, problem: str | None) -> str:
    if manifest is None:
        note = escape(problem or "")
        return f'<section class="run"><h2>Run</h2><p class="note">{note}</p></section>'
    facts = _facts(manifest)
    facts += [(f"Count: {k}", _fact(v)) for k, v in manifest.counts.items()]
    plan_rows = [(str(k), _fact(v)) for k, v in manifest.plan.items() if v not in ({}, [])]
    full = orjson.dumps(manifest.to_dict(), option=orjson.OPT_INDENT_2).decode()
    return (
        '<section class="run" id="run"><h2>Run (manifest.json)</h2><div class="run-grid">'
        f"<div><h3>Facts</h3>{_table(('', ''), facts)}</div>"
        f"<div><h3>Requests by endpoint</h3>{_requests(manifest)}</div>"
        f"<div><h3>Plan</h3>{_table(('', ''), plan_rows)}</div>"
        f"<div><h3>Listings reached</h3>{_reach(manifest)}</div></div>"
        f"<details><summary>Full manifest.json</summary><pre>{escape(full)}</pre></details>"
        "</section>"
    )


def _facts(m: Manifest) -> list[tuple[str, str]]:
    """The manifest's headline figures as (label, text), those it does not record left out."""
    error = m.error or ""
    if len(error) > ERROR_SHOWN:
        error = error[: ERROR_SHOWN - 1].rstrip() + "… (the whole error: manifest.json below)"
    facts = [
        ("Status", m.status),
        ("Started", _timestamp(m.started_at) if m.started_at else ""),
        ("Finished", _timestamp(m.finished_at) if m.finished_at else ""),
        ("Duration", _duration(m)),
        ("Markets", ", ".join(m.markets)),
        ("Requests sent", f"{sum(m.requests.values()):,}"),
        ("Minimum requests", f"{sum(m.minimum_requests.values()):,}" * bool(m.minimum_requests)),
        ("429 responses", f"{m.throttled:,}"),
        ("Retries", f"{m.retries:,}"),
        ("Waited", _seconds(m.waited_seconds)),
        ("Access tokens issued", f"{m.token_refreshes:,}"),
        ("Resumed", "yes" if m.resumed else "no"),
        ("Error", error),
    ]
    return [(label, text) for label, text in facts if text]


def _duration(m: Manifest) -> str:
    """The time the pull's runs took, from ``runs``: a killed run's length is unknown (its
    manifest was last written as it started), and so is a running one's so far."""
    unfinished = m.status in ("running", "killed")
    unknown = [
        r
        for i, r in enumerate(m.runs)
        if r.duration_seconds is None or (unfinished and i == len(m.runs) - 1)
    ]
    known = sum(r.duration_seconds or 0 for r in m.runs if r not in unknown)
    if not unknown:
        return _seconds(known)
    state = "still running" if m.status == "running" else "killed"
    runs = f"{len(unknown)} run{'s' * (len(unknown) != 1)}"
    tail = f"{runs} {state}, length unknown" if len(unknown) == 1 else f"{runs} of unknown length"
    return f"{_seconds(known)} + {tail}" if known else f"unknown ({tail})"


def _seconds(value: float) -> str:
    minutes, seconds = divmod(float(value), 60.0)
    return f"{int(minutes)} min {seconds:.1f} s" if minutes else f"{seconds:.1f} s"


def _requests(manifest: Manifest) -> str:
    sent, minimum = manifest.requests, manifest.minimum_requests
    endpoints = list(dict.fromkeys([*sent, *minimum]))
    rows = [(e, _fact(sent.get(e, "")), _fact(minimum.get(e, ""))) for e in endpoints]
    if not rows:
        return '<p class="note">not recorded</p>'
    return _table(("endpoint", "sent", "minimum"), rows)


def _reach(manifest: Manifest) -> str:
    """Per market: what its listing reported and what paging reached (search stops at
    1,000 whatever its total says); a market that could not be listed in full is said so."""
    reach = manifest.reach if isinstance(manifest.reach, Mapping) else {}
    rows = [
        (str(m), str(r.get("source", "")), _fact(r.get("total")), _fact(r.get("reached")))
        for m, r in reach.items()
        if isinstance(r, Mapping)
    ]
    short = [
        m
        for m, r in reach.items()
        if isinstance(r, Mapping)
        and isinstance(r.get("total"), int)
        and isinstance(r.get("reached"), int)
        and r["total"] > r["reached"]
    ]
    note = (
        f'<p class="note">not every album could be listed in {escape(", ".join(short))}:'
        " the API lets a query reach only part of what it reports</p>"
        if short
        else ""
    )
    return _table(("market", "source", "total", "reached"), rows) + note


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return '<p class="note">not recorded</p>'
    header = "".join(
        f'<th class="{"num" if i else ""}">{escape(h)}</th>' for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i else ""}">{escape(cell)}</td>' for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    thead = f"<thead><tr>{header}</tr></thead>" if any(head) else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _fact(value: Any) -> str:
    """A manifest value as short text: lists joined, numbers grouped, an object as its
    entries in words ("several-albums 2, album 1")."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fact(v)}" for k, v in value.items()) or "none"
    return orjson.dumps(value).decode()


def _timestamp(text: str) -> str:
    """An ISO-8601 time as ``YYYY-MM-DD HH:MM:SS UTC``; anything else as is."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"
