"""The flags of ``spotify-etl pull``: names, defaults and one-line validation.

The names are a contract with users and scripts; defaults come from settings.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from ...core import settings as defaults
from ...core.settings import ENRICH_SOURCES

#: The flag that sets each field of PullSettings and ClientSettings: library messages
#: name fields, and the CLI shows them as the flags a user typed.
SETTING_FLAGS = {
    "out": "--out",
    "markets": "--market",
    "source": "--source",
    "ids_file": "--ids",
    "artist_ids": "--artist-ids",
    "since": "--since",
    "include_groups": "--include-groups",
    "expand": "--expand",
    "artists": "--artists",
    "enrich": "--enrich",
    "max_albums": "--max-albums",
    "resume": "--resume",
    "compress": "--compress",
    "api_url": "--api-url",
    "token_url": "--accounts-url",
    "rate": "--rate",
    "burst": "--burst",
    "window": "--window",
    "forget_limit": "--forget-limit",
    "concurrency": "--concurrency",
    "max_retries": "--max-retries",
    "max_wait": "--max-wait",
    "budget": "--budget",
    "dataset": "--dataset",
    "refresh_after": "--refresh-after",
    "abandon_unfinished": "--abandon-unfinished",
    "publish": "--publish",
    "timeout": "--timeout",
    "env_file": "--env-file",
}


class HelpFormatter(argparse.HelpFormatter):
    """Shows each flag's default, unless it has none or its help already states it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _folder(text: str) -> Path:
    """A folder named on the command line; an empty name (``--out ""``) would write into the
    current directory, so it is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty folder name would write into the current directory; name a folder"
        )
    return Path(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _rate(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or auto: {text!r}") from None
    return _positive_float(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more seconds, got {text}")
    return value


def _window(text: str) -> tuple[int, float]:
    limit, slash, seconds = text.partition("/")
    if not slash:
        raise argparse.ArgumentTypeError(f"not N/SECONDS: {text!r}")
    try:
        value = (int(limit), float(seconds))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not N/SECONDS: {text!r}") from None
    if value[0] < 1 or not 0 < value[1] < float("inf"):
        raise argparse.ArgumentTypeError(f"needs N of 1 or more and SECONDS above 0, got {text}")
    return value


def _since(text: str) -> str | int:
    """``--since``: a ``YYYY-MM-DD`` date (kept as text), or a number of days."""
    if text.isdigit():
        return int(text)
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        why = f"not a YYYY-MM-DD date or a number of days: {text!r}"
        raise argparse.ArgumentTypeError(why) from None


def _groups(text: str) -> tuple[str, ...]:
    groups = tuple(dict.fromkeys(g.strip() for g in text.split(",") if g.strip()))
    wrong = [g for g in groups if g not in defaults.ALBUM_GROUPS]
    if wrong or not groups:
        raise argparse.ArgumentTypeError(
            f"not an album group: {(wrong or [text])[0]!r} (groups:"
            f" {', '.join(defaults.ALBUM_GROUPS)})"
        )
    return groups


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every ``pull`` flag to ``parser``."""
    _add_what(parser.add_argument_group("what to pull"))
    _add_how(parser.add_argument_group("how fast and how patiently"))
    _add_output(parser.add_argument_group("output"))
    _add_where(parser.add_argument_group("where"))
    _add_sandbox(parser.add_argument_group("embedded sandbox (no credentials, no network)"))


def _enrich(text: str) -> tuple[str, ...]:
    """``--enrich deezer,musicbrainz``: the public APIs to enrich from, each once."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in ENRICH_SOURCES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(ENRICH_SOURCES)}, got {text!r}"
        )
    return names


def _add_what(what: argparse._ArgumentGroup) -> None:
    what.add_argument(
        "--out", type=_folder, metavar="DIR", help="output directory of one pull (default: data)"
    )
    what.add_argument(
        "--dataset",
        type=_folder,
        metavar="DIR",
        help="instead of --out: add one run to the dataset kept in DIR (a folder per run;"
        " albums the dataset holds are not fetched again; an unfinished last run is"
        " finished first)",
    )
    what.add_argument(
        "--abandon-unfinished",
        action="store_true",
        help="with --dataset: leave the unfinished last run as it is (what it fetched stays,"
        " recorded as abandoned in dataset.json) and take a new snapshot, instead of"
        " finishing it first",
    )
    what.add_argument(
        "--refresh-after",
        type=_positive_float,
        metavar="DAYS",
        help="with --dataset: fetch again the albums fetched more than DAYS ago (default: never)",
    )
    what.add_argument(
        "--publish",
        metavar="nats://HOST:PORT/PREFIX",
        help="with --dataset: publish each finished run's events, albums and artists to"
        " NATS JetStream under PREFIX, exactly once (the stream extra; docs/realtime.md)",
    )
    what.add_argument(
        "--market",
        action="append",
        metavar="CODE",
        help="market (country code); repeat or comma-separate (default: US)",
    )
    what.add_argument(
        "--source",
        choices=["auto", "new-releases", "search", "ids", "artists"],
        help="discovery: auto tries new-releases and falls back"
        " to search tag:new on 403; --ids FILE implies ids, --artist-ids FILE artists"
        " (default: auto)",
    )
    what.add_argument(
        "--ids",
        type=Path,
        metavar="FILE",
        help="album ids, spotify:album: URIs or open.spotify.com URLs, one a"
        " line ('-' reads stdin)",
    )
    what.add_argument(
        "--artist-ids",
        type=Path,
        metavar="FILE",
        help="a watchlist: artist ids, spotify:artist: URIs or open.spotify.com/artist/"
        " URLs, one a line ('#' comments, '-' reads stdin); pulls their recent releases"
        " through Get Artist's Albums (both access modes; one --market)",
    )
    what.add_argument(
        "--since",
        type=_since,
        metavar="DATE|DAYS",
        help="with --artist-ids: keep releases dated on or after DATE (YYYY-MM-DD), or"
        f" of the last DAYS days (default: {defaults.DEFAULT_SINCE_DAYS}, the span"
        " search tag:new covers; with --sandbox counted from the sandbox's day)",
    )
    what.add_argument(
        "--include-groups",
        type=_groups,
        metavar="GROUPS",
        help="with --artist-ids: the album groups listed, comma-separated, of"
        f" {', '.join(defaults.ALBUM_GROUPS)} (default:"
        f" {','.join(defaults.DEFAULT_INCLUDE_GROUPS)})",
    )
    what.add_argument(
        "--expand",
        choices=["auto", "several", "album", "tracks"],
        help="expansion: auto tries several-albums (20 per call) and falls back"
        " to Get Album on 403; tracks uses Get Album Tracks only (default: auto)",
    )
    what.add_argument(
        "--artists",
        choices=["auto", "several", "single", "off"],
        help="fetch every artist credited on an album or track into artists.ndjson: auto"
        " uses several-artists (50 per call) and skips, saying so, where the app is in"
        " development mode; single asks Get Artist once per artist (default: auto)",
    )
    what.add_argument(
        "--enrich",
        type=_enrich,
        metavar="API[,API]",
        help="after the albums are written, look each up by UPC (and its tracks by ISRC) on"
        " deezer and/or musicbrainz, into deezer_*.ndjson and musicbrainz_releases.ndjson"
        " (key-less public APIs, non-commercial use; see docs/enrich.md) (default: off)",
    )
    what.add_argument(
        "--max-albums",
        type=_positive_int,
        metavar="N",
        help="stop after N unique albums (default: all)",
    )


def _add_how(how: argparse._ArgumentGroup) -> None:
    how.add_argument(
        "--concurrency",
        type=_positive_int,
        default=defaults.DEFAULT_CONCURRENCY,
        metavar="N",
        help="requests in flight at once",
    )
    how.add_argument(
        "--rate",
        type=_rate,
        metavar="R|auto",
        help=f"requests per second, or auto: start at {defaults.POLITE_RATE:g}/s, double"
        " while no 429 comes, learn the app's rolling-window limit from the first 429 and"
        " pace by it (default: auto; a --window given turns auto off, so --rate auto"
        " --window is refused)",
    )
    how.add_argument(
        "--burst",
        type=_positive_int,
        default=defaults.DEFAULT_BURST,
        metavar="N",
        help="requests that may leave at once after an idle spell",
    )
    how.add_argument(
        "--window",
        type=_window,
        default=defaults.DEFAULT_WINDOW,
        metavar="N/SECONDS",
        help="also at most N requests per rolling SECONDS, counted from each answer, so"
        " a server counting arrivals sees no more; for a known limit of 30 per 5 s:"
        " --window 30/5 --rate 6 --burst 30 (default: off)",
    )
    how.add_argument(
        "--forget-limit",
        action="store_true",
        help="with --rate auto, forget the limit earlier runs of this app learned and"
        " learn it again (refused with a --rate number or a --window: nothing to learn)",
    )
    how.add_argument(
        "--max-retries",
        type=_count,
        default=defaults.DEFAULT_MAX_RETRIES,
        metavar="N",
        help="retries of one request (5xx, timeouts, 429s)",
    )
    how.add_argument(
        "--max-wait",
        type=_seconds,
        default=defaults.DEFAULT_MAX_WAIT,
        metavar="SECONDS",
        help="a longer Retry-After stops the pull resumably (exit 75) instead of sleeping",
    )
    how.add_argument(
        "--budget",
        type=_positive_int,
        metavar="N",
        help="at most N API requests this run; then stop resumably (exit 75), so a large"
        " pull spreads over several runs (default: no budget)",
    )
    how.add_argument(
        "--timeout",
        type=_positive_float,
        default=defaults.DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="seconds for one request",
    )


def _add_output(out: argparse._ArgumentGroup) -> None:
    out.add_argument(
        "--resume",
        action="store_true",
        help="continue the pull in --out where it stopped; what to pull (markets, source,"
        " expand, max albums, compression, ids file, since, groups) comes from the pull,"
        " and flags given for them must agree",
    )
    out.add_argument(
        "--compress",
        choices=["none", "gzip"],
        help="gzip writes .ndjson.gz files (default: none)",
    )
    out.add_argument(
        "--dry-run", action="store_true", help="print the request plan, count and time, then exit"
    )
    out.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="live bar on a terminal, periodic log line otherwise (default: on)",
    )
    out.add_argument("--quiet", action="store_true", help="only warnings and errors")
    out.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="format of every line on stderr; json: one object a line",
    )


def _add_where(where: argparse._ArgumentGroup) -> None:
    where.add_argument(
        "--api-url",
        metavar="URL",
        help=f"Web API base URL (env SPOTIFY_API_URL; default {defaults.DEFAULT_API_URL})",
    )
    where.add_argument(
        "--accounts-url",
        metavar="URL",
        help=f"full token URL (env SPOTIFY_ACCOUNTS_URL; default {defaults.DEFAULT_TOKEN_URL})",
    )
    where.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help="read SPOTIFY_* variables from this file (default: ./.env if it"
        " exists); the environment wins",
    )


#: The embedded sandbox's config fields and the pull's flags that set them.
SANDBOX_FLAGS = {
    "seed": "--sandbox-seed",
    "albums_per_market": "--sandbox-albums",
    "access": "--sandbox-access",
    "latency": "--sandbox-latency",
    "rate_limit": "--sandbox-rate-limit",
    "day": "--sandbox-day",
    "day_seconds": "--sandbox-day-seconds",
}
#: The --sandbox-* options when not given (None in the namespace: given or not is known).
SANDBOX_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "albums_per_market": 100,
    "access": "extended",
    "latency": 0.02,
    "rate_limit": 600,
    "day": 0,
    "day_seconds": None,
}


def _add_sandbox(sandbox: argparse._ArgumentGroup) -> None:
    sandbox.add_argument(
        "--sandbox", action="store_true", help="pull from an emulated Spotify started on 127.0.0.1"
    )
    sandbox.add_argument(
        "--sandbox-seed",
        type=_count,
        metavar="N",
        help="catalogue seed (a resume must use the same; default: 0)",
    )
    sandbox.add_argument(
        "--sandbox-albums",
        type=_positive_int,
        metavar="N",
        help="albums each market lists (default: 100)",
    )
    sandbox.add_argument(
        "--sandbox-access",
        choices=["extended", "development"],
        help="the app's access mode (default: extended)",
    )
    sandbox.add_argument(
        "--sandbox-latency",
        type=_seconds,
        metavar="SECONDS",
        help="added latency per answer (default: 0.02)",
    )
    sandbox.add_argument(
        "--sandbox-rate-limit",
        type=_count,
        metavar="N",
        help="requests per rolling 30 s before 429s (0: none; default: 600)",
    )
    sandbox.add_argument(
        "--sandbox-day",
        type=_count,
        metavar="N",
        help="days the listings have moved since day 0 (default: 0)",
    )
    sandbox.add_argument(
        "--sandbox-day-seconds",
        type=_positive_float,
        metavar="SECONDS",
        help="the listings move while the sandbox runs: the next day begins every SECONDS"
        " (for watch; default: they never move)",
    )
