"""Safety at the HTTP boundary: the token goes only to the API origin, ids are checked
before they enter a path, plain http only on loopback, secrets never shown."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from async_spotify_etl.client.http import SpotifyClient
from async_spotify_etl.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidIdError,
    NotFoundError,
    ServerError,
    UnsafeRequestError,
)
from async_spotify_etl.engine.endpoints import SpotifyAPI
from tests.client.conftest import ClientFactory
from tests.fakes import (
    ALBUM_ID,
    API,
    CREDENTIALS,
    SECRET,
    TOKEN,
    TOKEN_URL,
    fast_settings,
    token_body,
    url,
)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v1/browse/new-releases?offset=50",
        "http://api.spotify.com/v1/browse/new-releases?offset=50",
        "https://api.spotify.com:8443/v1/browse/new-releases",
        "https://api.spotify.com.evil.example/v1/albums",
        "//evil.example/v1/albums",
        "https://user:pw@api.spotify.com/v1/albums",
        "https://api.spotify.com/v2/albums",
        "https://api.spotify.com/v1/../me",
        "albums/relative",
    ],
)
async def test_off_origin_links_are_refused_before_anything_is_sent(
    mock_api: Any, link: str, make_client: ClientFactory
) -> None:
    async with make_client() as api:
        with pytest.raises(UnsafeRequestError):
            await api.get_json(link)
    assert mock_api.requests == {}


async def test_a_next_link_on_the_api_origin_is_followed_with_its_query(
    mock_api: Any, make_client: ClientFactory
) -> None:
    mock_api.post(TOKEN_URL, payload=token_body())
    mock_api.get(f"{API}/browse/new-releases?offset=50&limit=50", payload={"ok": 1})
    async with make_client() as api:
        link = f"{API}/browse/new-releases?offset=50&limit=50"
        assert await api.get_json(link, endpoint="new-releases") == {"ok": 1}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("api_url", "http://api.example.com/v1"),
        ("token_url", "http://accounts.example.com/api/token"),
        ("api_url", "ftp://127.0.0.1/v1"),
        ("api_url", "https://user:secret@api.spotify.com/v1"),
        ("api_url", "not a url"),
    ],
)
def test_plain_http_is_refused_off_loopback(field: str, value: str) -> None:
    with pytest.raises(ConfigurationError):
        SpotifyClient(CREDENTIALS, fast_settings(**{field: value}))


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:1", "[::1]:9", "127.9.9.9"])
def test_plain_http_is_accepted_on_loopback(host: str) -> None:
    settings = fast_settings(api_url=f"http://{host}/v1", token_url=f"http://{host}/api/token")
    SpotifyClient(CREDENTIALS, settings)


@pytest.mark.parametrize(
    "bad_id", ["../../me", "4aawyAB9vmqN3uQ7FjRGT", "4aawyAB9vmqN3uQ7FjRGTy?x", "", None]
)
async def test_malformed_ids_never_reach_a_url(
    mock_api: Any, bad_id: Any, make_client: ClientFactory
) -> None:
    async with make_client() as api:
        spotify = SpotifyAPI(api)
        with pytest.raises(InvalidIdError):
            await spotify.album(bad_id, "US")
        with pytest.raises(InvalidIdError):
            await spotify.album_tracks(bad_id, "US")
        with pytest.raises(InvalidIdError):
            await spotify.several_albums([ALBUM_ID, bad_id], "US")
    assert mock_api.requests == {}


async def test_no_secret_or_token_in_logs_errors_or_reprs(
    mock_api: Any, caplog: pytest.LogCaptureFixture, capsys: Any, make_client: ClientFactory
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    path = f"/albums/{ALBUM_ID}"
    # a hostile token endpoint that echoes the secret back in its error
    echo = {"error": "invalid_client", "error_description": f"secret {SECRET} is wrong"}
    mock_api.post(TOKEN_URL, status=400, payload=echo)
    mock_api.post(TOKEN_URL, payload=token_body(TOKEN))
    mock_api.post(TOKEN_URL, payload=token_body(TOKEN + "-2"))
    mock_api.get(url(path), status=401, payload={"error": {"status": 401, "message": "x"}})
    mock_api.get(url(path), status=503, repeat=True)
    async with make_client() as refused:
        with pytest.raises(AuthenticationError) as auth_error:
            await refused.get_json(path, endpoint="album")
        shown += [str(auth_error.value), repr(auth_error.value), repr(refused._tokens)]
    api = make_client(max_retries=2)
    async with api:
        with pytest.raises(ServerError) as server_error:
            await api.get_json(path, endpoint="album")
        shown += [str(server_error.value), repr(server_error.value)]
        shown += [repr(api), repr(api.stats), repr(api.pacer), repr(api._tokens)]
        assert api.stats.token_refreshes == 2  # tokens were in use
    shown += [repr(CREDENTIALS), repr(api.settings), caplog.text]
    out, err = capsys.readouterr()
    shown += [out, err]
    text = "\n".join(shown)
    assert "invalid_client" in text  # the texts say what happened
    assert "***" in text  # ... with the echoed secret blanked out
    assert "503" in text
    assert SECRET not in text
    assert TOKEN not in text  # also covers the second token, which starts with it


async def test_a_token_echoed_by_the_server_is_blanked_out(
    mock_api: Any, caplog: pytest.LogCaptureFixture, make_client: ClientFactory
) -> None:
    caplog.set_level(logging.DEBUG)
    path = f"/albums/{ALBUM_ID}"
    mock_api.post(TOKEN_URL, payload=token_body(TOKEN))
    echo = {"error": {"status": 404, "message": f"nothing here for {TOKEN}"}}
    mock_api.get(url(path), status=404, payload=echo)
    async with make_client() as api:
        with pytest.raises(NotFoundError) as caught:
            await api.get_json(path, endpoint="album")
    assert "nothing here for ***" in str(caught.value)
    assert TOKEN not in str(caught.value) + repr(caught.value) + caplog.text
