"""Where requests may go: configured base URLs and the links resolved against them.

The bearer token goes only to the configured API origin, so every URL the client sends
to passes through here first: relative paths are joined to the base, absolute links
(Spotify's ``next``) must share its scheme, host and port, and plain ``http://`` is
accepted only for loopback hosts such as the sandbox.
"""

from __future__ import annotations

import ipaddress

import aiohttp
from yarl import URL

from ..core.errors import (
    ConfigurationError,
    TransportError,
    UnreachableHostError,
    UnsafeRequestError,
)


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, what: str) -> URL:
    """Parse a configured base URL: https anywhere, http only on loopback, no credentials."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{what} is not a URL: {url[:80]!r}") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ConfigurationError(f"{what} must be an http(s) URL with a host: {url[:80]!r}")
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise ConfigurationError(f"{what} may use plain http only for loopback hosts: {url[:80]!r}")
    if parsed.user or parsed.password or parsed.query_string or parsed.fragment:
        raise ConfigurationError(f"{what} must not carry credentials, a query or a fragment")
    return parsed


def resolve(base: URL, target: str) -> URL:
    """The URL for ``target``: a path under ``base`` or an absolute link on base's origin.

    Anything else (another host, port or scheme, a protocol-relative ``//host`` link,
    a path escaping ``base``) raises :class:`UnsafeRequestError`.
    """
    if target.startswith("/") and not target.startswith("//"):
        path, _, query = target.partition("?")
        url = base.with_path(base.path.rstrip("/") + path, encoded=False)
        url = url.with_query(query) if query else url
    else:
        try:
            url = URL(target)
        except (TypeError, ValueError):
            raise UnsafeRequestError(f"not a URL: {target[:80]!r}") from None
        if _origin(url) != _origin(base):
            raise UnsafeRequestError(f"refusing a link off the API origin: {_shown(url)}")
    if url.user or url.password or url.fragment:
        raise UnsafeRequestError(f"refusing a link with credentials or a fragment: {_shown(url)}")
    prefix = base.path.rstrip("/") + "/"
    if not url.path.startswith(prefix) or "/../" in url.path + "/" or "/./" in url.path + "/":
        raise UnsafeRequestError(f"refusing a path outside the API base: {_shown(url)}")
    return url


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    """Scheme, host and port (the default one when implicit); a relative URL has no scheme."""
    return url.scheme.lower(), url.host, url.port


def _shown(url: URL) -> str:
    """A URL safe to print: no userinfo, no query (it may carry anything), at most 100 chars."""
    bare = url.with_query(None).with_fragment(None)
    if bare.is_absolute():
        bare = bare.with_user(None)
    return str(bare)[:100]


def transport_error(what: str, url: str, exc: aiohttp.ClientError, fallback: str) -> TransportError:
    """The error for a request that got no answer: :class:`UnreachableHostError` when the
    host did not resolve (DNS) or took no connection, else ``fallback``."""
    if not isinstance(exc, aiohttp.ClientConnectorError) or isinstance(exc, aiohttp.ClientSSLError):
        return TransportError(fallback)
    resolved = not isinstance(exc, aiohttp.ClientConnectorDNSError)
    return UnreachableHostError(what, url, URL(url).host or url, resolved=resolved)
