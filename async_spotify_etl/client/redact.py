"""Blanking credentials out of what a server says before its words enter an error or a log.

A broken or hostile server may echo the request back: the token endpoint the Basic
header (the Base64 of ``id:secret``), the API the bearer token. Every server message the
client carries into an exception goes through :func:`redact` first, with the forms of
the credentials :func:`credential_forms` spells; whatever follows ``Basic`` or ``Bearer``
is blanked too, known or not.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"
#: An authorization scheme and its value, however it is separated from it (a space, a
#: form's ``+``, an encoded ``%20``), up to the end of the value.
_SCHEMES = re.compile(r"\b(basic|bearer)(?:\s+|\+|%20)+[^\s\"',;&<>]+", re.IGNORECASE)
#: Shorter known values are not blanked where they occur by chance in ordinary words.
_SHORTEST = 4


def credential_forms(client_id: str, client_secret: str) -> tuple[str, ...]:
    """Every spelling of the credentials a server could echo: the secret as is and
    percent-encoded, and the Base64 of ``id:secret`` and of the secret alone, standard
    and URL-safe, with and without padding."""
    if not client_secret:
        return ()
    forms = {client_secret, quote(client_secret, safe=""), quote(client_secret)}
    for raw in (f"{client_id}:{client_secret}", client_secret):
        data = raw.encode()
        for encoded in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
            text = encoded.decode("ascii")
            forms.update((text, text.rstrip("=")))
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every value in ``known`` (secrets, tokens, their encodings) and the
    value of any ``Basic`` or ``Bearer`` credential replaced by :data:`MASK`."""
    for value in sorted(known, key=len, reverse=True):
        if len(value) >= _SHORTEST:
            text = text.replace(value, MASK)
    return _SCHEMES.sub(lambda m: f"{m.group(1)} {MASK}", text)
