"""The extractor's parsing code reads every real body in tests/spotify/examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl.client.bodies import ErrorBody, Page, Token
from async_spotify_etl.core.errors import TransportError
from async_spotify_etl.core.ids import is_spotify_id

EXAMPLES = Path(__file__).resolve().parents[1] / "spotify" / "examples"


def example(name: str) -> Any:
    return orjson.loads((EXAMPLES / name).read_bytes())


def test_new_releases_example_reads_as_a_capped_listing() -> None:
    page = Page.from_json(example("new-releases.200.json"), key="albums")
    assert page.total == 100
    assert page.offset == 0
    assert page.next is not None
    assert page.items
    assert page.skipped == 0
    assert all(is_spotify_id(item["id"]) for item in page.items)
    types = {item.get("album_type") for item in page.items}
    assert "ep" in types  # the real capture carries a type the spec's enum lacks: kept as sent


def test_several_albums_example_embeds_a_tracks_page() -> None:
    body = example("several-albums.200.json")
    tracks = Page.from_json(body["albums"][0]["tracks"])
    assert tracks.limit == 50
    assert tracks.total == 9
    assert tracks.next is None
    assert [t["id"] for t in tracks.items] == [
        t["id"] for t in body["albums"][0]["tracks"]["items"]
    ]


def test_album_tracks_example_reads_as_a_page_with_next() -> None:
    page = Page.from_json(example("album-tracks.200.json"))
    assert page.limit == 2
    assert page.next is not None
    assert [track["type"] for track in page.items] == ["track", "track"]


def test_token_example_reads_and_hides_the_token() -> None:
    body = example("token-client-credentials.200.json")
    token = Token.from_json(body)
    assert token.access_token == body["access_token"]
    assert token.expires_in == 3600
    assert body["access_token"] not in repr(token)


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("error-400-invalid-base62-id.json", 400, None),
        ("error-400-invalid-limit.json", 400, None),
        ("error-401-invalid-token-2026.json", 401, None),
        ("error-401-token-expired-legacy.json", 401, None),
        ("error-403-forbidden-devmode.json", 403, None),
        ("error-403-premium-required-devmode.json", 403, None),
        ("error-404-non-existing-id.json", 404, None),
        ("error-429-rate-limit.json", 429, None),
        ("error-429-quota-exceeded.json", 429, "QUOTA_EXCEEDED"),
        ("error-502-something-went-wrong.json", 502, None),
    ],
)
def test_api_error_examples(name: str, status: int, reason: str | None) -> None:
    body = example(name)
    error = ErrorBody.from_json(body)
    assert error.status == status
    assert error.message == body["error"]["message"]
    assert error.reason == reason
    assert error.quota_exceeded is (reason == "QUOTA_EXCEEDED")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("token-invalid-client.400.json", "invalid_client"),
        ("token-invalid-client-secret.400.json", "invalid_client"),
        ("token-unsupported-grant-type.400.json", "unsupported_grant_type"),
    ],
)
def test_token_error_examples(name: str, code: str) -> None:
    body = example(name)
    error = ErrorBody.from_json(body)
    assert error.reason == code
    assert body["error_description"] in error.message
    assert not error.quota_exceeded


def test_page_drops_null_and_malformed_items_without_crashing() -> None:
    good = {"id": "4aawyAB9vmqN3uQ7FjRGTy", "name": "x"}
    page = Page.from_json(
        {"items": [None, good, {"id": "../../v1/me"}, "junk"], "total": 4, "next": None}
    )
    assert page.items == [good]
    assert page.skipped == 3
    assert page.invalid_ids == ("../../v1/me",)  # kept to report; the null and junk are not


def test_page_keeps_bad_ids_safe_to_report_and_counts_id_less_items() -> None:
    good = {"id": "4aawyAB9vmqN3uQ7FjRGTy"}
    items = [good, {"id": None}, {"name": "no id"}, {"id": ""}, {"id": 7}, {"id": "x" * 500}]
    page = Page.from_json({"items": items, "next": None})
    assert page.items == [good]
    assert page.skipped == 5
    assert page.invalid_ids == ("", "int:7", "x" * 64)


@pytest.mark.parametrize("body", [None, [], {"items": None}, {"albums": []}])
def test_page_rejects_bodies_that_are_not_pages(body: object) -> None:
    with pytest.raises(TransportError):
        Page.from_json(body, key="albums" if isinstance(body, dict) and "albums" in body else None)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"access_token": "", "expires_in": 1},
        {"access_token": "t"},
        {"access_token": "t", "expires_in": 1, "token_type": "mac"},
    ],
)
def test_token_rejects_incomplete_bodies(body: dict[str, object]) -> None:
    with pytest.raises(TransportError):
        Token.from_json(body)
