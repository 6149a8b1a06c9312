"""Blanking a PostgreSQL password out of a connection error before it becomes a message.

libpq repeats the token it could not parse (``unexpected spaces found in "..."``,
``invalid percent-encoded token: "..."``, ``missing "=" after "..."``), a password or a
word of one included. :func:`redact_conninfo` blanks every part of the password a URL
(``postgresql://user:password@host/db``, ``?password=``) or a ``key=value`` string holds.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
#: Shorter words of a password are blanked only where libpq quotes them.
_SHORTEST = 4


#: The password of a ``postgresql://user:password@host`` URL: up to the last ``@`` of the
#: authority, so an unencoded ``@`` or space in it is still taken whole.
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^:@/]*:(.*)@", re.IGNORECASE)
#: ``password=`` in a URL's query or a ``key=value`` string: quoted, or up to the next
#: ``key=`` (a mistyped unquoted space leaves the rest of the password as a stray word).
_KEY_PASSWORD = re.compile(
    r"(?:^|[\s?&])password\s*=\s*('(?:[^'\\]|\\.)*'|.*?)(?=&|\s+\w+\s*=|$)", re.IGNORECASE
)
#: A quoted word in a libpq message (it quotes the token it could not parse).
_QUOTED = re.compile(r'"([^"]*)"')


def conninfo_passwords(conninfo: str) -> tuple[str, ...]:
    """Every spelling of the password in a PostgreSQL URL or ``key=value`` string that a
    connection error could repeat: as written, percent-decoded, and each word of it."""
    found = [m.group(1) for m in (_URL_PASSWORD.match(conninfo),) if m]
    found += [m.group(1).strip("'") for m in _KEY_PASSWORD.finditer(conninfo)]
    forms: set[str] = set()
    for raw in filter(None, found):
        for form in (raw, unquote(raw)):
            forms.add(form)
            forms.update(re.split(r"[\s%]+", form))
    forms.discard("")
    return tuple(sorted(forms, key=len, reverse=True))


def redact_conninfo(text: str, conninfo: str) -> str:
    """``text`` (a connection error) with no part of ``conninfo``'s password left: a quoted
    word that is part of it, or holds one, is blanked whole, then every spelling of it."""
    forms = conninfo_passwords(conninfo)
    if not forms:
        return text

    def quoted(match: re.Match[str]) -> str:
        word = match.group(1)
        part_of = bool(word) and any(word in form for form in forms)
        holds = any(len(form) >= _SHORTEST and form in word for form in forms)
        return f'"{MASK}"' if part_of or holds else match.group(0)

    text = _QUOTED.sub(quoted, text)
    for form in forms:  # longest first
        if len(form) >= _SHORTEST:
            text = text.replace(form, MASK)
    return text
