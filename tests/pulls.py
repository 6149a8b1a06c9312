"""Reading a pull's directory back and comparing it with the sandbox's ground truth."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from async_spotify_etl.output.layout import STREAMS
from async_spotify_etl.output.reader import read_committed


def read_pull(out: Path) -> dict[str, list[dict[str, Any]]]:
    """The committed records of every data file in ``out``."""
    return {name: list(read_committed(out, name)) for name in STREAMS}


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((out / "manifest.json").read_bytes())
    return data


def comparable(out: Path) -> dict[str, Any]:
    """The pull without its extraction times: what two equal pulls share exactly."""
    pull = read_pull(out)
    albums = []
    for album in pull["albums"]:
        etl = {k: v for k, v in album["_etl"].items() if k != "extracted_at"}
        albums.append({**album, "_etl": etl})
    by_id = lambda r: r["id"]  # noqa: E731
    result = {
        "albums": sorted(albums, key=by_id),
        "tracks": sorted(pull["tracks"], key=lambda t: (t["album_id"], t["id"])),
        "artists": sorted(
            ({k: v for k, v in a.items() if k != "_etl"} for a in pull["artists"]), key=by_id
        ),
        "errors": sorted(e.get("album_id") or e["artist_id"] for e in pull["errors"]),
    }
    # Sandboxes on different ports serve the same catalogue under different hrefs.
    data = re.sub(rb"http://127\.0\.0\.1:\d+", b"http://sandbox", orjson.dumps(result))
    same: dict[str, Any] = orjson.loads(data)
    return same


def assert_matches_truth(
    out: Path, truth: dict[str, Any], markets: tuple[str, ...], access: str
) -> None:
    """Every album of the sandbox's listing once, with exact markets and every track in order."""
    pull = read_pull(out)
    albums, tracks = pull["albums"], pull["tracks"]
    ids = [a["id"] for a in albums]
    assert len(ids) == len(set(ids)), "duplicate album lines"
    if access == "extended":
        expected = {a for m in markets for a in truth["markets"][m]}
    else:
        expected = set(truth["search_new"])
    assert set(ids) == expected
    for album in albums:
        listed_in = [m for m in markets if album["id"] in truth["markets"][m]]
        if access == "development":  # search tag:new answers alike in every market
            listed_in = list(markets)
        assert album["_etl"]["markets"] == listed_in
        assert "tracks" not in album
    by_album: dict[str, list[str]] = {}
    for track in tracks:
        by_album.setdefault(track["album_id"], []).append(track["id"])
    assert by_album == {a: truth["albums"][a] for a in expected if truth["albums"][a]}
    assert not [t for t, n in Counter(t["id"] for t in tracks).items() if n > 1]
    assert pull["errors"] == []
    assert_artists_match_truth(out, truth, expected, access)


def assert_artists_match_truth(
    out: Path, truth: dict[str, Any], album_ids: set[str], access: str
) -> None:
    """Every artist credited on these albums or their tracks once, as the sandbox knows it,
    when the pull fetched artists; none when it did not."""
    artists = list(read_committed(out, "artists"))
    if manifest(out)["plan"]["artists"] == "off":
        assert artists == []
        return
    ids = [a["id"] for a in artists]
    assert len(ids) == len(set(ids)), "duplicate artist lines"
    assert set(ids) == {a for album in album_ids for a in truth["credits"][album]}
    for artist in artists:
        facts = truth["artists"][artist["id"]]
        assert (artist["name"], artist["genres"]) == (facts["name"], facts["genres"])
        if access == "extended":
            assert artist["popularity"] == facts["popularity"]
            assert artist["followers"]["total"] == facts["followers"]
        else:
            assert "popularity" not in artist
            assert "followers" not in artist
        assert artist["_etl"]["endpoint"] in ("several-artists", "artist")
