"""The sandbox's artists: credited on albums and tracks, genres, popularity and followers."""

from __future__ import annotations

from collections import Counter

import pytest

from async_spotify_etl.sandbox.artists import GENRES, popularity_band

from .conftest import ApiFactory


async def test_credits_cover_album_and_track_artists_and_features_exist(
    api_factory: ApiFactory,
) -> None:
    api = await api_factory(seed=5, albums_per_market=60, markets=("US", "GB"))
    truth = api.sandbox.truth()
    listed = {a for ids in truth["markets"].values() for a in ids}
    assert set(truth["credits"]) == listed
    assert set(truth["artists"]) == {a for ids in truth["credits"].values() for a in ids}
    features = 0
    for album_id in list(listed)[:40]:
        status, album = await api.get(f"/albums/{album_id}")
        assert status == 200
        on_album = {a["id"] for a in album["artists"]}
        on_tracks = {a["id"] for t in album["tracks"]["items"] for a in t["artists"]}
        assert on_album | on_tracks <= set(truth["credits"][album_id])
        features += len(on_tracks - on_album)
    assert features > 0, "no artist is credited on a track only"


async def test_genres_popularity_and_followers_are_realistic(api_factory: ApiFactory) -> None:
    api = await api_factory(seed=8, albums_per_market=300)
    artists = list(api.sandbox.truth()["artists"].values())
    assert len(artists) > 100
    sizes = Counter(len(a["genres"]) for a in artists)
    assert 0.04 < sizes[0] / len(artists) < 0.25  # some artists are unclassified
    assert sum(n for k, n in sizes.items() if k >= 2) > len(artists) / 2  # most have several
    genres = Counter(g for a in artists for g in a["genres"])
    assert set(genres) <= set(GENRES)
    assert len(genres) > 20
    assert genres.most_common(1)[0][0] in ("pop", "dance pop", "rap", "hip hop")
    for artist in artists:
        assert len(set(artist["genres"])) == len(artist["genres"])
        assert 0 <= artist["popularity"] <= 100
        low, high = popularity_band(artist["popularity"])
        assert low <= artist["followers"] <= high
    by_popularity = sorted(artists, key=lambda a: a["popularity"])
    tenth = len(artists) // 10
    low_median = sorted(a["followers"] for a in by_popularity[:tenth])[tenth // 2]
    high_median = sorted(a["followers"] for a in by_popularity[-tenth:])[tenth // 2]
    assert high_median > 100 * low_median


@pytest.mark.parametrize("access", ["extended", "development"])
async def test_get_artist_strips_what_development_mode_strips(
    api_factory: ApiFactory, access: str
) -> None:
    api = await api_factory(seed=3, access=access)
    artist_id = next(iter(api.sandbox.truth()["artists"]))
    status, artist = await api.get(f"/artists/{artist_id}")
    assert status == 200
    removed = {"followers", "popularity"}
    assert (removed <= set(artist)) == (access == "extended")
    assert not (removed & set(artist)) or access == "extended"
    assert isinstance(artist["genres"], list)
    if access == "extended":
        assert artist["followers"]["href"] is None
    status, _ = await api.get(f"/artists?ids={artist_id}")
    assert status == (403 if access == "development" else 200)
    assert api.sandbox.stats()["requests"]["several-artists"] == {str(status): 1}


def test_followers_grow_day_by_day_each_artist_at_its_own_pace() -> None:
    from async_spotify_etl.sandbox import SandboxConfig
    from async_spotify_etl.sandbox.artists import MAX_GROWTH, render_artist

    def followers(day: int, number: int) -> int:
        artist = render_artist(SandboxConfig(seed=3, day=day), "http://x", number)
        return artist["followers"]["total"]  # type: ignore[index]

    for number in range(40):
        seen = [followers(day, number) for day in range(0, 15, 7)]
        assert seen == sorted(seen)  # never fewer
        assert seen[-1] <= seen[0] * (1 + MAX_GROWTH) ** 14 + 1
    growths = {followers(14, n) / max(1, followers(0, n)) for n in range(40)}
    assert len(growths) > 30  # each at its own pace
    assert max(growths) > 1.1
