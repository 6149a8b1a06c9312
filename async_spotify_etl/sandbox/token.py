"""The accounts service's client-credentials token endpoint, RFC 6749 error shapes."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

import orjson

from .behaviours import TokenStore
from .config import SandboxConfig
from .handlers import Reply


def _oauth_error(error: str, description: str) -> Reply:
    return Reply(400, orjson.dumps({"error": error, "error_description": description}))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _credentials(header: str | None, form: Mapping[str, str]) -> tuple[str, str] | None:
    """Client id and secret from a Basic header or, failing that, from the form."""
    if header is not None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        return (client_id, secret) if sep else None
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


def issue_token(
    config: SandboxConfig, tokens: TokenStore, header: str | None, form: Mapping[str, str]
) -> Reply:
    """``POST /api/token`` with ``grant_type=client_credentials``."""
    creds = _credentials(header, form)
    if creds is None or not _same(creds[0], config.client_id):
        return _oauth_error("invalid_client", "Invalid client")
    if not _same(creds[1], config.client_secret):
        return _oauth_error("invalid_client", "Invalid client secret")
    grant = form.get("grant_type")
    if grant is None:
        return _oauth_error("unsupported_grant_type", "grant_type parameter is missing")
    if grant != "client_credentials":
        return _oauth_error("unsupported_grant_type", "grant_type must be client_credentials")
    token, expires_in = tokens.issue(creds[0])
    body = {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
    return Reply(200, orjson.dumps(body))
