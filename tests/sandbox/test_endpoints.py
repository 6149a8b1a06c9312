"""The emulated endpoints: shapes, paging, validation and Spotify's 4xx answers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import Api, ApiFactory


async def test_token_from_basic_header_and_from_form(api: Api) -> None:
    status, body = await api.fetch_token()
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    creds = api.sandbox.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    status, other = await api.fetch_token(form, Accept="application/json")
    assert status == 200
    assert other["access_token"] != body["access_token"]
    assert api.sandbox.stats()["tokens_issued"] == 2


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
            "invalid_client",
            "Invalid client",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "sandbox-client-id",
                "client_secret": "wrong",
            },
            "invalid_client",
            "Invalid client secret",
        ),
        ({"grant_type": "client_credentials"}, "invalid_client", "Invalid client"),
        (
            {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"},
            "unsupported_grant_type",
            "grant_type parameter is missing",
        ),
        (
            {
                "grant_type": "password",
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
            },
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ),
    ],
)
async def test_token_errors_use_rfc6749_shape(
    api: Api, form: dict[str, str], error: str, description: str
) -> None:
    status, body = await api.fetch_token(form)
    assert status == 400
    assert body == {"error": error, "error_description": description}


async def test_token_rejects_a_malformed_basic_header(api: Api) -> None:
    status, body = await api.fetch_token(None, Authorization="Basic not-base64!!")
    assert (status, body["error"]) == (400, "invalid_client")


async def test_new_releases_pages_with_absolute_links_that_keep_the_query(api: Api) -> None:
    status, body = await api.get("/browse/new-releases", {"country": "GB", "limit": 30})
    assert status == 200
    page = body["albums"]
    assert (page["total"], page["limit"], page["offset"], page["previous"]) == (100, 30, 0, None)
    assert len(page["items"]) == 30
    link = urlsplit(page["next"])
    assert f"{link.scheme}://{link.netloc}/v1" == api.sandbox.api_url
    assert parse_qs(link.query) == {"offset": ["30"], "limit": ["30"], "country": ["GB"]}
    ids = [a["id"] for a in page["items"]]
    url: str | None = page["next"]
    while url:
        status, body = await api.get(url)
        assert status == 200
        ids += [a["id"] for a in body["albums"]["items"]]
        last, url = body["albums"], body["albums"]["next"]
    assert last["offset"] == 90
    assert parse_qs(urlsplit(last["previous"]).query)["offset"] == ["60"]
    assert ids == api.sandbox.truth()["markets"]["GB"]
    assert len(set(ids)) == 100


async def test_market_lists_differ_but_overlap(api: Api) -> None:
    truth = api.sandbox.truth()["markets"]
    us, gb = set(truth["US"]), set(truth["GB"])
    assert us != gb
    assert us & gb


@pytest.mark.parametrize("limit", [0, 51, -1, "x"])
async def test_new_releases_rejects_a_bad_limit(api: Api, limit: object) -> None:
    status, body = await api.get("/browse/new-releases", {"limit": limit})
    assert (status, body) == (400, {"error": {"status": 400, "message": "Invalid limit"}})


async def test_new_releases_total_scales_with_albums_per_market(api_factory: ApiFactory) -> None:
    api = await api_factory(albums_per_market=5000, markets=("US", "GB", "DE"))
    status, body = await api.get("/browse/new-releases", {"country": "DE", "offset": 4990})
    assert status == 200
    assert body["albums"]["total"] == 5000
    assert len(body["albums"]["items"]) == 10
    assert body["albums"]["next"] is None


async def test_new_releases_for_an_unserved_market_is_empty(api: Api) -> None:
    status, body = await api.get("/browse/new-releases", {"country": "ZA"})
    assert status == 200
    assert (body["albums"]["total"], body["albums"]["items"]) == (0, [])


async def test_several_albums_in_order_with_null_for_unknown(api: Api) -> None:
    truth = api.sandbox.truth()
    known = truth["markets"]["US"][:3]
    unknown = "0" * 22
    status, body = await api.get("/albums", {"ids": ",".join([known[0], unknown, *known[1:]])})
    assert status == 200
    albums = body["albums"]
    assert albums[1] is None
    assert [a["id"] for a in (albums[0], albums[2], albums[3])] == known
    for album in (albums[0], albums[2]):
        tracks = album["tracks"]
        assert tracks["limit"] == 50
        assert [t["id"] for t in tracks["items"]] == truth["albums"][album["id"]][:50]
        assert tracks["total"] == album["total_tracks"]


async def test_several_albums_rejects_too_many_and_malformed_ids(api: Api) -> None:
    ids = api.sandbox.truth()["markets"]["US"][:21]
    status, body = await api.get("/albums", {"ids": ",".join(ids)})
    assert status == 400
    status, body = await api.get("/albums", {"ids": ",".join([*ids[:2], "not-an-id"])})
    assert (status, body["error"]["message"]) == (400, "Invalid base62 id")


async def test_album_embeds_first_50_tracks_and_links_the_rest(api: Api) -> None:
    truth = api.sandbox.truth()["albums"]
    album_id = next(a for a, tracks in truth.items() if len(tracks) > 50)
    status, body = await api.get(f"/albums/{album_id}", {"market": "US"})
    assert status == 200
    tracks = body["tracks"]
    assert len(tracks["items"]) == 50
    assert parse_qs(urlsplit(tracks["next"]).query) == {
        "offset": ["50"],
        "limit": ["50"],
        "market": ["US"],
    }
    status, rest = await api.get(tracks["next"])
    assert status == 200
    assert [t["id"] for t in tracks["items"] + rest["items"]] == truth[album_id][:100]


async def test_album_tracks_pages_and_validates(api: Api) -> None:
    truth = api.sandbox.truth()["albums"]
    album_id = next(a for a, tracks in truth.items() if len(tracks) > 10)
    status, body = await api.get(f"/albums/{album_id}/tracks", {"limit": 7, "offset": 3})
    assert status == 200
    assert [t["id"] for t in body["items"]] == truth[album_id][3:10]
    assert body["total"] == len(truth[album_id])
    status, body = await api.get(f"/albums/{album_id}/tracks", {"limit": 51})
    assert (status, body["error"]["message"]) == (400, "Invalid limit")
    status, body = await api.get(f"/albums/{album_id}/tracks", {"market": "usa"})
    assert status == 400


async def test_unknown_album_is_404_and_malformed_is_400(api: Api) -> None:
    for path in ("/albums/{}", "/albums/{}/tracks"):
        status, body = await api.get(path.format("0" * 22))
        assert (status, body) == (404, {"error": {"status": 404, "message": "non existing id"}})
        status, body = await api.get(path.format("0" * 21 + "!"))
        assert (status, body["error"]["message"]) == (400, "Invalid base62 id")


async def test_search_tag_new_pages_recent_albums(api: Api) -> None:
    truth = api.sandbox.truth()
    found: list[str] = []
    url: str | None = "/search"
    params: dict[str, object] | None = {"q": "tag:new", "type": "album", "limit": 50}
    while url:
        status, body = await api.get(url, params)
        assert status == 200
        found += [a["id"] for a in body["albums"]["items"]]
        url, params = body["albums"]["next"], None
    assert found == truth["search_new"]
    assert found
    assert set(found) <= set(truth["albums"])
    status, body = await api.get("/search", {"q": "tag:new", "type": "album", "offset": 1001})
    assert (status, body["error"]["message"]) == (400, "Invalid offset")
    status, body = await api.get("/search", {"q": "blue", "type": "album"})
    assert (status, body["albums"]["total"]) == (200, 0)


async def test_trailing_slash_is_the_same_resource(api: Api) -> None:
    album_id = api.sandbox.truth()["markets"]["US"][0]
    for path in ("/browse/new-releases", f"/albums/{album_id}", f"/albums/{album_id}/tracks"):
        plain = await api.get(path)
        slashed = await api.get(path + "/")
        assert plain[0] == 200
        assert slashed == plain
    status, _ = await api.get("/browse/nothing-here/")
    assert status == 404


async def test_catalogue_is_deterministic_per_seed(api_factory: ApiFactory) -> None:
    a, b, c = await api_factory(seed=7), await api_factory(seed=7), await api_factory(seed=8)
    assert a.sandbox.truth() == b.sandbox.truth()
    assert a.sandbox.truth() != c.sandbox.truth()
    album_id = a.sandbox.truth()["markets"]["US"][0]
    body_a = (await a.get(f"/albums/{album_id}"))[1]
    body_b = (await b.get(f"/albums/{album_id}"))[1]
    assert body_a["name"] == body_b["name"]
    assert body_a["tracks"]["items"][0]["name"] == body_b["tracks"]["items"][0]["name"]
