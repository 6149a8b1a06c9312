"""The sandbox's ``day``: new-releases lists that move from day to day, deterministically."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import orjson
import pytest

from async_spotify_etl.core.errors import SettingsError
from async_spotify_etl.sandbox import SandboxConfig
from async_spotify_etl.sandbox.catalogue import NEW_DAYS, Catalogue
from async_spotify_etl.sandbox.listings import POOL
from async_spotify_etl.sandbox.objects import FRESH_DAYS, render_album

from .conftest import ApiFactory

BASE = "http://127.0.0.1:1/v1"
MARKETS = ("US", "GB", "SE")
DAYS = 30


def _catalogue(day: int, **fields: Any) -> Catalogue:
    config = SandboxConfig(seed=4, markets=MARKETS, day=day, **fields)
    return Catalogue(config, BASE)


@pytest.fixture(scope="module")
def lists() -> list[dict[str, list[str]]]:
    """Each market's listed album ids on days 0 .. DAYS."""
    days = [_catalogue(day) for day in range(DAYS + 1)]
    return [{m: [c.shape(i).id for i in c.listing(m)] for m in MARKETS} for c in days]


def test_day_0_lists_what_the_sandbox_listed_before_it_had_days() -> None:
    """Day 0 is each market's draw from a pool three times a list's length, in the order
    drawn from (seed, market), the albums rendered as always."""
    size = 30
    plain = Catalogue(SandboxConfig(seed=4, markets=MARKETS, albums_per_market=size), BASE)
    explicit = _catalogue(0, albums_per_market=size)
    for market in MARKETS:
        model = random.Random(f"4/listing/{market}").sample(range(POOL * size), size)
        assert plain.listing(market) == explicit.listing(market) == model
    assert plain.album_count == explicit.album_count == POOL * size
    assert plain.truth() == explicit.truth()
    for index in plain.listing("GB")[:5]:
        assert plain.album(index) == render_album(plain.config, BASE, index)
        assert 0 <= plain.shape(index).days_old <= 400


@pytest.mark.parametrize("day", [0, 1, 4, 11, 30])
def test_a_markets_list_depends_only_on_seed_market_and_day(day: int) -> None:
    """#24.8: the US list is the same whichever other markets are configured, and in
    whatever order."""
    configs = [("US", "GB", "DE"), ("US", "GB", "DE", "SE"), ("SE", "US"), ("US",), ("JP", "US")]
    served: list[list[str]] = []
    for markets in configs:
        catalogue = Catalogue(SandboxConfig(seed=9, markets=markets, day=day), BASE)
        served.append([catalogue.shape(i).id for i in catalogue.listing("US")])
    assert all(entry == served[0] for entry in served[1:])
    # and the markets still overlap: any two by about a third on day 0, less as they move
    catalogue = Catalogue(SandboxConfig(seed=9, markets=("US", "GB", "DE", "SE"), day=day), BASE)
    lists = {m: set(catalogue.listing(m)) for m in catalogue.config.markets}
    for a, b in (("US", "GB"), ("US", "SE"), ("GB", "DE")):
        assert (18 if day == 0 else 5) <= len(lists[a] & lists[b]) <= 50, (a, b)


def test_lists_on_consecutive_days_overlap_but_move(lists: list[dict[str, list[str]]]) -> None:
    for day in range(1, DAYS + 1):
        for market in MARKETS:
            before, now = lists[day - 1][market], lists[day][market]
            assert len(now) == len(set(now)) == 100
            stayed = set(before) & set(now)
            friday = (dt.date(2026, 11, 25) + dt.timedelta(days=day)).weekday() == 4
            low, high = (60, 80) if friday else (75, 95)  # stayed, returns counted in
            assert low <= len(stayed) <= high, (day, market, len(stayed))
            still = sum(before.index(a) == now.index(a) for a in stayed)
            assert still < len(stayed) // 4, (day, market)
    assert lists[1] != lists[2]


def test_entering_albums_are_new_and_a_few_come_back(lists: list[dict[str, list[str]]]) -> None:
    ever: set[str] = set(a for ids in lists[0].values() for a in ids)
    returned = entered = 0
    for day in range(1, DAYS + 1):
        for market in MARKETS:
            earlier = {a for d in range(day) for a in lists[d][market]}
            for album in set(lists[day][market]) - set(lists[day - 1][market]):
                entered += 1
                if album in earlier:
                    returned += 1
                else:  # new to this market: new everywhere unless another market has it today
                    assert album not in ever or any(
                        album in lists[day][m] for m in MARKETS if m != market
                    )
        ever |= {a for ids in lists[day].values() for a in ids}
    assert 0 < returned < entered * 0.1
    # markets share some of each day's new albums, as on day 0
    new_us = set(lists[DAYS]["US"]) - {a for d in range(DAYS) for a in lists[d]["US"]}
    assert new_us & set(lists[DAYS]["GB"])


def test_an_album_is_the_same_on_every_day() -> None:
    days = [_catalogue(day, albums_per_market=40) for day in (0, 3, 4, 11)]
    by_id: dict[str, bytes] = {}
    for catalogue in days:
        for market in MARKETS:
            for index in catalogue.listing(market):
                rendered = catalogue.album(index)
                body = rendered.full_prefix + b"[" + b",".join(rendered.tracks) + b"]}"
                assert by_id.setdefault(rendered.shape.id, body) == body
    seen_twice = [a for a in by_id if sum(c.index_of(a) is not None for c in days) == 4]
    assert len(seen_twice) > 40


def test_entering_albums_are_released_just_before_they_enter(
    lists: list[dict[str, list[str]]],
) -> None:
    today = dt.date(2026, 11, 25)
    catalogue = _catalogue(DAYS)
    for day in range(1, DAYS + 1):
        earlier = {a for d in range(day) for ids in lists[d].values() for a in ids}
        for album_id in {a for ids in lists[day].values() for a in ids} - earlier:
            index = catalogue.index_of(album_id)
            assert index is not None
            album = orjson.loads(catalogue.album(index).simplified)
            released = dt.date.fromisoformat(album["release_date"])
            entered = today + dt.timedelta(days=day)
            assert entered - dt.timedelta(days=FRESH_DAYS) < released <= entered


async def test_two_sandboxes_serve_the_same_day(api_factory: ApiFactory) -> None:
    fields = {"seed": 6, "markets": MARKETS, "albums_per_market": 60, "day": 5}
    served = []
    for _ in range(2):
        api = await api_factory(**fields)
        ids = {}
        for market in MARKETS:
            page: list[str] = []
            for offset in (0, 50):
                status, body = await api.get(
                    "/browse/new-releases", {"country": market, "limit": 50, "offset": offset}
                )
                assert status == 200
                page += [a["id"] for a in body["albums"]["items"]]
            ids[market] = page
        assert ids == api.sandbox.truth()["markets"]
        served.append(ids)
    assert served[0] == served[1]
    day0 = Catalogue(SandboxConfig(**{**fields, "day": 0}), BASE).truth()["markets"]
    assert served[0] != day0


async def test_an_album_that_left_is_still_served_unchanged(api_factory: ApiFactory) -> None:
    fields = {"seed": 6, "markets": ("US",), "albums_per_market": 20}
    first, later = await api_factory(**fields), await api_factory(**fields, day=12)
    left = set(first.sandbox.truth()["markets"]["US"]) - set(later.sandbox.truth()["albums"])
    assert left
    for album_id in sorted(left)[:3]:
        bodies = []
        for api in (first, later):
            status, _, body = await api.raw(f"/albums/{album_id}")
            assert status == 200
            bodies.append(body.replace(api.sandbox.api_url.encode(), b"BASE"))
        assert bodies[0] == bodies[1]


def test_truth_follows_the_day() -> None:
    for day in (0, 6, 20):
        catalogue = _catalogue(day)
        truth = catalogue.truth()
        listed = {catalogue.shape(i).id: i for m in MARKETS for i in catalogue.listing(m)}
        assert truth["markets"] == {
            m: [catalogue.shape(i).id for i in catalogue.listing(m)] for m in MARKETS
        }
        assert set(truth["albums"]) == set(truth["credits"]) == set(listed)
        now = dt.date(2026, 11, 25) + dt.timedelta(days=day)
        recent = []
        for album_id, index in listed.items():
            album = orjson.loads(catalogue.album(index).simplified)
            if album["release_date_precision"] == "day":
                age = (now - dt.date.fromisoformat(album["release_date"])).days
                if age < NEW_DAYS:
                    recent.append(album_id)
        assert sorted(truth["search_new"]) == sorted(recent)
        credited = {a for ids in truth["credits"].values() for a in ids}
        assert set(truth["artists"]) == credited
    assert set(_catalogue(20).truth()["search_new"]).isdisjoint(_catalogue(0).truth()["search_new"])


def test_a_negative_day_is_refused_naming_the_field() -> None:
    with pytest.raises(SettingsError) as raised:
        SandboxConfig(day=-1)
    assert raised.value.field == "day"
    assert "day" in str(raised.value)


def test_a_late_day_of_a_large_catalogue_is_cheap_to_start() -> None:
    """Only what is asked is computed: the lists of the markets that are read."""
    catalogue = _catalogue(200, albums_per_market=20_000)
    assert catalogue.listing_length("US") == 20_000
    listing = catalogue.listing("SE")
    assert len(set(listing)) == 20_000
    assert max(listing) < catalogue.album_count
