"""Property tests of album references and ids: every form parses, nothing else does."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from async_spotify_etl.core.errors import InvalidIdError
from async_spotify_etl.core.ids import is_spotify_id, parse_album_ref, validate_id

BASE62 = string.digits + string.ascii_letters
ids = st.text(alphabet=BASE62, min_size=22, max_size=22)


@given(ids, st.sampled_from(["", "intl-de/", "intl-pt/"]), st.text(BASE62 + "=&", max_size=12))
def test_every_form_of_an_album_reference_gives_its_id(album_id: str, intl: str, si: str) -> None:
    for ref in (
        album_id,
        f"  spotify:album:{album_id}\t",
        f"https://open.spotify.com/{intl}album/{album_id}",
        f"https://open.spotify.com/{intl}album/{album_id}?si={si}",
    ):
        assert parse_album_ref(ref) == album_id
    assert validate_id(album_id) == album_id


@given(st.text(max_size=60))
def test_anything_else_is_refused_and_an_accepted_id_is_always_safe_in_a_path(text: str) -> None:
    try:
        album_id = parse_album_ref(text)
    except InvalidIdError:
        assert not is_spotify_id(text.strip())
        return
    assert is_spotify_id(album_id)
    assert album_id in text
    assert not set(album_id) & set("/.%?#&\\ \n")


@given(st.text(max_size=30))
def test_an_id_is_exactly_22_ascii_base62_characters(value: str) -> None:
    expected = len(value) == 22 and all(c in BASE62 for c in value)
    assert is_spotify_id(value) is expected
    if not expected:
        with pytest.raises(InvalidIdError):
            validate_id(value)
