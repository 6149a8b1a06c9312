import pytest

from async_spotify_etl.core.errors import InvalidIdError
from async_spotify_etl.core.ids import (
    SHOWN_ID_CHARS,
    is_spotify_id,
    parse_album_ref,
    shown_id,
    validate_id,
)

ALBUM = "4aawyAB9vmqN3uQ7FjRGTy"


@pytest.mark.parametrize(
    "ref",
    [
        ALBUM,
        f"  {ALBUM}\n",
        f"spotify:album:{ALBUM}",
        f"https://open.spotify.com/album/{ALBUM}",
        f"https://open.spotify.com/intl-de/album/{ALBUM}?si=abc",
    ],
)
def test_parse_album_ref_accepts_ids_uris_and_urls(ref: str) -> None:
    assert parse_album_ref(ref) == ALBUM


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "../../v1/me",
        ALBUM[:-1],
        ALBUM + "x",
        f"spotify:track:{ALBUM}",
        f"https://evil.example/album/{ALBUM}",
        f"https://open.spotify.com/track/{ALBUM}",
        "4aawyAB9vmqN3uQ7FjRG-y",
    ],
)
def test_parse_album_ref_rejects_everything_else(ref: str) -> None:
    with pytest.raises(InvalidIdError):
        parse_album_ref(ref)


def test_validate_id_refuses_path_tricks_and_non_strings() -> None:
    assert validate_id(ALBUM) == ALBUM
    for bad in ("../../v1/me", None, 42, ALBUM + "/"):
        assert not is_spotify_id(bad)
        with pytest.raises(InvalidIdError):
            validate_id(bad)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("../../v1/me", "../../v1/me"),
        ("", ""),
        ("a" * 200, "a" * SHOWN_ID_CHARS),
        (10**21, "int:1000000000000000000000"),  # 22 digits: base62, yet never an id here
        (["x"], "list:['x']"),
    ],
)
def test_shown_id_is_a_short_string_that_is_never_a_spotify_id(value: object, shown: str) -> None:
    assert shown_id(value) == shown
    assert not is_spotify_id(shown_id(value))
