"""The sandbox's answers validated against Spotify's OpenAPI spec, in both access modes.

The spec (``tests/spotify/spotify-web-api-openapi.yml``, a copy of the workplace's
``shared/spotify``, 2026.5.31) is loaded once.
Only deviations that real Spotify responses are documented to have are allowed
(``../shared/spotify/FACTS.md``), each patched into a copy of the spec below:

1. ``album_type`` "ep" and upper-case values (FACTS 2: real captures and client bug reports).
2. ``reason: "QUOTA_EXCEEDED"`` in the 429 error object (FACTS 6: July 2026 changelog,
   which the spec predates); the error object is otherwise closed to extra keys here.
3. Development mode: the fields Spotify removed in February 2026 and the spec merely marks
   ``deprecated`` may be absent (FACTS 7); the spec requires no Artist field at all, so
   the artist walk below checks that those two are indeed absent.
4. ``null`` in several-albums and several-artists for an unknown id (FACTS 4: multi-get
   semantics).
5. 400 and 404 on these operations use the spec's own ``BadRequest``/``NotFound``
   responses, and 5xx its error object (FACTS 3 and 6: statuses Spotify documents).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import orjson
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from .conftest import Api, ApiFactory

REFERENCE = Path(__file__).resolve().parents[1] / "spotify"
SPEC = REFERENCE / "spotify-web-api-openapi.yml"
EXAMPLES = REFERENCE / "examples"

_OPERATIONS = (
    "/browse/new-releases",
    "/albums",
    "/albums/{id}",
    "/albums/{id}/tracks",
    "/search",
    "/artists",
    "/artists/{id}",
    "/artists/{id}/albums",
)
_ERROR = {"$ref": "#/components/schemas/ErrorObject"}
_ERROR_RESPONSE = {
    "description": "Server error",
    "content": {
        "application/json": {
            "schema": {"type": "object", "required": ["error"], "properties": {"error": _ERROR}}
        }
    },
}


def _deviate(raw: dict[str, Any], access: str) -> dict[str, Any]:
    """A copy of the spec with the documented deviations (see the module docstring)."""
    spec = copy.deepcopy(raw)
    schemas = spec["components"]["schemas"]
    album_type = schemas["AlbumBase"]["properties"]["album_type"]
    del album_type["enum"]
    album_type["pattern"] = "^(?i:album|single|compilation|ep)$"
    error = schemas["ErrorObject"]
    error["properties"]["reason"] = {"type": "string", "enum": ["QUOTA_EXCEEDED"]}
    error["additionalProperties"] = False
    albums = spec["components"]["responses"]["ManyAlbums"]["content"]["application/json"]
    albums["schema"]["properties"]["albums"]["items"] = {
        "anyOf": [
            {"$ref": "#/components/schemas/AlbumObject"},
            {"type": "object", "nullable": True, "enum": [None]},
        ]
    }
    artists = spec["components"]["responses"]["ManyArtists"]["content"]["application/json"]
    artists["schema"]["properties"]["artists"]["items"] = {
        "anyOf": [
            {"$ref": "#/components/schemas/ArtistObject"},
            {"type": "object", "nullable": True, "enum": [None]},
        ]
    }
    # The spec leaves ArtistObject open and requires nothing: close it to what Spotify sends.
    schemas["ArtistObject"]["additionalProperties"] = False
    schemas["ArtistObject"]["required"] = [
        "external_urls",
        "href",
        "id",
        "images",
        "name",
        "type",
        "uri",
    ]
    if access == "development":
        for name in ("AlbumBase", "AlbumObject"):
            removed = {"available_markets", "label", "popularity"}
            schemas[name]["required"] = [f for f in schemas[name]["required"] if f not in removed]
        discography = schemas["ArtistDiscographyAlbumObject"]["allOf"][1]
        del discography["required"]  # album_group, removed in February 2026 (FACTS 7)
    for path in _OPERATIONS:
        responses = spec["paths"][path]["get"]["responses"]
        responses["400"] = {"$ref": "#/components/responses/BadRequest"}
        responses["404"] = {"$ref": "#/components/responses/NotFound"}
        for status in ("500", "502", "503"):
            responses[status] = _ERROR_RESPONSE
    return spec


@pytest.fixture(scope="session")
def specs() -> dict[str, OpenAPI]:
    """The patched spec per access mode, loaded (and itself validated) once per session."""
    with SPEC.open(encoding="utf-8") as f:
        raw = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {
        access: OpenAPI.from_dict(_deviate(raw, access)) for access in ("extended", "development")
    }


async def _check(spec: OpenAPI, api: Api, url: str, expected: int | None) -> Any:
    """Fetch ``url`` from the sandbox and validate the answer (of status ``expected``,
    if given) against ``spec``."""
    status, headers, body = await api.raw(url)
    assert expected in (None, status), body[:300]
    parts = urlsplit(url if url.startswith("http") else api.sandbox.api_url + url)
    request = MockRequest(
        "https://api.spotify.com", "get", parts.path, args=dict(parse_qsl(parts.query))
    )
    response = MockResponse(body, status_code=status, content_type=headers["Content-Type"])
    spec.validate_response(request, response)
    return orjson.loads(body)


async def _walk(spec: OpenAPI, api: Api, dev: bool) -> None:
    """Every success and client-error answer of every operation, for every album."""
    truth = api.sandbox.truth()
    listed = truth["markets"]["US"]
    unknown, malformed = "0" * 22, "not-base62!"
    code = 403 if dev else 200
    await _check(spec, api, "/browse/new-releases?country=US&limit=50", code)
    await _check(spec, api, "/browse/new-releases?country=US&limit=50&offset=50", code)
    await _check(spec, api, "/browse/new-releases?limit=51", 403 if dev else 400)
    for start in range(0, len(truth["albums"]), 20):
        ids = ",".join(list(truth["albums"])[start : start + 20])
        await _check(spec, api, f"/albums?ids={ids}&market=US", code)
    await _check(spec, api, f"/albums?ids={listed[0]},{unknown}", code)
    await _check(spec, api, f"/albums?ids={listed[0]},{malformed}", 403 if dev else 400)
    await _check(spec, api, f"/albums?ids={','.join(listed[:21])}", 403 if dev else 400)
    for album_id, tracks in truth["albums"].items():
        album = await _check(spec, api, f"/albums/{album_id}?market=GB", 200)
        if len(tracks) > 50:
            await _check(spec, api, album["tracks"]["next"], 200)
    await _check(spec, api, f"/albums/{listed[1]}/tracks?limit=1&offset=0", 200)
    for path in (f"/albums/{unknown}", f"/albums/{unknown}/tracks"):
        await _check(spec, api, path, 404)
    for path in (f"/albums/{malformed}", f"/albums/{malformed}/tracks"):
        await _check(spec, api, path, 400)
    limit = 10 if dev else 50
    page = await _check(spec, api, f"/search?q=tag:new&type=album&limit={limit}", 200)
    await _check(spec, api, page["albums"]["next"], 200)
    await _check(spec, api, f"/search?q=tag:new&type=album&limit={limit + 1}", 400)
    await _check(spec, api, "/search?q=tag:new&type=album&offset=1001", 400)
    await _check(spec, api, f"/albums/{listed[0]}", 200)
    await _walk_artists(spec, api, dev)


async def _walk_artists(spec: OpenAPI, api: Api, dev: bool) -> None:
    """Several-artists (403 in development mode) and Get Artist for every credited artist."""
    truth = api.sandbox.truth()
    credited = list(truth["artists"])
    unknown, malformed = "0" * 22, "not-base62!"
    code = 403 if dev else 200
    for start in range(0, len(credited), 50):
        body = await _check(
            spec, api, f"/artists?ids={','.join(credited[start : start + 50])}", code
        )
        if not dev:
            assert [a["id"] for a in body["artists"]] == credited[start : start + 50]
    body = await _check(spec, api, f"/artists?ids={credited[0]},{unknown}", code)
    if not dev:
        assert body["artists"][1] is None
    await _check(spec, api, f"/artists?ids={credited[0]},{malformed}", 403 if dev else 400)
    await _check(spec, api, f"/artists?ids={','.join(credited[:51])}", 403 if dev else 400)
    for artist_id in credited:
        artist = await _check(spec, api, f"/artists/{artist_id}", 200)
        facts = {"name": artist["name"], "genres": artist["genres"]}
        if not dev:
            facts |= {"popularity": artist["popularity"], "followers": artist["followers"]["total"]}
        assert facts == truth["artists"][artist_id]
        assert ("popularity" in artist, "followers" in artist) == (not dev, not dev)
    await _check(spec, api, f"/artists/{unknown}", 404)
    await _check(spec, api, f"/artists/{malformed}", 400)
    await _walk_artist_albums(spec, api, dev)


async def _walk_artist_albums(spec: OpenAPI, api: Api, dev: bool) -> None:
    """Get Artist's Albums (both modes): every page of every credited artist's albums,
    each item in the groups asked for, with ``album_group`` in extended mode only."""
    truth = api.sandbox.truth()
    unknown, malformed = "0" * 22, "not-base62!"
    for artist_id in list(truth["artists"])[:40]:
        url: str | None = (
            f"/artists/{artist_id}/albums?include_groups=album,single&market=US&limit=10"
        )
        seen: list[str] = []
        while url is not None:
            page = await _check(spec, api, url, 200)
            for item in page["items"]:
                assert ("album_group" in item) is not dev
                if not dev:
                    assert item["album_group"] in ("album", "single")
                assert artist_id in [a["id"] for a in item["artists"]]  # album or single
            seen += [item["id"] for item in page["items"]]
            url = page["next"]
        assert len(seen) == len(set(seen)) == page["total"]
        everything = await _check(spec, api, f"/artists/{artist_id}/albums?limit=10", 200)
        assert everything["total"] >= len(seen)
    first = next(iter(truth["artists"]))
    await _check(spec, api, f"/artists/{first}/albums?limit=11", 400)
    await _check(spec, api, f"/artists/{first}/albums?limit=0", 400)
    await _check(spec, api, f"/artists/{first}/albums?include_groups=bogus", 400)
    await _check(spec, api, f"/artists/{first}/albums?market=usa", 400)
    await _check(spec, api, f"/artists/{first}/albums", 200)  # default limit 5
    await _check(spec, api, f"/artists/{unknown}/albums", 404)
    await _check(spec, api, f"/artists/{malformed}/albums", 400)


@pytest.mark.parametrize("access", ["extended", "development"])
async def test_every_operation_matches_the_spec(
    specs: dict[str, OpenAPI], api_factory: ApiFactory, access: str
) -> None:
    api = await api_factory(access=access, seed=21)
    await _walk(specs[access], api, dev=access == "development")
    await _check(specs[access], api, f"{api.sandbox.api_url}/search?q=tag:new&type=album", 200)
    api.token = "expired-or-unknown"
    await _check(specs[access], api, "/browse/new-releases", 401)
    await _check(specs[access], api, "/albums/" + "1" * 22, 401)


@pytest.mark.parametrize("access", ["extended", "development"])
async def test_throttling_and_server_errors_match_the_spec(
    specs: dict[str, OpenAPI], api_factory: ApiFactory, access: str
) -> None:
    spec = specs[access]
    limited = await api_factory(access=access, rate_limit=1)
    await _check(spec, limited, "/search?q=tag:new&type=album", 200)
    await _check(spec, limited, "/search?q=tag:new&type=album", 429)
    spent = await api_factory(access=access, quota=0)
    body = await _check(spec, spent, "/albums/" + "1" * 22 + "/tracks", 429)
    assert body["error"]["reason"] == "QUOTA_EXCEEDED"
    failing = await api_factory(access=access, error_rate=1.0)
    statuses = set()
    for offset in range(12):
        body = await _check(spec, failing, f"/search?q=tag:new&type=album&offset={offset}", None)
        statuses.add(body["error"]["status"])
    assert statuses == {500, 502, 503}


def test_deviations_are_needed_and_nothing_else_is_relaxed(specs: dict[str, OpenAPI]) -> None:
    """The patched spec still rejects what Spotify never sends."""
    request = MockRequest("https://api.spotify.com", "get", "/v1/albums/" + "1" * 22)
    bad_error = orjson.dumps({"error": {"status": 429, "message": "x", "reason": "OTHER"}})
    with pytest.raises(InvalidData):
        specs["extended"].validate_response(request, MockResponse(bad_error, status_code=429))
    with pytest.raises(InvalidData):
        specs["extended"].validate_response(
            request, MockResponse(orjson.dumps({"album_type": "lp"}), status_code=200)
        )


_TOKEN_OK = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "additionalProperties": False,
    "properties": {
        "access_token": {"type": "string", "minLength": 20},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer", "minimum": 1},
    },
}
_TOKEN_ERROR = {
    "type": "object",
    "required": ["error", "error_description"],
    "additionalProperties": False,
    "properties": {
        "error": {"enum": ["invalid_client", "unsupported_grant_type", "invalid_request"]},
        "error_description": {"type": "string"},
    },
}


async def test_token_endpoint_matches_rfc6749_and_the_captures(api: Api) -> None:
    """The accounts service is not in the Web API spec: RFC 6749 shapes and real bodies."""
    status, body = await api.fetch_token()
    jsonschema.validate(body, _TOKEN_OK)
    captured = orjson.loads((EXAMPLES / "token-client-credentials.200.json").read_bytes())
    assert set(body) == set(captured)
    for form, example in (
        ({"grant_type": "client_credentials"}, "token-invalid-client.400.json"),
        (
            {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"},
            "token-unsupported-grant-type.400.json",
        ),
    ):
        status, body = await api.fetch_token(form)
        assert status == 400
        jsonschema.validate(body, _TOKEN_ERROR)
        assert body == orjson.loads((EXAMPLES / example).read_bytes())


@pytest.mark.parametrize(
    ("example", "path"),
    [
        ("new-releases.200.json", "/browse/new-releases"),
        ("several-albums.200.json", "/albums?ids={ids}"),
        ("album-tracks.200.json", "/albums/{album}/tracks"),
        ("several-artists.200.json", "/artists?ids={artists}"),
    ],
)
async def test_bodies_carry_every_key_of_the_real_captures(
    api: Api, example: str, path: str
) -> None:
    real = orjson.loads((EXAMPLES / example).read_bytes())
    listed = api.sandbox.truth()["markets"]["US"]
    artists = ",".join(list(api.sandbox.truth()["artists"])[:50])
    status, ours = await api.get(
        path.format(ids=",".join(listed[:20]), album=listed[0], artists=artists)
    )
    assert status == 200

    def keys(body: Any) -> tuple[set[str], set[str], set[str]]:
        if "artists" in body:
            artists = body["artists"]
            followers = set().union(*(set(a["followers"]) for a in artists))
            return set(body), set().union(*map(set, artists)), followers
        items = body["albums"]["items"] if "albums" in body and "items" in body["albums"] else None
        if items is not None:
            return set(body["albums"]), set().union(*map(set, items)), set()
        if "albums" in body:
            albums = body["albums"]
            tracks = [t for a in albums for t in a["tracks"]["items"]]
            return (
                set(albums[0]["tracks"]),
                set().union(*map(set, albums)),
                set().union(*map(set, tracks)),
            )
        return set(body), set().union(*map(set, body["items"])), set()

    for real_keys, our_keys in zip(keys(real), keys(ours), strict=True):
        assert real_keys <= our_keys


@pytest.mark.parametrize("access", ["extended", "development"])
async def test_a_later_day_matches_the_spec(
    specs: dict[str, OpenAPI], api_factory: ApiFactory, access: str
) -> None:
    api = await api_factory(access=access, seed=21, day=9)
    await _walk(specs[access], api, dev=access == "development")
