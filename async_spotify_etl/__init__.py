"""Pull Spotify's new album releases and all their tracks into NDJSON, as fast as the API allows.

The names below are imported on first use (PEP 562), so ``spotify-etl`` and ``import
async_spotify_etl.X`` load only what they need: the client alone pulls in aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .client import ClientStats, SpotifyClient
    from .errors import (
        AuthenticationError,
        ConfigurationError,
        EndpointUnavailableError,
        HTTPStatusError,
        InvalidIdError,
        QuotaExceededError,
        ResumableStop,
        SpotifyETLError,
        TransportError,
        UnsafeRequestError,
    )
    from .pipeline import AlbumFailure, AlbumResult, Pull, PullStats
    from .planner import SpotifyAPI, minimum_requests
    from .runner import PullResult, run_pull
    from .settings import ClientSettings, Credentials, PullSettings
    from .sink import read_committed

__all__ = [
    "AlbumFailure",
    "AlbumResult",
    "AuthenticationError",
    "ClientSettings",
    "ClientStats",
    "ConfigurationError",
    "Credentials",
    "EndpointUnavailableError",
    "HTTPStatusError",
    "InvalidIdError",
    "Pull",
    "PullResult",
    "PullSettings",
    "PullStats",
    "QuotaExceededError",
    "ResumableStop",
    "SpotifyAPI",
    "SpotifyClient",
    "SpotifyETLError",
    "TransportError",
    "UnsafeRequestError",
    "__version__",
    "minimum_requests",
    "read_committed",
    "run_pull",
]

#: The module that defines each public name.
_SOURCES = {
    "ClientStats": "client",
    "SpotifyClient": "client",
    "AuthenticationError": "errors",
    "ConfigurationError": "errors",
    "EndpointUnavailableError": "errors",
    "HTTPStatusError": "errors",
    "InvalidIdError": "errors",
    "QuotaExceededError": "errors",
    "ResumableStop": "errors",
    "SpotifyETLError": "errors",
    "TransportError": "errors",
    "UnsafeRequestError": "errors",
    "AlbumFailure": "pipeline",
    "AlbumResult": "pipeline",
    "Pull": "pipeline",
    "PullStats": "pipeline",
    "SpotifyAPI": "planner",
    "minimum_requests": "planner",
    "PullResult": "runner",
    "run_pull": "runner",
    "ClientSettings": "settings",
    "Credentials": "settings",
    "PullSettings": "settings",
    "read_committed": "sink",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access, and keep the name."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{source}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
