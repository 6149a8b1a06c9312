"""A PostgreSQL connection error keeps no part of the password (#24.3)."""

from __future__ import annotations

import pytest

from async_spotify_etl.core.conninfo import MASK, redact_conninfo


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
