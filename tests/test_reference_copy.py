"""The tests' copies of the reference data (``tests/spotify``, ``tests/deezer``,
``tests/musicbrainz``) match the originals.

The contract and parsing tests read the copy, so they run in any checkout; this test
fails when the workplace's ``shared/spotify`` beside the repository changes and the copy
was not updated with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

COPY = Path(__file__).resolve().parent / "spotify"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "spotify"
SPEC = "spotify-web-api-openapi.yml"


def _examples(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (folder / "examples").glob("*.json")}


def test_the_copy_holds_the_spec_and_the_examples() -> None:
    assert (COPY / SPEC).read_text(encoding="utf-8").startswith("openapi: 3.0.3")
    needed = {
        "new-releases.200.json",
        "several-albums.200.json",
        "album-tracks.200.json",
        "several-artists.200.json",
    }
    assert needed <= _examples(COPY).keys()


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared reference data at {SHARED}")
def test_the_copy_equals_the_shared_originals() -> None:
    assert (COPY / SPEC).read_bytes() == (SHARED / SPEC).read_bytes()
    assert _examples(COPY) == _examples(SHARED)


OTHER_APIS = ("deezer", "musicbrainz")


@pytest.mark.parametrize("api", OTHER_APIS)
def test_the_copy_holds_the_other_apis_examples(api: str) -> None:
    copy = Path(__file__).resolve().parent / api
    assert "README.md" in {p.name for p in (copy / "examples").iterdir()}
    assert len(_examples(copy)) >= 15


@pytest.mark.parametrize("api", OTHER_APIS)
def test_the_other_apis_copies_equal_the_shared_originals(api: str) -> None:
    shared = SHARED.parent / api
    if not shared.is_dir():
        pytest.skip(f"no shared reference data at {shared}")
    copy = Path(__file__).resolve().parent / api
    assert _examples(copy) == _examples(shared)
    readme = "examples/README.md"
    assert (copy / readme).read_bytes() == (shared / readme).read_bytes()
