"""The report renders in a real browser: headless Chromium paints every chart and its names."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from async_spotify_etl.analytics.report import build_report

from .conftest import MakePull
from .test_report import CHARTS, MANIFEST, NAMES

CHROMIUM = next(
    (found for name in ("/usr/bin/chromium", "chromium") if (found := shutil.which(name))), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium)",
)
# Offline and quiet: no sandbox (tests may run as root), no first-run or background traffic.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def _chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def _pixels_like(image: Image.Image, rgb: tuple[int, int, int]) -> int:
    """How many pixels are within a small distance of ``rgb``."""
    return sum(
        n
        for n, colour in image.getcolors(maxcolors=1 << 24) or []
        if sum(abs(a - b) for a, b in zip(colour[:3], rgb, strict=True)) <= 12
    )


def test_chromium_renders_every_chart(make_pull: MakePull, tmp_path: Path) -> None:
    pull = make_pull(n_albums=24, manifest=MANIFEST)
    url = build_report(pull.out_dir).as_uri()

    dom = _chromium(tmp_path, "--dump-dom", url)
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", url)

    # The browser parsed one SVG element per chart (the page builds no DOM by script).
    for key in CHARTS:
        card = dom.split(f'data-chart="{key}"', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in card, f"{key} has no SVG in the browser's DOM"
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    # Bars in the album green and explicit red were painted, not just text.
    assert _pixels_like(image, (0x1D, 0xB9, 0x54)) > 20_000
    assert _pixels_like(image, (0xD7, 0x26, 0x3D)) > 2_000


def _hangul_fonts() -> list[str]:
    """The fonts fontconfig has for 무 (U+BB34), as the browser would find them."""
    if shutil.which("fc-list") is None:
        return []
    listed = subprocess.run(
        ["fc-list", ":charset=bb34", "family"], capture_output=True, text=True, check=False
    )
    return listed.stdout.split()


def test_chromium_draws_non_latin_names_with_a_font_that_has_them(
    make_pull: MakePull, tmp_path: Path
) -> None:
    if not _hangul_fonts():
        pytest.skip("no font with Hangul is installed (Debian: apt-get install fonts-wqy-microhei)")
    pull = make_pull(n_albums=24, artist_names=NAMES)
    pdf = tmp_path / "report.pdf"

    url = build_report(pull.out_dir).as_uri()
    _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", url)

    # The PDF embeds a subset of each font the browser drew text with: the names reached
    # it as text and it took their Hangul, kana and Han from a font beyond DejaVu's.
    fonts = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([\w-]+)", pdf.read_bytes()))
    assert b"DejaVuSans" in fonts
    assert [f for f in fonts if not f.startswith(b"DejaVu")], fonts


async def test_chromium_renders_the_genre_and_artist_charts(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    from .test_report import ARTIST_CHARTS
    from .test_report_artists import sandbox_pull

    out = tmp_path / "pull"
    await sandbox_pull(sandbox_factory, out)
    url = build_report(out).as_uri()

    dom = _chromium(tmp_path, "--dump-dom", url)
    for key in ARTIST_CHARTS:
        card = dom.split(f'data-chart="{key}"', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in card, f"{key} has no SVG in the browser's DOM"
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", url)
    image = Image.open(shot).convert("RGB")
    assert _pixels_like(image, (0x1D, 0xB9, 0x54)) > 40_000  # the genre and artist bars too
