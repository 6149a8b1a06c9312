"""The sandbox catalogue looks like Spotify's: the sizes, shapes and quirks a pull must meet."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

import orjson
import pytest

from async_spotify_etl.sandbox import SandboxConfig
from async_spotify_etl.sandbox.objects import COMPILATION_EVERY, render_album

ALBUMS = 600
BASE = "http://127.0.0.1:1/v1"
_DATE = {"day": r"\d{4}-\d\d-\d\d", "month": r"\d{4}-\d\d", "year": r"\d{4}"}


def _catalogue(
    access: Literal["extended", "development"] = "extended",
) -> list[tuple[str, dict[str, Any], list[Any]]]:
    """(kind, full album object, track objects) for the first ALBUMS albums of seed 5."""
    config = SandboxConfig(seed=5, access=access)
    albums = []
    for index in range(ALBUMS):
        rendered = render_album(config, BASE, index)
        full = orjson.loads(rendered.full_prefix + b"null}")
        albums.append((rendered.shape.kind, full, [orjson.loads(t) for t in rendered.tracks]))
    return albums


@pytest.fixture(scope="module")
def catalogue() -> list[tuple[str, dict[str, Any], list[Any]]]:
    return _catalogue()


def test_track_counts_follow_the_kind(catalogue: list[tuple[str, Any, Any]]) -> None:
    sizes: dict[str, set[int]] = {}
    for kind, album, tracks in catalogue:
        assert album["total_tracks"] == len(tracks)
        sizes.setdefault(kind, set()).add(len(tracks))
    assert sizes["single"] <= set(range(1, 5))
    assert sizes["ep"] <= set(range(4, 8))
    assert sizes["album"] <= set(range(8, 26))
    assert sizes["compilation"] <= set(range(51, 301))
    assert len(sizes["compilation"]) >= ALBUMS // COMPILATION_EVERY // 2  # sizes vary


def test_album_types_include_ep_and_upper_case(catalogue: list[tuple[str, Any, Any]]) -> None:
    types = Counter(album["album_type"] for _, album, _ in catalogue)
    assert {t.lower() for t in types} == {"album", "single", "ep", "compilation"}
    assert types["ep"] > 0
    assert any(t.isupper() for t in types)


def test_artists_names_images_and_codes_are_varied(catalogue: list[tuple[str, Any, Any]]) -> None:
    albums = [album for _, album, _ in catalogue]
    assert any(len(a["artists"]) > 1 for a in albums)
    assert any(not a["name"].isascii() for a in albums)
    widths = [[image["width"] for image in a["images"]] for a in albums]
    assert all(sorted(w) == [64, 300, 640] for w in widths)
    assert any(w != [640, 300, 64] for w in widths)
    upcs = [a["external_ids"]["upc"] for a in albums]
    assert all(re.fullmatch(r"\d{13}", code) and _gtin_valid(code) for code in upcs)
    assert any(code.startswith("0") for code in upcs)  # UPC-A as Spotify shows it
    assert any(not code.startswith("0") for code in upcs)  # EAN-13
    isrcs = [t["external_ids"]["isrc"] for _, _, tracks in catalogue for t in tracks]
    assert all(re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", code) for code in isrcs)


def _gtin_valid(code: str) -> bool:
    digits = [int(d) for d in reversed(code)]
    return sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0


def test_release_dates_match_their_precision(catalogue: list[tuple[str, Any, Any]]) -> None:
    precisions = Counter(album["release_date_precision"] for _, album, _ in catalogue)
    assert set(precisions) == {"day", "month", "year"}
    for _, album, _ in catalogue:
        assert re.fullmatch(_DATE[album["release_date_precision"]], album["release_date"])


def test_development_mode_drops_what_spotify_removed() -> None:
    for _, album, tracks in _catalogue("development")[:60]:
        assert not {"label", "popularity", "available_markets", "album_group"} & album.keys()
        assert "external_ids" in album  # restored in March 2026
        for track in tracks:
            assert not {"available_markets", "linked_from", "popularity"} & track.keys()
