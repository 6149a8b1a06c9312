"""The one redaction of server words: known values, their encodings, any Basic or Bearer
credential (#23.2)."""

from __future__ import annotations

import base64

import pytest

from async_spotify_etl.client.redact import MASK, credential_forms, redact, redact_conninfo


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


@pytest.mark.parametrize(
    ("conninfo", "message"),
    [
        ("postgresql://u:SECRET PW@h/d", 'unexpected spaces found in "SECRET PW", use %20'),
        ("postgresql://u:S3CR%ZZ@h/d", 'invalid percent-encoded token: "S3CR%ZZ"'),
        ("postgresql://u:p@ss w@h/d", 'unexpected spaces found in "p@ss w"'),
        ("host=h password=SECRET PW user=u", 'missing "=" after "PW" in connection info string'),
        ("host=h password='SECRET PW' user=u", "password authentication failed: SECRET PW"),
    ],
)
def test_a_connection_error_keeps_no_part_of_the_password(conninfo: str, message: str) -> None:
    hidden = redact_conninfo(message, conninfo)
    assert MASK in hidden
    for word in ("SECRET", "PW", "S3CR", "ZZ", "p@ss"):
        assert word not in hidden


def test_a_connection_error_keeps_what_is_not_the_password() -> None:
    message = 'connection to server at "127.0.0.1", port 1 failed: Connection refused'
    assert redact_conninfo(message, "postgresql://u:pw@127.0.0.1:1/d") == message
    assert redact_conninfo(message, "postgresql://u@127.0.0.1:1/d") == message
