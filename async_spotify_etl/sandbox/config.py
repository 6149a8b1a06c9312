"""The sandbox's settings: one frozen dataclass, every default named once here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from ..core.errors import SettingsError
from ..core.settings import PLAN

AccessMode = Literal["extended", "development"]

DEFAULT_MARKETS = ("US", "GB")
#: Spotify caps the new-releases listing at 100 albums per market.
DEFAULT_ALBUMS_PER_MARKET = 100
DEFAULT_TOKEN_LIFETIME = 3600.0
#: Spotify computes its rate limit over a rolling 30-second window.
DEFAULT_RATE_WINDOW = 30.0
#: Quota 429s observed in 2026 carried Retry-After values of several hours.
DEFAULT_QUOTA_RETRY_AFTER = 6 * 3600
DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_HOST = "127.0.0.1"
#: Hostile mode's oversized bodies: just over the client's default 8 MiB cap.
DEFAULT_HOSTILE_BODY_BYTES = 9 * 1024 * 1024
#: The sandbox's "today": fixed, so a seed gives the same catalogue on any day.
DEFAULT_TODAY = "2026-11-25"

#: Share of the catalogue's albums Deezer knows (most, as reported for new releases).
DEFAULT_DEEZER_SHARE = 0.85
#: Share of the catalogue's albums MusicBrainz knows (a minority: it is hand-edited).
DEFAULT_MUSICBRAINZ_SHARE = 0.3
#: Deezer's documented quota: 50 requests per rolling 5 seconds, then code 4.
DEEZER_QUOTA = 50
DEEZER_WINDOW = 5.0
#: MusicBrainz allows one request a second per client on average, with a small burst.
MUSICBRAINZ_RATE = 1.0
MUSICBRAINZ_BURST = 3

_MARKET = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class SandboxConfig:
    """What the sandbox serves and how it misbehaves. All behaviours are off by default.

    The fields marked PLAN decide the catalogue: a pull from the sandbox records them in
    its plan, so a resume must be served the same one."""

    seed: int = field(default=0, metadata=PLAN)
    markets: tuple[str, ...] = DEFAULT_MARKETS
    albums_per_market: int = field(default=DEFAULT_ALBUMS_PER_MARKET, metadata=PLAN)
    access: AccessMode = field(default="extended", metadata=PLAN)
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    #: Requests allowed per rolling ``rate_window`` seconds; ``None`` means unlimited.
    rate_limit: int | None = None
    rate_window: float = DEFAULT_RATE_WINDOW
    #: API requests allowed in total before every answer is a QUOTA_EXCEEDED 429.
    quota: int | None = None
    quota_retry_after: int = DEFAULT_QUOTA_RETRY_AFTER
    #: Probability of a 500, 502 or 503.
    error_rate: float = 0.0
    #: Probability of a 200 whose JSON body is truncated or malformed.
    corrupt_rate: float = 0.0
    #: Probability that the connection is dropped: before the answer or mid-body.
    drop_rate: float = 0.0
    #: Mean added latency in seconds, spread uniformly by +/- ``latency_jitter``.
    latency: float = 0.0
    latency_jitter: float = 0.0
    #: Serve hostile data: bad ids, foreign links, HTML bodies, lying totals, nulls.
    hostile: bool = False
    #: Size of hostile mode's oversized bodies.
    hostile_body_bytes: int = DEFAULT_HOSTILE_BODY_BYTES
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    host: str = DEFAULT_HOST
    port: int = 0
    today: str = DEFAULT_TODAY
    #: Days since ``today``: the new-releases lists move each day (see listings.py).
    day: int = field(default=0, metadata=PLAN)
    #: A day's length in seconds of the sandbox's clock, or None: with it the lists move
    #: while the sandbox runs, day ``day + n`` beginning ``n`` day lengths after start.
    day_seconds: float | None = None

    #: Share of albums Deezer knows, chosen per album from (seed, album id).
    deezer_share: float = DEFAULT_DEEZER_SHARE
    #: Share of albums MusicBrainz knows, chosen per album from (seed, album id).
    musicbrainz_share: float = DEFAULT_MUSICBRAINZ_SHARE
    #: Deezer's quota: code 4 "Quota limit exceeded" after 50 requests in 5 seconds.
    deezer_throttle: bool = False
    #: MusicBrainz's rate limit: 503 beyond one request a second per client.
    musicbrainz_throttle: bool = False
    #: Probability that MusicBrainz sheds a request (503, ``retry-after: 0``) anyway.
    musicbrainz_shed_rate: float = 0.0

    def __post_init__(self) -> None:
        # a list from JSON or YAML is accepted; the frozen config keeps a tuple
        object.__setattr__(self, "markets", tuple(self.markets))
        if not self.markets or not all(_MARKET.fullmatch(m) for m in self.markets):
            raise SettingsError(
                "markets", "{markets} must be ISO 3166-1 alpha-2 codes: {v!r}", v=self.markets
            )
        if len(set(self.markets)) != len(self.markets):
            raise SettingsError("markets", "{markets} must not repeat: {v!r}", v=self.markets)
        if self.access not in ("extended", "development"):
            raise SettingsError(
                "access", "{access} must be extended or development: {v!r}", v=self.access
            )
        for name in (
            "error_rate",
            "corrupt_rate",
            "drop_rate",
            "deezer_share",
            "musicbrainz_share",
            "musicbrainz_shed_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                template = f"{{{name}}} must be between 0 and 1, got {{v!r}}"
                raise SettingsError(name, template, v=value)
        if self.error_rate + self.corrupt_rate + self.drop_rate > 1.0:
            raise SettingsError(
                "error_rate", "{error_rate} + {corrupt_rate} + {drop_rate} must not exceed 1"
            )
        self._check_positive()
        try:
            dt.date.fromisoformat(self.today)
        except ValueError:
            raise SettingsError(
                "today", "{today} must be a YYYY-MM-DD date: {v!r}", v=self.today
            ) from None

    def _check_positive(self) -> None:
        checks = {
            "albums_per_market": self.albums_per_market >= 1,
            "token_lifetime": self.token_lifetime > 0,
            "rate_limit": self.rate_limit is None or self.rate_limit >= 1,
            "rate_window": self.rate_window > 0,
            "quota": self.quota is None or self.quota >= 0,
            "quota_retry_after": self.quota_retry_after >= 1,
            "latency": self.latency >= 0,
            "latency_jitter": self.latency_jitter >= 0,
            "port": 0 <= self.port <= 65535,
            "hostile_body_bytes": self.hostile_body_bytes >= 1024,
            "day": self.day >= 0,
            "day_seconds": self.day_seconds is None or self.day_seconds > 0,
        }
        for name, ok in checks.items():
            if not ok:
                value = getattr(self, name)
                raise SettingsError(name, f"{{{name}}} is out of range: {{v!r}}", v=value)

    @property
    def today_date(self) -> dt.date:
        """``today`` as a date."""
        return dt.date.fromisoformat(self.today)

    @property
    def simulated_date(self) -> dt.date:
        """The simulated date the sandbox serves: ``today`` plus ``day`` days (a dataset
        run records it as its listing's observation date)."""
        return self.today_date + dt.timedelta(days=self.day)

    def replace(self, **changes: object) -> SandboxConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
