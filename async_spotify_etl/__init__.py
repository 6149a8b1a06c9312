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
from .planner import SpotifyAPI, minimum_requests
from .settings import ClientSettings, Credentials, PullSettings

__all__ = [
    "AuthenticationError",
    "ClientSettings",
    "ClientStats",
    "ConfigurationError",
    "Credentials",
    "EndpointUnavailableError",
    "HTTPStatusError",
    "InvalidIdError",
    "PullSettings",
    "QuotaExceededError",
    "ResumableStop",
    "SpotifyAPI",
    "SpotifyClient",
    "SpotifyETLError",
    "TransportError",
    "UnsafeRequestError",
    "__version__",
    "minimum_requests",
]
