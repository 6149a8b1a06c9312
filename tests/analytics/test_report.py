"""``spotify-etl report``: one offline HTML page with every chart and the run's manifest."""

from __future__ import annotations

import re
import socket
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl.analytics.charts import FONT_STACK
from async_spotify_etl.analytics.report import build_report
from async_spotify_etl.cli import main
from async_spotify_etl.core import files
from async_spotify_etl.core.errors import ConfigurationError

from .conftest import MakePull
from .fakepull import FakePull

CHARTS = (
    "releases-by-type",
    "releases-by-date",
    "tracks-per-album",
    "track-lengths",
    "explicit-share",
    "market-overlap",
    "top-artists",
    "top-labels",
)
#: Drawn from artists.ndjson: a pull without it (this file's fake pulls) says so instead.
ARTIST_CHARTS = (
    "top-genres-albums",
    "top-genres-tracks",
    "genre-share-by-market",
    "popular-artists",
    "followed-artists",
)
MANIFEST: dict[str, Any] = {
    "status": "complete",
    "plan": {"source": "new-releases", "expand": "several", "tracks_market": "GB", "probes": {}},
    "markets": ["US", "GB"],
    "counts": {"albums": 12, "tracks": 90, "failed": 1},
    "requests": {"token": 1, "new-releases": 4, "several-albums": 2, "album-tracks": 3},
    "minimum_requests": {"token": 1, "new-releases": 4, "several-albums": 1, "album-tracks": 3},
    "requests_total": 10,
    "minimum_requests_total": 9,
    "retries": 2,
    "throttled": 3,
    "waited_seconds": 4.5,
    "token_refreshes": 1,
    "duration_seconds": 72.25,
}


class _Page(HTMLParser):
    """Collects each chart card's inner text and the page's tags and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.urls: list[str] = []
        self.cards: dict[str, list[str]] = {}
        self._card: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        values = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v]
        if tag == "figure" and values.get("data-chart"):
            self._card, self._depth = values["data-chart"], 0
            self.cards[self._card] = []
        if self._card is not None and tag == "figure":
            self._depth += 1
        if self._card is not None and tag == "svg":
            self.cards[self._card].append("<svg>")

    def handle_endtag(self, tag: str) -> None:
        if self._card is not None and tag == "figure":
            self._depth -= 1
            if not self._depth:
                self._card = None

    def handle_data(self, data: str) -> None:
        if self._card is not None:
            self.cards[self._card].append(data)


def _parse(path: Path) -> tuple[str, _Page]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    return text, page


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _top_artist(pull: FakePull) -> tuple[str, int]:
    counts = Counter(a["name"] for album in pull.albums.values() for a in album["artists"])
    return counts.most_common(1)[0]


def test_report_is_self_contained_with_every_chart_drawn_from_the_pull(
    make_pull: MakePull, no_network: None
) -> None:
    pull = make_pull(n_albums=24, manifest=MANIFEST)

    path = build_report(pull.out_dir)

    assert path == pull.out_dir / "report.html"
    text, page = _parse(path)
    assert set(page.cards) == {*CHARTS, *ARTIST_CHARTS}
    for key in CHARTS:
        assert "<svg>" in page.cards[key], f"chart {key} has no drawing"
    for key in ARTIST_CHARTS:
        assert "<svg>" not in page.cards[key]
        assert "This pull fetched no artist" in "".join(page.cards[key])
    # Nothing is fetched when the page is viewed: no scripts, links, external URLs.
    assert not page.tags["script"] + page.tags["link"] + page.tags["img"] + page.tags["iframe"]
    assert not [u for u in page.urls if not u.startswith(("#", "data:"))]
    namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", text)  # names, never fetched
    assert not re.search(r"https?://|@import|url\((?!#)", namespaces)
    # The charts say what the data says.
    types = Counter(a["album_type"].lower() for a in pull.albums.values())
    by_type = "".join(page.cards["releases-by-type"])
    assert all(kind in by_type and str(n) in by_type for kind, n in types.items())
    name, releases = _top_artist(pull)
    top = "".join(page.cards["top-artists"])
    assert name in top
    assert str(releases) in top
    both = sum(len(set(a["_etl"]["markets"])) == 2 for a in pull.albums.values())
    assert str(both) in "".join(page.cards["market-overlap"])


def test_report_shows_counts_and_the_manifest(make_pull: MakePull) -> None:
    pull = make_pull(manifest=MANIFEST)

    text, _ = _parse(build_report(pull.out_dir))

    assert f"<b>{len(pull.albums)}</b><span>albums</span>" in text
    assert f"<b>{len(pull.tracks)}</b><span>tracks</span>" in text
    assert "committed records only" in text  # the fixture leaves an uncommitted batch
    assert '<td class="">429 responses</td><td class="num">3</td>' in text
    assert "1 min 12.2 s" in text
    assert '<td class="">several-albums</td><td class="num">2</td><td class="num">1</td>' in text
    # The plan table: fields only the plan has, with the values the pull recorded.
    assert '<td class="">tracks_market</td><td class="num">GB</td>' in text
    assert '<td class="">expand</td><td class="num">several</td>' in text


#: Artist names in the scripts the sandbox uses, and a name that looks like TeX.
NAMES = ("무지개 38", "東京 Drift", "青い 夜空", "Алиса и Море", "حلم", "$uicideboy$", "Zoë & <Co>")


def test_names_in_any_script_are_svg_text_in_a_font_stack_with_cjk_fonts(
    make_pull: MakePull,
) -> None:
    pull = make_pull(n_albums=24, artist_names=NAMES)

    text, page = _parse(build_report(pull.out_dir))

    top = page.cards["top-artists"]
    assert [n for n in NAMES if n in top] == list(NAMES)  # each name is one text node
    card = text.split('data-chart="top-artists"', 1)[1].split("</figure>", 1)[0]
    assert "무지개 38</text>" in card
    assert "Zoë &amp; &lt;Co&gt;</text>" in card
    # The browser picks the font: every chart names the same stack on its root element,
    # with fonts that have Hangul and Han, and no text overrides it or is drawn as paths.
    stacks = re.findall(r'<svg font-family="([^"]*)"', text)
    assert len(stacks) == len(CHARTS)
    assert set(stacks) == {", ".join(f"'{f}'" for f in FONT_STACK[:-1]) + ", sans-serif"}
    assert {"Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo"} <= set(FONT_STACK)
    assert text.count("font-family") == len(CHARTS)
    assert not re.search(r'id="[\w.]+-[0-9a-f]+"', text)  # no glyphs as paths ("DejaVuSans-41")


def test_single_market_pull_without_manifest_still_reports(
    make_pull: MakePull, tmp_path: Path
) -> None:
    pull = make_pull(tail=False)
    for album in pull.albums.values():
        album["_etl"]["markets"] = ["US"]
    lines = b"".join(orjson.dumps(a) + b"\n" for a in pull.albums.values())
    (pull.out_dir / "albums.ndjson").write_bytes(lines)
    (pull.out_dir / ".journal").unlink()

    path = build_report(pull.out_dir, tmp_path / "elsewhere.html")

    text, page = _parse(path)
    assert "<svg>" not in page.cards["market-overlap"]
    assert "single-market pull (US)" in "".join(page.cards["market-overlap"])
    assert "no manifest.json" in text
    assert "committed records only" not in text


def test_a_pull_with_nothing_committed_yet_reports_empty_charts(tmp_path: Path) -> None:
    out = tmp_path / "starting"
    out.mkdir()
    (out / ".journal").write_bytes(b'{"plan": {}}\n{"albums": 120, "tra')
    (out / "albums.ndjson").write_bytes(b'{"id": "not committed"}\n')

    _, page = _parse(build_report(out))

    assert set(page.cards) == {*CHARTS, *ARTIST_CHARTS}
    assert "no albums to show" in "".join(page.cards["releases-by-type"])
    assert "no tracks to show" in "".join(page.cards["track-lengths"])


def test_cli_writes_the_report_and_prints_its_path(
    make_pull: MakePull, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pull = make_pull(compress=True)
    target = tmp_path / "r.html"

    assert main(["report", str(pull.out_dir), "--html", str(target)]) == 0

    assert capsys.readouterr().out.strip() == f"wrote {target}"
    assert target.stat().st_size > 10_000


def _refused(src: object, dst: object) -> None:
    raise OSError(5, "Input/output error")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing-dir", "does not exist"),
        ("no-albums", "no albums.ndjson"),
        ("target-parent-missing", "cannot write"),
        ("target-under-a-file", "cannot write"),
        ("target-is-dir", "is a directory"),
        ("write-fails", "cannot write"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    make_pull: MakePull,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    message: str,
) -> None:
    pull = make_pull(tail=False)
    out_dir, target = pull.out_dir, tmp_path / "report.html"
    if case == "missing-dir":
        out_dir = tmp_path / "nowhere"
    elif case == "no-albums":
        (out_dir / "albums.ndjson").unlink()
    elif case == "target-parent-missing":
        target = tmp_path / "no" / "report.html"
    elif case == "target-under-a-file":
        target = out_dir / "albums.ndjson" / "report.html"
    elif case == "target-is-dir":
        target.mkdir()
    elif case == "write-fails":
        # the temporary file is written but cannot be renamed over the target
        monkeypatch.setattr(files.os, "replace", _refused)

    with pytest.raises(ConfigurationError, match=message):
        build_report(out_dir, target)
    assert main(["report", str(out_dir), "--html", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spotify-etl: error:")
    assert err.count("\n") == 1
    assert not list(tmp_path.glob("**/.report.html.*"))
    assert not target.is_file()
