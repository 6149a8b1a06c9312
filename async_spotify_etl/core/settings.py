"""Settings as small frozen dataclasses, with every default named once here.

The CLI only builds these objects; the engine never sees command-line parsing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigurationError, SettingsError
from .markets import is_market

DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"
#: Requests per second that stay well below what extended-quota apps are reported to
#: sustain, so an untuned run is never the noisy one; ``--rate auto`` starts here too.
POLITE_RATE = 5.0
#: Requests per second, or ``"auto"``: start polite, find the app's rolling-window limit
#: from Spotify's first 429 (it publishes none), pace by it and remember it for the next run.
DEFAULT_RATE: float | Literal["auto"] = "auto"
#: Token-bucket size: how many requests may leave at once after an idle spell.
DEFAULT_BURST = 5
#: At most N requests per rolling SECONDS, as ``(N, SECONDS)``, on top of the bucket; None:
#: no such cap. Off by default: Spotify does not publish its limit, only that it counts
#: requests over a rolling 30 s window.
DEFAULT_WINDOW: tuple[int, float] | None = None
#: Requests in flight at once. The pace (``--rate``, the window) is what holds a pull to
#: the app's limit; this bounds what a latency-bound pull keeps open, so a remembered
#: limit or an unlimited server is used in full (8 measured 1.35x the floor's time there).
DEFAULT_CONCURRENCY = 32
DEFAULT_MAX_RETRIES = 5
#: A Retry-After longer than this (seconds) stops the run resumably instead of sleeping.
DEFAULT_MAX_WAIT = 120.0
#: Seconds for one whole request (connect, send, read).
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 30.0
#: Refresh a token this many seconds before Spotify says it expires.
DEFAULT_REFRESH_MARGIN = 60.0

#: The key-less public APIs a pull may enrich its albums from (``--enrich``), and where.
ENRICH_SOURCES = ("deezer", "musicbrainz")
DEFAULT_DEEZER_URL = "https://api.deezer.com"
DEFAULT_MUSICBRAINZ_URL = "https://musicbrainz.org/ws/2"
#: Deezer allows 50 requests per 5 s per IP; 9 a second, evenly, keeps every 5 s window
#: at 46 or fewer, so a pull is not the one that meets "Quota limit exceeded".
DEFAULT_DEEZER_RATE = 9.0
#: The contact the User-Agent gives (MusicBrainz asks each application for one, a URL or
#: an e-mail address): the project's home by default; a user may give their own.
DEFAULT_CONTACT = "https://github.com/async-spotify-etl/async_spotify_etl"
#: MusicBrainz allows one request a second per IP on average: one per 1.1 s.
DEFAULT_MUSICBRAINZ_INTERVAL = 1.1
#: Retries of a throttled or failed enrichment request (MusicBrainz sheds load with 503
#: even at a compliant rate, so it gets a few more than Spotify).
DEFAULT_ENRICH_RETRIES = 6

#: Field metadata, one of these on every settings field: part of a pull's plan (a resume
#: must keep it; the journal records it and refuses a change), or not (it may change
#: between a pull and its resume). Every field is recorded in manifest.json's
#: ``arguments``; a URL without its ``user:password`` part.
PLAN: Mapping[str, bool] = {"plan": True}
NOT_PLAN: Mapping[str, bool] = {"plan": False}
URL: Mapping[str, bool] = {"plan": False, "url": True}

#: ``--source artists``: releases of the last this many days, unless ``since`` says.
DEFAULT_SINCE_DAYS = 14
#: ``--source artists``: the album groups listed (Get Artist's Albums ``include_groups``).
DEFAULT_INCLUDE_GROUPS: tuple[str, ...] = ("album", "single")
#: The groups Get Artist's Albums knows.
ALBUM_GROUPS = ("album", "single", "appears_on", "compilation")

EnrichSource = Literal["deezer", "musicbrainz"]
SourceMode = Literal["auto", "new-releases", "search", "ids", "artists"]
ExpandMode = Literal["auto", "several", "album", "tracks"]
ArtistsMode = Literal["auto", "several", "single", "off"]
Compression = Literal["none", "gzip"]


@dataclass(frozen=True)
class Credentials:
    """A Spotify app's client id and secret. The secret never appears in a repr."""

    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``SPOTIFY_CLIENT_ID`` and ``SPOTIFY_CLIENT_SECRET`` from ``environ``, by
        default the process environment over ``./.env`` (as :func:`environment` reads it)."""
        env = environment() if environ is None else environ
        client_id = env.get("SPOTIFY_CLIENT_ID", "").strip()
        client_secret = env.get("SPOTIFY_CLIENT_SECRET", "").strip()
        missing = [
            name
            for name, value in (
                ("SPOTIFY_CLIENT_ID", client_id),
                ("SPOTIFY_CLIENT_SECRET", client_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"missing {' and '.join(missing)}: set {'them' if len(missing) > 1 else 'it'}"
                " in the environment or a .env file"
            )
        return cls(client_id, client_secret)


@dataclass(frozen=True)
class ClientSettings:
    """How the HTTP client talks to Spotify: where, how fast, how patiently."""

    api_url: str = field(default=DEFAULT_API_URL, metadata=URL)
    token_url: str = field(default=DEFAULT_TOKEN_URL, metadata=URL)
    rate: float | Literal["auto"] = field(default=DEFAULT_RATE, metadata=NOT_PLAN)
    burst: int = field(default=DEFAULT_BURST, metadata=NOT_PLAN)
    window: tuple[int, float] | None = field(default=DEFAULT_WINDOW, metadata=NOT_PLAN)
    concurrency: int = field(default=DEFAULT_CONCURRENCY, metadata=NOT_PLAN)
    max_retries: int = field(default=DEFAULT_MAX_RETRIES, metadata=NOT_PLAN)
    max_wait: float = field(default=DEFAULT_MAX_WAIT, metadata=NOT_PLAN)
    timeout: float = field(default=DEFAULT_TIMEOUT, metadata=NOT_PLAN)
    max_body_bytes: int = field(default=DEFAULT_MAX_BODY_BYTES, metadata=NOT_PLAN)
    backoff_base: float = field(default=DEFAULT_BACKOFF_BASE, metadata=NOT_PLAN)
    backoff_cap: float = field(default=DEFAULT_BACKOFF_CAP, metadata=NOT_PLAN)
    refresh_margin: float = field(default=DEFAULT_REFRESH_MARGIN, metadata=NOT_PLAN)
    #: Keep what runs learn about the app (limit, fastest clean rate, access mode) in the
    #: user's cache directory, and start from it; see ``client/memory.py``.
    remember: bool = field(default=True, metadata=NOT_PLAN)
    #: Where; None: ``$SPOTIFY_ETL_CACHE_DIR``, else ``$XDG_CACHE_HOME/async_spotify_etl``,
    #: else ``~/.cache/async_spotify_etl``.
    cache_dir: Path | None = field(default=None, metadata=NOT_PLAN)
    #: Forget the remembered limit and clean rate before this run (``--forget-limit``).
    forget_limit: bool = field(default=False, metadata=NOT_PLAN)
    #: At most this many API requests (retries included, the token's not) in one run;
    #: reaching it stops the run resumably. None: no budget.
    budget: int | None = field(default=None, metadata=NOT_PLAN)

    def __post_init__(self) -> None:

        rate = self.rate
        if not (rate == "auto" or (isinstance(rate, int | float) and rate > 0)):
            raise SettingsError(
                "rate", "{rate} must be positive or auto, got {value!r}", value=rate
            )
        checks = {
            "burst": self.burst >= 1,
            "concurrency": self.concurrency >= 1,
            "max_retries": self.max_retries >= 0,
            "max_wait": self.max_wait >= 0,
            "timeout": self.timeout > 0,
            "max_body_bytes": self.max_body_bytes > 0,
            "budget": self.budget is None or self.budget >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise SettingsError(
                    name, f"{{{name}}} must be positive, got {{value!r}}", value=getattr(self, name)
                )
        if self.window is not None:
            limit, seconds = self.window
            if not (limit >= 1 and 0 < seconds < float("inf")):
                raise SettingsError(
                    "window",
                    "{window} must be (requests >= 1, seconds > 0), got {value!r}",
                    value=self.window,
                )

    def replace(self, **changes: object) -> ClientSettings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def auto_rate(self) -> bool:
        """True when the rate is learned: ``rate="auto"`` and no window given by hand (a
        window keeps the meaning it has with a fixed rate: the polite one)."""
        return self.rate == "auto" and self.window is None

    @property
    def start_rate(self) -> float:
        """The rate the bucket starts at: the given one, or the polite one for ``auto``."""
        return POLITE_RATE if self.rate == "auto" else self.rate


@dataclass(frozen=True)
class EnrichSettings:
    """How the enrichment clients talk to Deezer and MusicBrainz: where, how fast."""

    deezer_url: str = field(default=DEFAULT_DEEZER_URL, metadata=URL)
    musicbrainz_url: str = field(default=DEFAULT_MUSICBRAINZ_URL, metadata=URL)
    #: Deezer requests per second, evenly paced (a bucket of one).
    deezer_rate: float = field(default=DEFAULT_DEEZER_RATE, metadata=NOT_PLAN)
    #: Seconds between two MusicBrainz requests.
    musicbrainz_interval: float = field(default=DEFAULT_MUSICBRAINZ_INTERVAL, metadata=NOT_PLAN)
    #: Named apart from the client's (manifest.json's arguments are one flat mapping).
    enrich_retries: int = field(default=DEFAULT_ENRICH_RETRIES, metadata=NOT_PLAN)
    enrich_timeout: float = field(default=DEFAULT_TIMEOUT, metadata=NOT_PLAN)
    #: Named in the User-Agent: ``async_spotify_etl/<version> ( <contact> )``.
    contact: str = field(default=DEFAULT_CONTACT, metadata=NOT_PLAN)

    def __post_init__(self) -> None:
        checks = {
            "deezer_rate": self.deezer_rate > 0,
            "musicbrainz_interval": self.musicbrainz_interval > 0,
            "enrich_retries": self.enrich_retries >= 0,
            "enrich_timeout": self.enrich_timeout > 0,
            "contact": bool(self.contact.strip()) and self.contact.isprintable(),
        }
        for name, ok in checks.items():
            if not ok:
                raise SettingsError(
                    name, f"{{{name}}} must be positive, got {{value!r}}", value=getattr(self, name)
                )


@dataclass(frozen=True)
class PullSettings:
    """One pull: what to discover, how to expand it, where to write it."""

    out: Path = field(metadata=NOT_PLAN)
    markets: tuple[str, ...] = field(default=("US",), metadata=PLAN)
    source: SourceMode = field(default="auto", metadata=PLAN)
    #: The plan holds the file's digest (``ids_sha256``), not its path. With ``source``
    #: ``artists`` it names artists (``--artist-ids``), else albums (``--ids``).
    ids_file: Path | None = field(default=None, metadata=NOT_PLAN)
    #: ``source="artists"``: keep releases dated on or after this ``YYYY-MM-DD`` date;
    #: None: :data:`DEFAULT_SINCE_DAYS` before the day the pull starts (UTC).
    since: str | None = field(default=None, metadata=PLAN)
    #: ``source="artists"``: the album groups Get Artist's Albums lists.
    include_groups: tuple[str, ...] = field(default=DEFAULT_INCLUDE_GROUPS, metadata=PLAN)
    expand: ExpandMode = field(default="auto", metadata=PLAN)
    #: Fetch every credited artist: several-artists (auto where the app may), one Get
    #: Artist each (single), or not at all (off).
    artists: ArtistsMode = field(default="auto", metadata=PLAN)
    max_albums: int | None = field(default=None, metadata=PLAN)
    resume: bool = field(default=False, metadata=NOT_PLAN)
    compress: Compression = field(default="none", metadata=PLAN)
    #: Its own fields say whether they are part of the plan (none is).
    client: ClientSettings = field(default_factory=ClientSettings, metadata=NOT_PLAN)
    #: The public APIs each pulled album is enriched from after it is written (``--enrich``):
    #: none by default; see docs/enrich.md.
    enrich: tuple[EnrichSource, ...] = field(default=(), metadata=PLAN)
    enrichment: EnrichSettings = field(default_factory=EnrichSettings, metadata=NOT_PLAN)

    def __post_init__(self) -> None:
        """Refuse settings no pull can run with, naming the field (see SettingsError)."""

        if not self.markets:
            raise SettingsError("markets", "{markets} must name at least one market")
        for code in self.markets:
            if not (len(code) == 2 and code.isascii() and code.isalpha() and code.isupper()):
                raise SettingsError(
                    "markets", "{markets} {code!r} is not a two-letter country code", code=code
                )
            if not is_market(code):
                hint = " (the United Kingdom is GB)" if code == "UK" else ""
                raise SettingsError(
                    "markets",
                    "{markets} {code!r} is not an ISO 3166-1 country{hint}",
                    code=code,
                    hint=hint,
                )
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise SettingsError(
                    name,
                    f"{{{name}}} must be one of {{allowed}}, not {{value!r}}",
                    allowed=", ".join(allowed),
                    value=getattr(self, name),
                )
        if self.max_albums is not None and self.max_albums < 1:
            raise SettingsError(
                "max_albums", "{max_albums} must be at least 1, got {value}", value=self.max_albums
            )
        self._check_artists()
        if self.ids_file is not None and self.source not in ("auto", "ids", "artists"):
            raise SettingsError(
                "ids_file", "{ids_file} needs {source} ids or auto, not {value}", value=self.source
            )
        if self.source == "ids" and self.ids_file is None:
            raise SettingsError("ids_file", "{source} ids needs {ids_file} FILE")
        for source in self.enrich:
            if source not in ENRICH_SOURCES:
                raise SettingsError(
                    "enrich",
                    "{enrich} must name {allowed}, not {value!r}",
                    allowed=" or ".join(ENRICH_SOURCES),
                    value=source,
                )
        if len(set(self.enrich)) != len(self.enrich):
            raise SettingsError("enrich", "{enrich} names a source twice")
        if self.ids_file is not None and self.expand == "tracks" and self.source != "artists":
            raise SettingsError(
                "expand", "{expand} tracks needs a listing: it cannot work from {ids_file}"
            )

    def _check_artists(self) -> None:
        """``source="artists"``: a file of artists, one market, a date, known groups."""
        if self.since is not None:
            try:
                dt.date.fromisoformat(self.since)
            except (TypeError, ValueError):
                raise SettingsError(
                    "since", "{since} must be a YYYY-MM-DD date, got {value!r}", value=self.since
                ) from None
        groups = self.include_groups
        if not groups or any(g not in ALBUM_GROUPS for g in groups):
            raise SettingsError(
                "include_groups",
                "{include_groups} must name some of {allowed}, got {value!r}",
                allowed=", ".join(ALBUM_GROUPS),
                value=",".join(groups),
            )
        if self.source != "artists":
            return
        if self.ids_file is None:
            raise SettingsError("artist_ids", "{source} artists needs {artist_ids} FILE")
        if len(self.markets) != 1:
            raise SettingsError(
                "markets",
                "{source} artists lists each artist in one market: give one {markets}",
            )

    def since_date(self, today: dt.date | None = None) -> dt.date:
        """The first release date ``source="artists"`` keeps."""
        if self.since is not None:
            return dt.date.fromisoformat(self.since)
        return (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=DEFAULT_SINCE_DAYS)


def setting_fields(settings: object) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
    """Every field of a settings object with its value, nested settings' fields in their
    place (``client`` by the client's); a field without a PLAN or NOT_PLAN mark is an error,
    so a new setting cannot be left out of the plan by forgetting it."""
    for f in dataclasses.fields(settings):  # type: ignore[arg-type]
        if "plan" not in f.metadata:
            raise TypeError(f"{type(settings).__name__}.{f.name} is not marked PLAN or NOT_PLAN")
        value = getattr(settings, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            yield from setting_fields(value)
        else:
            yield f, value


def plan_fields(cls: type) -> tuple[str, ...]:
    """The names of the fields of the dataclass ``cls`` marked PLAN."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("plan"))


def plan_of(settings: object) -> dict[str, Any]:
    """The part of a pull's plan its settings decide, as JSON-ready values."""
    return {f.name: plain(value) for f, value in setting_fields(settings) if f.metadata["plan"]}


def plain(value: object) -> Any:
    """A setting's value as JSON-ready data: paths as text, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


_CHOICES: dict[str, tuple[str, ...]] = {
    "source": ("auto", "new-releases", "search", "ids", "artists"),
    "expand": ("auto", "several", "album", "tracks"),
    "artists": ("auto", "several", "single", "off"),
    "compress": ("none", "gzip"),
}


def environment(env_file: Path | None = None) -> dict[str, str]:
    """The process environment over a ``.env`` file: ``env_file``, or ``./.env`` if present.

    Values already in the environment win. A file that cannot be read, is not a file, or
    holds a line that is not ``KEY=VALUE`` is a :class:`SettingsError` naming ``env_file``.
    """
    path = env_file if env_file is not None else Path(".env")
    values: dict[str, str] = {}
    if env_file is not None or path.exists():
        from dotenv.parser import parse_stream

        if path.is_dir():
            raise SettingsError("env_file", "{env_file} {path} is a directory", path=path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise SettingsError(
                "env_file", "cannot read {env_file} {path}: {why}", path=path, why=reason
            ) from None
        for binding in parse_stream(io.StringIO(text)):
            if binding.error:
                line = binding.original.line
                raise ConfigurationError(f"{path} line {line} is not KEY=VALUE")
            if binding.key is not None and binding.value is not None:
                values[binding.key] = binding.value
    return {**values, **os.environ}
