"""What the sandbox saw: requests by route and status, tokens, 429s, concurrency, bytes,
and per emulated API (Spotify, Deezer, MusicBrainz) its requests, throttled answers and
errors."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

ROUTES = (
    "token",
    "new-releases",
    "several-albums",
    "album",
    "album-tracks",
    "search",
    "several-artists",
    "artist",
    "artist-albums",
    "other",
    "deezer-album-upc",
    "deezer-album",
    "deezer-album-tracks",
    "deezer-track-isrc",
    "deezer-track",
    "deezer-artist",
    "deezer-genre",
    "deezer-other",
    "musicbrainz-release-search",
    "musicbrainz-release-group",
    "musicbrainz-isrc",
    "musicbrainz-recording",
    "musicbrainz-artist",
    "musicbrainz-other",
)
APIS = ("spotify", "deezer", "musicbrainz")
#: Routes that take ``ids=``: their answered calls are counted by how many ids each held.
BATCH_ROUTES = ("several-albums", "several-artists")


class SandboxStats:
    """Counters behind ``GET /_sandbox/stats``."""

    def __init__(self) -> None:
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.ids_per_call: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.tokens_issued = 0
        self.throttled = 0
        self.during_retry_after = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bytes_sent = 0
        self.apis: dict[str, Counter[str]] = {api: Counter() for api in APIS}
        self.api_errors: dict[str, Counter[str]] = {api: Counter() for api in APIS}

    def __repr__(self) -> str:
        total = sum(sum(c.values()) for c in self.requests.values())
        return f"<SandboxStats requests={total} in_flight={self.in_flight}>"

    def enter(self) -> None:
        """A request started."""
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def leave(self, route: str, status: int | str, size: int) -> None:
        """A request finished with ``status`` (or "dropped") after sending ``size`` bytes."""
        self.in_flight -= 1
        self.requests[route][str(status)] += 1
        self.bytes_sent += size
        self.apis[api_of(route)]["requests"] += 1

    def api_throttled(self, api: str) -> None:
        """``api`` refused a request for its rate limit (Deezer's code 4, MusicBrainz's 503)."""
        self.apis[api]["throttled"] += 1

    def api_shed(self, api: str) -> None:
        """``api`` shed a request although the client kept to its rate (MusicBrainz)."""
        self.apis[api]["shed"] += 1

    def api_error(self, api: str, code: int | str) -> None:
        """``api`` answered with error ``code`` (Deezer's body code, MusicBrainz's status)."""
        self.api_errors[api][str(code)] += 1

    def batch(self, route: str, ids: int) -> None:
        """A call of a batch route answered 200 for ``ids`` ids."""
        self.ids_per_call[route][ids] += 1

    def snapshot(self) -> dict[str, Any]:
        """The stats as plain JSON-ready data."""
        return {
            "requests": {route: dict(counts) for route, counts in self.requests.items()},
            "ids_per_call": {
                route: {str(size): n for size, n in sorted(sizes.items())}
                for route, sizes in self.ids_per_call.items()
            },
            "tokens_issued": self.tokens_issued,
            "throttled": self.throttled,
            "during_retry_after": self.during_retry_after,
            "max_in_flight": self.max_in_flight,
            "bytes_sent": self.bytes_sent,
            "apis": {
                api: {
                    "requests": counts["requests"],
                    "throttled": self.throttled if api == "spotify" else counts["throttled"],
                    "shed": counts["shed"],
                    "errors": dict(self.api_errors[api]),
                }
                for api, counts in self.apis.items()
            },
        }


def api_of(route: str) -> str:
    """Which emulated API a route belongs to."""
    head = route.partition("-")[0]
    return head if head in ("deezer", "musicbrainz") else "spotify"
