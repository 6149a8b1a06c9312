"""Where a dataset's runs are published: a NATS server and a subject prefix, from one URL.

``nats://HOST:PORT/PREFIX`` names the server and the prefix of every subject::

    PREFIX.events.<MARKET>   an album listed in or delisted from a market's new releases
    PREFIX.albums            each album a run fetched (the albums.ndjson record)
    PREFIX.artists           each artist a run fetched (the artists.ndjson record)

One JetStream stream holds them all (``PREFIX.>``), named from the prefix.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from ..core.errors import ConfigurationError

DEFAULT_PREFIX = "spotify"
DEFAULT_PORT = 4222
_PREFIX = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


@dataclass(frozen=True)
class Target:
    """A NATS server (``nats://host:port``) and the subject prefix published under."""

    server: str
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def parse(cls, url: str) -> Target:
        """``nats://HOST[:PORT][/PREFIX]``; a clear one-line error for anything else."""
        parts = urllib.parse.urlsplit(url)
        if "@" in parts.netloc:  # never echoed: it may hold a password
            raise ConfigurationError("a stream URL holds no user or password (see --help)")
        if parts.scheme != "nats" or not parts.hostname:
            raise ConfigurationError(f"not a nats://HOST:PORT/PREFIX URL: {url!r}")
        if parts.query or parts.fragment:
            raise ConfigurationError(f"a stream URL holds only host, port and prefix: {url!r}")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigurationError(f"not a port in {url!r}") from None
        prefix = parts.path.strip("/").replace("/", ".") or DEFAULT_PREFIX
        if not _PREFIX.fullmatch(prefix):
            raise ConfigurationError(f"not a subject prefix (letters, digits, - _ .): {prefix!r}")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(f"nats://{host}:{port}", prefix)

    def __str__(self) -> str:
        return f"{self.server}/{self.prefix}"

    @property
    def stream(self) -> str:
        """The JetStream stream's name: the prefix, dots as underscores, upper case."""
        return self.prefix.replace(".", "_").upper()

    @property
    def subjects(self) -> str:
        """Every subject of the stream."""
        return f"{self.prefix}.>"

    def events(self, market: str = "*") -> str:
        """The subject of a market's events (``*``: every market)."""
        return f"{self.prefix}.events.{market}"

    @property
    def albums(self) -> str:
        return f"{self.prefix}.albums"

    @property
    def artists(self) -> str:
        return f"{self.prefix}.artists"
