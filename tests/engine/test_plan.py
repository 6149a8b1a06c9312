"""The request arithmetic a pull is measured against, and the minimum a run records."""

from __future__ import annotations

from async_spotify_etl.engine.outcomes import PullStats
from async_spotify_etl.engine.plan import expansion_minimum, minimum_requests, run_minimum


def test_minimum_requests_extended_arithmetic() -> None:
    us = [f"a{i}" for i in range(120)]
    gb = us[:10] + [f"b{i}" for i in range(31)]  # 10 shared, 31 only in GB
    counts = {"a0": 50, "a1": 51, "b0": 101, "b1": 250}
    assert minimum_requests({"US": us, "GB": gb}, counts) == {
        "new-releases": 3 + 1,  # ceil(120/50) + ceil(41/50)
        "several-albums": 8,  # ceil(151/20)
        "album-tracks": 0 + 1 + 2 + 4,  # further pages of 50 past the embedded 50
    }


def test_minimum_requests_development_arithmetic() -> None:
    found = [f"a{i}" for i in range(25)]
    counts = {"a3": 120}
    assert minimum_requests({"US": found, "GB": found}, counts, "development", 10) == {
        "search": 3 + 3,
        "album": 25,
        "album-tracks": 2,
    }
    assert minimum_requests({"US": []}, {}, "development")["search"] == 1


def test_expansion_minimum_per_expansion() -> None:
    counts = {f"a{i}": n for i, n in enumerate([3, 50, 51, 120] + [1] * 17)}  # 21 albums
    assert expansion_minimum("several", counts) == {"several-albums": 2, "album-tracks": 1 + 2}
    assert expansion_minimum("album", counts) == {"album": 21, "album-tracks": 3}
    assert expansion_minimum("tracks", counts) == {"album-tracks": 21 + 1 + 2}
    assert expansion_minimum("several", {}) == {}


def test_a_run_records_the_minimum_of_what_it_listed_and_expanded() -> None:
    stats = PullStats(source="new-releases", expand="several")
    stats.listed = {"US": [f"a{i}" for i in range(60)], "GB": ["a0"]}
    stats.expanded = {f"a{i}": 51 if i == 0 else 10 for i in range(60)}
    assert run_minimum(stats) == {"new-releases": 2 + 1, "several-albums": 3, "album-tracks": 1}
    stats = PullStats(source="ids", expand="tracks")
    stats.expanded = {"a0": 120, "a1": 0}
    assert run_minimum(stats) == {"album-tracks": 3 + 1}
