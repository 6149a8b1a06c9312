"""Property tests: pagination arithmetic, id parsing, Retry-After parsing, and the journal
that makes a killed pull resumable exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import math
import string
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from async_spotify_etl.client.retry import RetryPolicy, parse_retry_after
from async_spotify_etl.core.errors import InvalidIdError
from async_spotify_etl.core.ids import is_spotify_id, parse_album_ref, validate_id
from async_spotify_etl.core.settings import ClientSettings
from async_spotify_etl.engine.endpoints import (
    ALBUMS_PER_BATCH,
    LISTING_PAGE,
    PAGES_AHEAD_PER_CONCURRENCY,
    SpotifyAPI,
)
from async_spotify_etl.engine.plan import minimum_requests
from async_spotify_etl.output.layout import JOURNAL_NAME, STREAMS, data_path
from async_spotify_etl.output.reader import read_committed
from async_spotify_etl.output.sink import Sink

BASE62 = string.digits + string.ascii_letters
ids = st.text(alphabet=BASE62, min_size=22, max_size=22)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- pagination arithmetic -----------------------------------------------------------


class FakeSpotify:
    """Serves listings and albums like Spotify's paging objects, counting requests.

    ``claimed`` makes a listing's ``total`` lie (larger than what it holds)."""

    settings = ClientSettings()  # the planner pages ahead by the concurrency

    def __init__(self, listings: dict[str, list[str]], tracks: dict[str, int], claimed: int = 0):
        self.listings = listings
        self.tracks = tracks
        self.claimed = claimed
        self.requests: Counter[str] = Counter()

    async def get_json(self, target: str, params: dict[str, Any], *, endpoint: str) -> Any:
        self.requests[endpoint] += 1
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        if endpoint == "new-releases":
            ids = self.listings[str(params["country"])]
            items = [{"id": a, "type": "album"} for a in ids[offset : offset + limit]]
            return {"albums": self._page(items, offset, limit, len(ids) + self.claimed)}
        if endpoint == "several-albums":
            return {"albums": [self._album(a) for a in str(params["ids"]).split(",")]}
        album_id = target.split("/")[2]
        items = self._tracks(album_id)[offset : offset + limit]
        return self._page(items, offset, limit, self.tracks[album_id])

    def _tracks(self, album_id: str) -> list[dict[str, Any]]:
        return [{"id": f"{album_id[:16]}{n:06d}", "n": n} for n in range(self.tracks[album_id])]

    def _album(self, album_id: str) -> dict[str, Any]:
        first = self._page(self._tracks(album_id)[:50], 0, 50, self.tracks[album_id])
        return {"id": album_id, "tracks": first}

    @staticmethod
    def _page(items: list[Any], offset: int, limit: int, total: int) -> dict[str, Any]:
        more = offset + limit < total
        return {
            "items": items,
            "offset": offset,
            "limit": limit,
            "total": total,
            "next": f"https://api.example/next?offset={offset + limit}" if more else None,
        }


catalogues = st.dictionaries(ids, st.integers(0, 260), min_size=1, max_size=60).flatmap(
    lambda tracks: st.tuples(
        st.just(tracks),
        st.dictionaries(
            st.sampled_from(["US", "GB", "DE"]),
            st.lists(st.sampled_from(sorted(tracks)), unique=True, max_size=len(tracks)),
            min_size=1,
        ),
    )
)


@FAST
@given(catalogues)
def test_the_extended_plan_makes_exactly_the_minimum_requests(
    catalogue: tuple[dict[str, int], dict[str, list[str]]],
) -> None:
    tracks, listings = catalogue
    fake = FakeSpotify(listings, tracks)

    async def pull() -> dict[str, list[str]]:
        api = SpotifyAPI(fake)  # type: ignore[arg-type]
        listed = {
            m: [a["id"] async for page in api.new_releases(m) for a in page.items] for m in listings
        }
        unique = list(dict.fromkeys(a for ids in listed.values() for a in ids))
        got: dict[str, list[str]] = {}
        for start in range(0, len(unique), ALBUMS_PER_BATCH):
            for album in await api.several_albums(unique[start : start + 20], "US"):
                assert album is not None
                got[album["id"]] = [t["id"] for t in await api.complete_tracks(album, "US")]
        assert listed == listings
        return got

    got = asyncio.run(pull())
    assert got == {a: [t["id"] for t in fake._tracks(a)] for a in got}
    assert set(got) == {a for ids in listings.values() for a in ids}
    expected = {k: v for k, v in minimum_requests(listings, tracks).items() if v}
    assert +fake.requests == expected


@FAST
@given(st.integers(0, 400), st.integers(1, 3 * LISTING_PAGE) | st.integers(1, 10**9))
def test_a_lying_total_costs_little_and_never_duplicates_or_invents_albums(
    size: int, lie: int
) -> None:
    listing = [f"{n:022d}" for n in range(size)]
    fake = FakeSpotify({"US": listing}, {}, claimed=lie)

    async def pages() -> list[str]:
        api = SpotifyAPI(fake)  # type: ignore[arg-type]
        return [a["id"] async for page in api.new_releases("US") for a in page.items]

    assert asyncio.run(pages()) == listing
    # Every page carries a next link (the lie), so the real end is the first empty page.
    claimed = max(1, math.ceil((size + lie) / LISTING_PAGE))
    needed = min(claimed, math.ceil(size / LISTING_PAGE) + 1)
    ahead = PAGES_AHEAD_PER_CONCURRENCY * fake.settings.concurrency
    assert needed <= fake.requests["new-releases"] <= min(claimed, needed + ahead - 1)


# -- ids -----------------------------------------------------------------------------


@given(ids, st.sampled_from(["", "intl-de/", "intl-pt/"]), st.text(BASE62 + "=&", max_size=12))
def test_every_form_of_an_album_reference_gives_its_id(album_id: str, intl: str, si: str) -> None:
    for ref in (
        album_id,
        f"  spotify:album:{album_id}\t",
        f"https://open.spotify.com/{intl}album/{album_id}",
        f"https://open.spotify.com/{intl}album/{album_id}?si={si}",
    ):
        assert parse_album_ref(ref) == album_id
    assert validate_id(album_id) == album_id


@given(st.text(max_size=60))
def test_anything_else_is_refused_and_an_accepted_id_is_always_safe_in_a_path(text: str) -> None:
    try:
        album_id = parse_album_ref(text)
    except InvalidIdError:
        assert not is_spotify_id(text.strip())
        return
    assert is_spotify_id(album_id)
    assert album_id in text
    assert not set(album_id) & set("/.%?#&\\ \n")


@given(st.text(max_size=30))
def test_an_id_is_exactly_22_ascii_base62_characters(value: str) -> None:
    expected = len(value) == 22 and all(c in BASE62 for c in value)
    assert is_spotify_id(value) is expected
    if not expected:
        with pytest.raises(InvalidIdError):
            validate_id(value)


# -- Retry-After ---------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 25, 6, 0, 0, tzinfo=dt.UTC)


@given(st.integers(0, 10**7), st.sampled_from(["", " ", "\t"]))
def test_retry_after_seconds_are_read_exactly(seconds: int, pad: str) -> None:
    assert parse_retry_after(f"{pad}{seconds}{pad}", NOW) == float(seconds)


@given(st.integers(-(10**6), 10**6))
def test_retry_after_as_an_http_date_is_the_seconds_until_then(delta: int) -> None:
    header = email.utils.format_datetime(NOW + dt.timedelta(seconds=delta), usegmt=True)
    assert parse_retry_after(header, NOW) == max(0.0, float(delta))


@given(st.text(max_size=40))
def test_any_retry_after_header_is_none_or_a_finite_wait(header: str) -> None:
    seconds = parse_retry_after(header, NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@given(
    st.integers(0, 80),
    st.one_of(st.none(), st.floats(0, 10**5)),
    st.floats(0, 0.999999),
)
def test_a_retry_delay_honours_retry_after_and_the_cap(
    attempt: int, retry_after: float | None, roll: float
) -> None:
    policy = RetryPolicy(max_retries=5, base=0.5, cap=30.0, random=lambda: roll)
    delay = policy.delay(attempt, retry_after)
    if retry_after:
        assert retry_after <= delay <= retry_after + policy.retry_after_jitter
    else:
        assert 0 <= delay <= policy.cap


# -- the journal and resume ----------------------------------------------------------

albums = st.lists(st.integers(0, 6), min_size=1, max_size=30)  # tracks per album
cuts = st.lists(st.integers(1, 8), min_size=1, max_size=12)  # albums per commit


def _album(n: int, tracks: int) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    album_id = f"{n:022d}"
    return album_id, {"id": album_id}, [{"id": f"{n:016d}{t:06d}"} for t in range(tracks)]


@FAST
@given(
    albums,
    cuts,
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from(["none", "gzip"]),
)
def test_a_crash_anywhere_then_resume_keeps_each_record_exactly_once(
    shape: list[int], commits: list[int], torn: int, journal_torn: int, compress: str
) -> None:
    """Commit some albums, then crash part-way through the next commit, torn anywhere.
    Resume must find exactly the committed albums done; finishing must then hold every
    album and track exactly once, with no torn line."""
    catalogue = [_album(n, tracks) for n, tracks in enumerate(shape)]
    plan = {"markets": ["US"], "compress": compress}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        committed = asyncio.run(_crash(out, plan, catalogue, commits, torn, journal_torn))
        resumed = asyncio.run(_resume(out, plan, catalogue))
        assert resumed == {album_id for album_id, _, _ in catalogue[:committed]}
        lines = {name: list(read_committed(out, name)) for name in ("albums", "tracks")}
        assert Counter(a["id"] for a in lines["albums"]) == {a: 1 for a, _, _ in catalogue}
        want_tracks = Counter(t["id"] for _, _, ts in catalogue for t in ts)
        assert Counter(t["id"] for t in lines["tracks"]) == want_tracks
        if compress == "none":
            for name in STREAMS:
                data = (out / f"{name}.ndjson").read_bytes()
                assert all(orjson.loads(line) for line in data.splitlines())


async def _crash(
    out: Path,
    plan: dict[str, Any],
    catalogue: list[Any],
    commits: list[int],
    torn: int,
    journal_torn: int,
) -> int:
    """Commit ``catalogue`` in batches of the given sizes, then leave what a process killed
    in the middle of the next commit leaves: part of its lines in the data files and part
    of its journal line. Return how many albums were committed."""
    done = 0
    async with Sink(
        out, plan, compress=plan["compress"], commit_interval=3600, fsync=False
    ) as sink:
        for size in commits[:-1]:
            for album in catalogue[done : done + size]:
                sink.add_album(*album)
            sink.commit()
            done = min(len(catalogue), done + size)
    unfinished = catalogue[done : done + commits[-1]]
    if unfinished:
        lines = {
            "albums": b"".join(orjson.dumps(a) + b"\n" for _, a, _ in unfinished),
            "tracks": b"".join(orjson.dumps(t) + b"\n" for _, _, ts in unfinished for t in ts),
        }
        for name, data in lines.items():
            with data_path(out, name, plan["compress"]).open("ab") as handle:
                handle.write(data[: torn % (len(data) + 1)])
        tail = b'{"albums":99999,"tracks":99999,"errors":0,"ids":["' + b"x" * 22 + b'"]}\n'
        with (out / JOURNAL_NAME).open("ab") as journal:
            journal.write(tail[: journal_torn % len(tail)])
    return done


async def _resume(out: Path, plan: dict[str, Any], catalogue: list[Any]) -> set[str]:
    """Resume, finish the pull, and return the album ids the resume found done."""
    async with Sink(out, plan, compress=plan["compress"], resume=True, fsync=False) as sink:
        found = set(sink.done)
        for album in catalogue:
            if album[0] not in sink.done:
                sink.add_album(*album)
    return found
