"""Pull Spotify's new album releases and all their tracks into NDJSON, as fast as the API allows."""

from ._version import __version__
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
