"""The one redaction of server words: known values, their encodings, any Basic or Bearer
credential (#23.2)."""

from __future__ import annotations

import base64

from async_spotify_etl.client.redact import credential_forms, redact


def test_every_encoding_of_the_credentials_is_blanked() -> None:
    forms = credential_forms("cid", "s/e+c=ret?")
    pair = b"cid:s/e+c=ret?"
    for encoded in (base64.b64encode(pair), base64.urlsafe_b64encode(pair)):
        text = encoded.decode()
        assert redact(f"got {text} and {text.rstrip('=')}", forms) == "got *** and ***"
    assert redact("s%2Fe%2Bc%3Dret%3F!", forms) == "***!"
    assert credential_forms("cid", "") == ()


def test_any_basic_or_bearer_value_is_blanked_known_or_not() -> None:
    said = 'Basic QWxhZGRpbjpvcGVu, bearer BQD-x_y.z; "Bearer%20abc" Basic+Zm9v'
    assert redact(said) == 'Basic ***, bearer ***; "Bearer ***" Basic ***'
    assert redact("Basic auth is off") == "Basic *** is off"  # the word after: blanked, not risked
    assert redact("no credentials here") == "no credentials here"
