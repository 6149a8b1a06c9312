"""Scenario 6: a hostile server. Ids that are not base62, ``next`` links to another host,
200s with HTML, bodies over the cap, lying totals, missing fields and null items: the token
never leaves the configured origin, no path is built from a bad id, and the pull finishes
with every bad record in errors.ndjson, once, and every other album complete."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import orjson
import pytest

from async_spotify_etl.run.pull import run_pull
from tests.conftest import SandboxFactory

from .figures import Figures, record
from .harness import pick, pull_settings, read_lines, scan_for_secrets
from .wire import Wire

ALBUMS = pick(100, 400)
_ROUTE_WORDS = {
    "v1",
    "browse",
    "new-releases",
    "albums",
    "artists",
    "tracks",
    "search",
    "api",
    "token",
}
_BASE62 = re.compile(r"[0-9A-Za-z]{22}")


@pytest.mark.parametrize("access", ["extended", "development"])
async def test_hostile_answers_never_leak_the_token_nor_reach_a_bad_path(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    access: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="async_spotify_etl")
    sb = await sandbox_factory(
        seed=3,
        markets=("US", "GB"),
        albums_per_market=ALBUMS,
        access=access,
        hostile=True,
        hostile_body_bytes=1_200_000,
        client_secret="chaos-hostile-secret",
    )
    settings = pull_settings(
        sb,
        tmp_path,
        client={"max_body_bytes": 1_000_000, "backoff_base": 0.01, "backoff_cap": 0.05},
    )
    wire = Wire()
    try:
        async with wire.client(sb.credentials, settings.client) as client:
            result = await run_pull(settings, sb.credentials, client=client)
    finally:
        await wire.aclose()
    truth = sb.truth()
    hostile = truth["hostile"]

    # The token goes only to the configured origin; nothing else is ever contacted.
    origin = sb.url
    assert wire.sent
    assert all(s.url.startswith(origin + "/") for s in wire.sent)
    bearers = [s for s in wire.sent if "Authorization" in s.headers]
    assert all(s.url.startswith(sb.api_url + "/") for s in bearers if "Bearer" in str(s.headers))
    # Every path segment is a route word or a 22-character base62 id.
    for sent in wire.sent:
        for segment in unquote(urlsplit(sent.url).path).split("/")[1:]:
            assert segment in _ROUTE_WORDS or _BASE62.fullmatch(segment), sent.url
    served = sb.stats()["requests"]
    assert "other" not in served
    assert not any("400" in by_status for by_status in served.values())

    listed = (
        {a for m in sb.config.markets for a in truth["markets"][m]}
        if access == "extended"
        else set(truth["search_new"])
    )
    # Unreadable: HTML or oversized answers, or a track served without an id (the album
    # fails rather than being written without it). Missing optional fields are no failure.
    broken = set(hostile["html"]) | set(hostile["oversized"]) | set(hostile["track_without_id"])
    unreadable = broken & listed
    incomplete = set(hostile["track_without_id"]) & listed
    bad = {real: shown for real, shown in hostile["bad_id"].items() if real in listed}
    every_error = [orjson.loads(line) for line in read_lines(tmp_path, "errors")]
    errors = [e for e in every_error if e["stage"] != "artists"]
    failed = {e["album_id"] for e in errors}
    # gone artists fail at stage "artists", one line each, and fail no album
    gone = [e["artist_id"] for e in every_error if e["stage"] == "artists"]
    assert bool(gone) == (access == "extended")  # development mode skips artists
    assert len(gone) == len(set(gone))
    assert set(gone) <= set(hostile["gone_artists"])
    assert bad  # the scenario met bad ids
    assert unreadable
    # Every bad record is reported, once, and nothing else: a listed id that is not base62
    # at stage "listing" (never requested), the others where they failed.
    assert failed == unreadable | set(bad.values())
    assert len(errors) == len(failed)
    assert {e["stage"] for e in errors if e["album_id"] in set(bad.values())} == {"listing"}
    # The null first item of each market's listing carries nothing to report: counted.
    assert result.manifest.skipped_items == len(sb.config.markets)

    albums = {a["id"]: a for a in map(orjson.loads, read_lines(tmp_path, "albums"))}
    good = listed - unreadable - set(bad)
    assert set(albums) == good
    tracks: dict[str, list[str]] = {}
    for track in map(orjson.loads, read_lines(tmp_path, "tracks")):
        tracks.setdefault(track["album_id"], []).append(track["id"])
    for album_id in good:  # lying totals add no track
        assert tracks.get(album_id, []) == list(truth["albums"][album_id]), album_id
    assert set(tracks) <= good  # no failed album is written in part
    odd = set(hostile["missing_fields"]) & good
    assert odd
    assert all("name" not in albums[a] for a in odd)  # written as served, nothing invented
    assert result.exit_code == 1
    record(
        Figures(
            f"hostile server ({access})",
            expected=len(good) + sum(len(truth["albums"][a]) for a in good),
            lost=0,
            duplicates=0,
            exit_codes=[result.exit_code],
            notes=f"{len(errors)} bad records in errors.ndjson, each once:"
            f" {len(unreadable - incomplete)} HTML/oversized albums, {len(incomplete)} with"
            f" a track without an id, {len(bad)} bad ids (never requested);"
            f" {result.manifest.skipped_items} null items counted; {len(odd)} albums"
            f" missing optional fields written whole; {len(wire.sent)} requests, all on"
            " the origin",
        )
    )
    assert scan_for_secrets(sb, [caplog.text], [tmp_path]) == 0
