"""The exceptions async_spotify_etl raises, all under one base class.

    SpotifyETLError
    ├── ConfigurationError ............ bad settings, flags, .env or output directory (exit 2)
    │   └── SettingsError ............. a setting is unusable; the message names it
    ├── AuthenticationError ........... the token endpoint refused the credentials (exit 3)
    ├── AlbumUnavailableError ......... a 200 that held null where an album was asked for
    ├── ArtistUnavailableError ........ a 200 that held null where an artist was asked for
    ├── UnsafeRequestError ............ a request the client refuses to send
    │   └── InvalidIdError ............ an id that is not 22 base62 characters
    ├── TransportError ................ timeout, dropped connection, truncated or malformed body
    │   ├── UnreachableHostError ...... a host that could not be resolved or connected to
    │   ├── ResponseTooLargeError ..... a body over the configured cap
    │   ├── MalformedAnswerError ...... a 2xx that is not JSON, or not the object asked for
    │   └── UnreadableItemsError ...... track pages with null items or items without a valid id
    ├── HTTPStatusError ............... any other non-2xx answer (see STATUS_ERRORS)
    │   ├── BadRequestError ........... 400
    │   ├── UnauthorizedError ......... 401 that survived one token refresh
    │   ├── ForbiddenError ............ 403
    │   │   └── EndpointUnavailableError  403 from an endpoint development-mode apps lost
    │   ├── NotFoundError ............. 404
    │   ├── RateLimitedError .......... 429 after retries ran out
    │   └── ServerError ............... 5xx after retries ran out
    └── ResumableStop ................. stop now, resume later (exit 75)
        ├── QuotaExceededError ........ 429 with reason QUOTA_EXCEEDED
        ├── BudgetSpentError .......... the run's --budget of requests is spent
        └── StillFailingError ......... albums or artists the API kept failing to serve

A pull that an :func:`is_transient` error stops (the API kept failing after the retries)
is resumable too, and exits 75 as well; an album or artist that such an error failed
stays due (:class:`StillFailingError`), and only a definitive answer (a 404, a
malformed album) fails it for good.

No exception message or repr ever contains a client secret or an access token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping


class SpotifyETLError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(SpotifyETLError):
    """Settings, flags, the .env file or the output directory are not usable."""


class SettingsError(ConfigurationError):
    """A setting of :class:`PullSettings` or :class:`ClientSettings` is unusable.

    The message is a template whose ``{field}`` placeholders name settings: ``str()``
    spells them as the library's fields (``resume=True``), and a front end spells them
    its own way with :meth:`render` (the CLI: its flags, ``--resume``). ``values`` fill
    the other placeholders; ``field`` is the setting at fault.
    """

    def __init__(self, field: str, template: str, **values: object) -> None:
        self.field = field
        self.template = template
        self.values = values
        super().__init__(self.render(FIELD_NAMES))

    def render(self, names: Mapping[str, str]) -> str:
        """The message with each setting spelled as ``names`` spells it."""
        return render(self.template, names, self.values)


#: How the library's messages spell a setting: its field name (booleans as ``=True``).
FIELD_NAMES: Mapping[str, str] = {
    "resume": "resume=True",
    "abandon_unfinished": "abandon_unfinished=True",
}


def render(template: str, names: Mapping[str, str], values: Mapping[str, object]) -> str:
    """Fill ``template``: ``values`` first, then settings as ``names`` spells them."""

    class _Fields(dict[str, object]):
        def __missing__(self, key: str) -> str:
            return names.get(key, key)

    return template.format_map(_Fields(values))


class AuthenticationError(SpotifyETLError):
    """The token endpoint refused the client credentials; retrying will not help."""


class UnsafeRequestError(SpotifyETLError):
    """A request the client refuses to send: off-origin link, insecure scheme, bad id."""


class InvalidIdError(UnsafeRequestError, ValueError):
    """An id that is not a 22-character base62 Spotify id."""


class AlbumUnavailableError(SpotifyETLError):
    """A 200 answer held ``null`` for an album asked for by id (several-albums does so for
    an id Spotify does not serve): no HTTP error happened, the album is not there."""


class ArtistUnavailableError(SpotifyETLError):
    """A 200 answer held ``null`` for an artist asked for by id (several-artists does so
    for an id Spotify does not serve)."""


class TransportError(SpotifyETLError):
    """The exchange failed below HTTP semantics: timeout, reset, truncated or bad JSON."""


class UnreachableHostError(TransportError):
    """A host could not be resolved (DNS) or connected to: no HTTP exchange happened.

    ``host`` is the host of ``url``; ``resolved`` is False when its name did not resolve."""

    def __init__(self, what: str, url: str, host: str, *, resolved: bool) -> None:
        self.url, self.host, self.resolved = url, host, resolved
        how = "took no connection" if resolved else "could not be resolved (DNS)"
        super().__init__(f"the host {host} of {what} {url} {how}")


class ResponseTooLargeError(TransportError):
    """A response body exceeded the configured size cap."""


class MalformedAnswerError(TransportError):
    """A 2xx whose body is not JSON, or JSON of another shape than the object asked for
    (an HTML page, an album that is not the one requested): the answer is definitive, the
    album or artist fails for good."""


class UnreadableItemsError(TransportError):
    """An album's track pages held ``null`` items or items without a valid id: the album
    fails rather than being written without them."""


class HTTPStatusError(SpotifyETLError):
    """A non-2xx answer; carries the status, the URL and Spotify's error message."""

    def __init__(self, status: int, url: str, message: str = "") -> None:
        self.status = status
        self.url = url
        self.message = message
        super().__init__(f"HTTP {status} from {url}" + (f": {message}" if message else ""))


class BadRequestError(HTTPStatusError):
    """400: the request was malformed (bad limit, bad id)."""


class UnauthorizedError(HTTPStatusError):
    """401 that persisted after one token refresh."""


class ForbiddenError(HTTPStatusError):
    """403: the app may not use this endpoint (not retried)."""


class EndpointUnavailableError(ForbiddenError):
    """403 from an endpoint that development-mode apps lost in 2026; the planner falls back."""


class NotFoundError(HTTPStatusError):
    """404: unknown id, or an offset past the listing's cap."""


class RateLimitedError(HTTPStatusError):
    """429 still answered after the retries ran out."""

    def __init__(
        self, status: int, url: str, message: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(status, url, message)
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    """5xx still answered after the retries ran out."""


class ResumableStop(SpotifyETLError):
    """The run must stop now and can be resumed at ``resume_at`` (UTC)."""

    def __init__(self, reason: str, retry_after: float, resume_at: dt.datetime) -> None:
        self.reason = reason
        self.retry_after = retry_after
        self.resume_at = resume_at
        super().__init__(
            f"{reason}; resume after {resume_at.strftime('%Y-%m-%d %H:%M:%S')} UTC"
            f" (in {retry_after:.0f} s)"
        )


class QuotaExceededError(ResumableStop):
    """429 whose body says QUOTA_EXCEEDED: the app's daily quota is spent."""


class BudgetSpentError(ResumableStop):
    """The run sent as many API requests as its budget allows; the next run goes on."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        super().__init__(
            f"the budget of {budget} API requests is spent", 0.0, dt.datetime.now(dt.UTC)
        )
        self.args = (f"the budget of {budget} API requests for this run is spent",)


class StillFailingError(ResumableStop):
    """Albums or artists the API kept failing to serve (timeouts, dropped connections,
    5xx, 429) after the retries: none of them is recorded as failed, they stay due and the
    next run (``--resume``) asks for them again. ``albums`` and ``artists`` count them;
    ``last`` is the last such error."""

    def __init__(self, albums: int, artists: int, last: SpotifyETLError) -> None:
        self.albums = albums
        self.artists = artists
        self.last = last
        super().__init__("the API kept failing", 0.0, dt.datetime.now(dt.UTC))
        what = " and ".join(
            f"{n} {noun}{'s' if n != 1 else ''}"
            for n, noun in ((albums, "album"), (artists, "artist"))
            if n
        )
        self.args = (
            f"the API kept failing after the retries for {what}, not fetched and still due"
            f" (last: {type(last).__name__}: {last})",
        )


STATUS_ERRORS: dict[int, type[HTTPStatusError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    429: RateLimitedError,
}


def error_for_status(status: int, url: str, message: str = "") -> HTTPStatusError:
    """Build the exception that stands for ``status``."""
    if status >= 500:
        return ServerError(status, url, message)
    return STATUS_ERRORS.get(status, HTTPStatusError)(status, url, message)


#: Transport errors that are the answer itself, so asking again gets the same.
_DEFINITIVE_TRANSPORT = (ResponseTooLargeError, MalformedAnswerError, UnreadableItemsError)


def is_transient(exc: BaseException) -> bool:
    """True for a failure the same request may not meet later: a timeout, a dropped
    connection, or a 5xx or 429 still answered after the retries ran out. A pull that such
    a failure stops is stopped resumably (exit 75), not failed; an album or artist it
    failed is not failed for good but left due for the next run."""
    if isinstance(exc, _DEFINITIVE_TRANSPORT):
        return False
    return isinstance(exc, TransportError | ServerError | RateLimitedError)
