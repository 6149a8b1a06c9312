"""Pull Spotify's new album releases and all their tracks into NDJSON, as fast as the API allows.

The names below are imported on first use (PEP 562), so ``spotify-etl`` and ``import
async_spotify_etl.X`` load only what they need: the client alone pulls in aiohttp, and
``load_pull`` and ``build_report`` need the analytics extra (DuckDB).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .analytics.load import load_pull
    from .analytics.report import build_report
    from .client.http import ClientStats, SpotifyClient
    from .core.errors import (
        AlbumUnavailableError,
        ArtistUnavailableError,
        AuthenticationError,
        BadRequestError,
        BudgetSpentError,
        ConfigurationError,
        EndpointUnavailableError,
        ForbiddenError,
        HTTPStatusError,
        InvalidIdError,
        MalformedAnswerError,
        NotFoundError,
        QuotaExceededError,
        RateLimitedError,
        ResponseTooLargeError,
        ResumableStop,
        ServerError,
        SettingsError,
        SpotifyETLError,
        StillFailingError,
        TransportError,
        UnauthorizedError,
        UnreachableHostError,
        UnreadableItemsError,
        UnsafeRequestError,
    )
    from .core.settings import ClientSettings, Credentials, EnrichSettings, PullSettings
    from .engine.endpoints import SpotifyAPI
    from .engine.outcomes import AlbumFailure, AlbumResult, ArtistFailure, ArtistResult, PullStats
    from .engine.plan import minimum_requests
    from .output.reader import read_committed
    from .run.dataset import run_dataset
    from .run.iterate import Pull
    from .run.pull import PullResult, run_pull

__all__ = [
    "AlbumFailure",
    "AlbumResult",
    "AlbumUnavailableError",
    "ArtistFailure",
    "ArtistResult",
    "ArtistUnavailableError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetSpentError",
    "ClientSettings",
    "ClientStats",
    "ConfigurationError",
    "Credentials",
    "EndpointUnavailableError",
    "EnrichSettings",
    "ForbiddenError",
    "HTTPStatusError",
    "InvalidIdError",
    "MalformedAnswerError",
    "NotFoundError",
    "Pull",
    "PullResult",
    "PullSettings",
    "PullStats",
    "QuotaExceededError",
    "RateLimitedError",
    "ResponseTooLargeError",
    "ResumableStop",
    "ServerError",
    "SettingsError",
    "SpotifyAPI",
    "SpotifyClient",
    "SpotifyETLError",
    "StillFailingError",
    "TransportError",
    "UnauthorizedError",
    "UnreachableHostError",
    "UnreadableItemsError",
    "UnsafeRequestError",
    "__version__",
    "build_report",
    "load_pull",
    "minimum_requests",
    "read_committed",
    "run_dataset",
    "run_pull",
]

#: The module that defines each public name.
_SOURCES = {
    "ClientStats": "client.http",
    "SpotifyClient": "client.http",
    "AlbumUnavailableError": "core.errors",
    "ArtistUnavailableError": "core.errors",
    "AuthenticationError": "core.errors",
    "BadRequestError": "core.errors",
    "BudgetSpentError": "core.errors",
    "ConfigurationError": "core.errors",
    "EndpointUnavailableError": "core.errors",
    "ForbiddenError": "core.errors",
    "HTTPStatusError": "core.errors",
    "InvalidIdError": "core.errors",
    "MalformedAnswerError": "core.errors",
    "NotFoundError": "core.errors",
    "QuotaExceededError": "core.errors",
    "RateLimitedError": "core.errors",
    "ResponseTooLargeError": "core.errors",
    "ResumableStop": "core.errors",
    "ServerError": "core.errors",
    "SettingsError": "core.errors",
    "SpotifyETLError": "core.errors",
    "StillFailingError": "core.errors",
    "TransportError": "core.errors",
    "UnauthorizedError": "core.errors",
    "UnreachableHostError": "core.errors",
    "UnreadableItemsError": "core.errors",
    "UnsafeRequestError": "core.errors",
    "AlbumFailure": "engine.outcomes",
    "AlbumResult": "engine.outcomes",
    "ArtistFailure": "engine.outcomes",
    "ArtistResult": "engine.outcomes",
    "Pull": "run.iterate",
    "PullStats": "engine.outcomes",
    "SpotifyAPI": "engine.endpoints",
    "minimum_requests": "engine.plan",
    "PullResult": "run.pull",
    "run_pull": "run.pull",
    "ClientSettings": "core.settings",
    "EnrichSettings": "core.settings",
    "Credentials": "core.settings",
    "PullSettings": "core.settings",
    "read_committed": "output.reader",
    "run_dataset": "run.dataset",
    "load_pull": "analytics.load",
    "build_report": "analytics.report",
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
