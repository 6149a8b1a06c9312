"""Pull Spotify's new album releases and all their tracks into NDJSON, as fast as the API allows."""

from ._version import __version__
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
from .settings import ClientSettings, Credentials, PullSettings

__all__ = [
    "AuthenticationError",
    "ClientSettings",
    "ConfigurationError",
    "Credentials",
    "EndpointUnavailableError",
    "HTTPStatusError",
    "InvalidIdError",
    "PullSettings",
    "QuotaExceededError",
    "ResumableStop",
    "SpotifyETLError",
    "TransportError",
    "UnsafeRequestError",
    "__version__",
]
