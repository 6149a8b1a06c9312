"""Bad records from a hostile server are each reported once in errors.ndjson, never
requested, never written in part, and never reported twice across markets or resumes."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.run.pull import run_pull
from tests.pulls import manifest, read_pull

from .test_pipeline import SandboxFactory, settings_for

#: Seed 4 with 30 albums a market: two listed ids that are not base62, one in both markets.
HOSTILE = {"seed": 4, "markets": ("US", "GB"), "albums_per_market": 30, "hostile": True}


async def test_every_bad_record_is_reported_once_and_a_resume_adds_none(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = await sandbox_factory(**HOSTILE, hostile_body_bytes=300_000)
    truth, markets = sb.truth(), HOSTILE["markets"]
    hostile = truth["hostile"]
    listed = {a for m in markets for a in truth["markets"][m]}
    bad = {shown for real, shown in hostile["bad_id"].items() if real in listed}
    in_both = [a for a in hostile["bad_id"] if all(a in truth["markets"][m] for m in markets)]
    incomplete = set(hostile["track_without_id"]) & listed
    odd = set(hostile["missing_fields"]) & listed
    unreadable = (set(hostile["html"]) | set(hostile["oversized"])) & listed
    assert len(bad) == 2  # the catalogue meets every kind of bad record
    assert in_both
    assert incomplete
    assert odd
    assert unreadable

    settings = settings_for(sb, tmp_path, {"max_body_bytes": 200_000}, markets=markets)
    result = await run_pull(settings, sb.credentials)

    pull = read_pull(tmp_path)
    album_errors = [e for e in pull["errors"] if e["stage"] != "artists"]
    by_id = {e["album_id"]: e for e in album_errors}
    assert len(album_errors) == len(by_id)  # one line each, the id in two markets too
    gone = {e["artist_id"] for e in pull["errors"] if e["stage"] == "artists"}
    assert gone
    assert gone <= set(hostile["gone_artists"])
    assert set(by_id) == bad | incomplete | unreadable
    for shown in bad:
        assert by_id[shown]["stage"] == "listing"
        assert by_id[shown]["error"] == "InvalidIdError"
        assert by_id[shown]["status"] is None
    for album_id in incomplete:  # its first track has no id: failed, not written in part
        assert by_id[album_id]["stage"] == "album-tracks"
        assert by_id[album_id]["error"] == "UnreadableItemsError"
        assert f"1 of {len(truth['albums'][album_id])} track items" in by_id[album_id]["message"]
    written = {a["id"] for a in pull["albums"]}
    assert written == listed - set(hostile["bad_id"]) - incomplete - unreadable
    assert not {t["album_id"] for t in pull["tracks"]} & set(by_id)
    for album in pull["albums"]:  # odd but valid: written whole, without the absent fields
        if album["id"] in odd:
            assert "name" not in album
            tracks = [t["id"] for t in pull["tracks"] if t["album_id"] == album["id"]]
            assert tracks == truth["albums"][album["id"]]
    made = manifest(tmp_path)
    assert made["skipped_items"] == 2  # the null first item of each market's listing
    assert made["counts"]["failed"] == len(by_id)
    assert result.exit_code == 1
    skipped = [r.getMessage() for r in caplog.records if "null or had no id" in r.getMessage()]
    assert sorted(skipped) == [
        f"new-releases {m}: skipped 1 listed items that were null or had no id"
        for m in sorted(markets)
    ]

    # A resume of a pull that stopped after its listing (a complete one is left alone) lists
    # again and meets the same bad ids: they are done, not reported twice.
    path = tmp_path / "manifest.json"
    path.write_bytes(orjson.dumps({**made, "status": "interrupted"}))
    resumed = await run_pull(
        settings_for(sb, tmp_path, markets=markets, resume=True), sb.credentials
    )
    assert read_pull(tmp_path)["errors"] == pull["errors"]
    again = manifest(tmp_path)
    assert again["runs"][-1]["requests"]["new-releases"] >= len(markets)  # it listed again
    assert again["this_run"]["failed"] == again["this_run"]["artists_failed"] == 0
    assert resumed.exit_code == 1  # the pull as a whole still has failed albums


async def test_a_listing_id_that_is_not_a_spotify_id_is_reported_safely(
    sandbox_factory: SandboxFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Development mode (search, then Get Album each): bad ids reach no path and are
    reported as the string the server sent, however it is spelled."""
    caplog.set_level(logging.DEBUG, logger="async_spotify_etl")
    sb = await sandbox_factory(**HOSTILE, access="development", hostile_body_bytes=300_000)
    truth = sb.truth()
    shown = {s for real, s in truth["hostile"]["bad_id"].items() if real in truth["search_new"]}
    settings = settings_for(sb, tmp_path, {"max_body_bytes": 200_000}, markets=HOSTILE["markets"])
    await run_pull(settings, sb.credentials)
    listing = [e for e in read_pull(tmp_path)["errors"] if e["stage"] == "listing"]
    assert sorted(e["album_id"] for e in listing) == sorted(shown)
    assert "other" not in sb.stats()["requests"]  # no request was built from a bad id
    assert manifest(tmp_path)["skipped_items"] == 2
