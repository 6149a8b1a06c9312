"""The report renders in a real browser: headless Chromium paints every chart."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from async_spotify_etl.report import build_report

from .conftest import MakePull
from .test_report import CHARTS, MANIFEST

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
