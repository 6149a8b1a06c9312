"""Dedupe releases each album once, with exact markets."""

from __future__ import annotations

from async_spotify_etl.engine.dedupe import Dedupe, Sighting

A, B, C = "A" * 22, "B" * 22, "C" * 22


def see(
    dedupe: Dedupe, album_id: str, market: int, position: int
) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (c.album_id, c.markets) for c in dedupe.see(Sighting(album_id, market, (market, position)))
    ]


def test_one_market_releases_at_once() -> None:
    dedupe = Dedupe(["US"])
    assert see(dedupe, A, 0, 0) == [(A, ("US",))]
    assert see(dedupe, A, 0, 1) == []  # a repeat in the same listing
    assert dedupe.finish() == []


def test_several_markets_release_when_every_market_listed_it_or_at_the_end() -> None:
    dedupe = Dedupe(["US", "GB", "DE"])
    assert see(dedupe, A, 1, 0) == []
    assert see(dedupe, B, 0, 0) == []
    assert see(dedupe, A, 0, 1) == []
    assert see(dedupe, A, 2, 0) == [(A, ("US", "GB", "DE"))]  # cannot gain more markets
    assert see(dedupe, A, 1, 5) == []  # never twice
    assert [(c.album_id, c.markets) for c in dedupe.finish()] == [(B, ("US",))]
    assert dedupe.found == 2


def test_done_ids_count_but_are_not_released() -> None:
    dedupe = Dedupe(["US"], done={A}, max_albums=2)
    assert see(dedupe, A, 0, 0) == []
    assert see(dedupe, B, 0, 1) == [(B, ("US",))]
    assert see(dedupe, C, 0, 2) == []  # over max_albums: A and B are the two
    assert dedupe.skipped_done == 1


def test_max_albums_over_several_markets_takes_the_first_by_rank_whatever_the_order() -> None:
    orders = [
        [(A, 1, 0), (C, 0, 1), (B, 0, 0)],
        [(B, 0, 0), (C, 0, 1), (A, 1, 0)],
    ]
    for order in orders:
        dedupe = Dedupe(["US", "GB"], max_albums=2)
        for album_id, market, position in order:
            assert see(dedupe, album_id, market, position) == []
        assert sorted(c.album_id for c in dedupe.finish()) == [B, C]


def test_listing_objects_are_kept_only_when_asked_and_only_until_release() -> None:
    listed = {"id": A, "name": "ä", "artists": [{"name": "x"}], "total_tracks": 3}
    kept = Dedupe(["US", "GB"], keep_albums=True)
    assert kept.see(Sighting(A, 1, (1, 0), listed)) == []
    assert kept.see(Sighting(B, 0, (0, 0), {"id": B})) == []
    [a] = kept.see(Sighting(A, 0, (0, 1), {"id": A, "name": "a later, other copy"}))
    assert (a.album_id, a.markets, a.album) == (A, ("US", "GB"), listed)  # the first sighting's
    assert kept.see(Sighting(A, 1, (1, 2), listed)) == []  # released: nothing more kept
    [b] = kept.finish()
    assert (b.album_id, b.markets, b.album) == (B, ("US",), {"id": B})
    assert repr(kept) == "<Dedupe found=2 pending=0 released=2>"
    plain = Dedupe(["US", "GB"])
    plain.see(Sighting(A, 0, (0, 0), listed))
    assert [c.album for c in plain.finish()] == [None]


def test_ids_without_markets_release_at_once_and_once() -> None:
    dedupe = Dedupe(["US", "GB"], by_market=False, max_albums=2)
    for album_id, expected in ((A, [(A, ())]), (A, []), (B, [(B, ())]), (C, [])):
        got = dedupe.see(Sighting(album_id, None, (0, 0)))
        assert [(c.album_id, c.markets) for c in got] == expected
    assert dedupe.finish() == []
    assert dedupe.found == 2
