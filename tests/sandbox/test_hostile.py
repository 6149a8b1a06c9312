"""Hostile mode: every kind of sabotage shows up, stays put, and truth names it."""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

from async_spotify_etl.core.ids import is_spotify_id

from .conftest import Api, ApiFactory


async def _hostile(api_factory: ApiFactory) -> tuple[Api, dict[str, list[str]]]:
    api = await api_factory(hostile=True, hostile_body_bytes=64 * 1024)
    hostile = api.sandbox.truth()["hostile"]
    assert all(hostile[kind] for kind in hostile)
    return api, hostile


async def test_listings_carry_bad_ids_nulls_lies_and_foreign_links(api_factory: ApiFactory) -> None:
    api, hostile = await _hostile(api_factory)
    truth = api.sandbox.truth()
    status, body = await api.get("/browse/new-releases", {"country": "US", "limit": 50})
    assert status == 200
    page = body["albums"]
    assert page["items"][0] is None
    assert page["total"] == 125
    assert urlsplit(page["next"]).hostname == "attacker.invalid"
    shown = [a["id"] for a in page["items"][1:]]
    bad = [i for i in shown if not is_spotify_id(i)]
    assert bad
    assert set(bad) <= set(hostile["bad_id"].values())
    listed = truth["markets"]["US"][:50]
    assert [hostile["bad_id"].get(a, a) for a in listed] == shown
    status, body = await api.get("/browse/new-releases", {"country": "US", "offset": 100})
    assert (status, body["albums"]["items"]) == (200, [])


async def test_single_album_answers_html_or_oversized(api_factory: ApiFactory) -> None:
    api, hostile = await _hostile(api_factory)
    for album_id in hostile["html"][:1] + hostile["oversized"][:1]:
        for path in (f"/albums/{album_id}", f"/albums/{album_id}/tracks"):
            status, headers, raw = await api.raw(path)
            assert status == 200
            if album_id in hostile["html"]:
                assert headers["Content-Type"].startswith("text/html")
                assert raw.startswith(b"<!DOCTYPE html>")
            else:
                assert len(raw) >= 64 * 1024
                assert "padding" in orjson.loads(raw)
    ids = [hostile["html"][0], hostile["oversized"][0], hostile["lying_total"][0]]
    status, body = await api.get("/albums", {"ids": ",".join(ids)})
    assert status == 200
    assert body["albums"][:2] == [None, None]
    assert body["albums"][2]["id"] == ids[2]


async def test_lying_totals_end_in_empty_pages(api_factory: ApiFactory) -> None:
    api, hostile = await _hostile(api_factory)
    album_id = hostile["lying_total"][0]
    real = api.sandbox.truth()["albums"][album_id]
    seen: list[str] = []
    url: str | None = f"/albums/{album_id}/tracks?limit=50"
    pages = 0
    while url and pages < 20:
        status, body = await api.get(url)
        assert status == 200
        assert body["total"] == len(real) + 25
        seen += [t["id"] for t in body["items"]]
        url, pages = body["next"], pages + 1
    assert url is None
    assert seen == real


async def test_missing_fields(api_factory: ApiFactory) -> None:
    api, hostile = await _hostile(api_factory)
    album_id = hostile["missing_fields"][0]
    status, album = await api.get(f"/albums/{album_id}")
    assert status == 200
    assert not {"name", "artists", "release_date"} & set(album)
    assert all("id" in t for t in album["tracks"]["items"])


async def test_track_without_id(api_factory: ApiFactory) -> None:
    api, hostile = await _hostile(api_factory)
    album_id = hostile["track_without_id"][0]
    for path in (f"/albums/{album_id}", f"/albums/{album_id}/tracks"):
        status, body = await api.get(path)
        assert status == 200
        items = body["tracks"]["items"] if "tracks" in body else body["items"]
        assert "id" not in items[0]
        assert all("id" in t for t in items[1:])


async def test_untouched_albums_match_a_friendly_sandbox(api_factory: ApiFactory) -> None:
    api, hostile = await _hostile(api_factory)
    friendly = await api_factory()
    sabotaged = {a for kind in hostile.values() for a in kind}
    albums = api.sandbox.truth()["albums"]
    album_id = next(a for a, t in albums.items() if a not in sabotaged and len(t) <= 50)
    status, mean = await api.get(f"/albums/{album_id}")
    status2, kind = await friendly.get(f"/albums/{album_id}")
    assert status == status2 == 200
    mean_text = orjson.dumps(mean).decode().replace(api.sandbox.url, "")
    assert mean_text == orjson.dumps(kind).decode().replace(friendly.sandbox.url, "")
    assert "hostile" not in friendly.sandbox.truth()


async def test_embedded_track_pages_link_to_another_host(api_factory: ApiFactory) -> None:
    api, _ = await _hostile(api_factory)
    albums = api.sandbox.truth()["albums"]
    album_id = next(a for a, tracks in albums.items() if len(tracks) > 50)
    status, album = await api.get(f"/albums/{album_id}")
    assert status == 200
    assert urlsplit(album["tracks"]["next"]).hostname == "attacker.invalid"
    assert urlsplit(album["tracks"]["href"]).hostname == "127.0.0.1"
