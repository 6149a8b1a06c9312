"""Ground truth agrees with what the pages serve; stats count what was served."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.sandbox import Sandbox, SandboxConfig

from .conftest import Api, ApiFactory


async def _all_tracks(api: Api, album: dict[str, object]) -> list[str]:
    page = album["tracks"]
    assert isinstance(page, dict)
    ids = [t["id"] for t in page["items"]]
    url = page["next"]
    while url:
        status, body = await api.get(url)
        assert status == 200
        ids += [t["id"] for t in body["items"]]
        url = body["next"]
    return ids


async def test_extended_pull_matches_truth(api_factory: ApiFactory) -> None:
    api = await api_factory(markets=("US", "GB", "SE"), albums_per_market=60, seed=3)
    truth = api.sandbox.truth()
    albums: dict[str, list[str]] = {}
    for market in ("US", "GB", "SE"):
        listed: list[str] = []
        url: str | None = f"{api.sandbox.api_url}/browse/new-releases?country={market}&limit=50"
        while url:
            status, body = await api.get(url)
            assert status == 200
            listed += [a["id"] for a in body["albums"]["items"]]
            url = body["albums"]["next"]
        assert listed == truth["markets"][market]
        for start in range(0, len(listed), 20):
            status, body = await api.get("/albums", {"ids": ",".join(listed[start : start + 20])})
            assert status == 200
            for album in body["albums"]:
                albums[album["id"]] = await _all_tracks(api, album)
    assert albums == truth["albums"]
    sizes = [len(t) for t in albums.values()]
    assert min(sizes) >= 1
    assert max(sizes) > 50  # compilations make track paging necessary


async def test_development_pull_through_search_matches_truth(api_factory: ApiFactory) -> None:
    api = await api_factory(access="development", seed=4)
    truth = api.sandbox.truth()
    found: list[str] = []
    url: str | None = f"{api.sandbox.api_url}/search?q=tag%3Anew&type=album&limit=10"
    while url:
        status, body = await api.get(url)
        assert status == 200
        found += [a["id"] for a in body["albums"]["items"]]
        url = body["albums"]["next"]
    assert found == truth["search_new"]
    for album_id in found:
        status, album = await api.get(f"/albums/{album_id}")
        assert status == 200
        assert await _all_tracks(api, album) == truth["albums"][album_id]


async def test_search_new_holds_only_recent_releases(api: Api) -> None:
    truth = api.sandbox.truth()
    new = set(truth["search_new"])
    status, body = await api.get("/albums", {"ids": ",".join(truth["markets"]["US"][:20])})
    assert status == 200
    for album in body["albums"]:
        recent = album["release_date_precision"] == "day" and album["release_date"] >= "2026-11-12"
        assert (album["id"] in new) == recent


async def test_inspection_endpoints_match_the_python_api(api: Api) -> None:
    await api.get("/browse/new-releases")
    await api.get("/albums/" + "0" * 22)
    await api.get("/nowhere")
    base = api.sandbox.url
    async with api.session.get(f"{base}/_sandbox/stats") as r:
        stats = orjson.loads(await r.read())
    assert stats == api.sandbox.stats()
    assert stats["requests"] == {
        "token": {"200": 1},
        "new-releases": {"200": 1},
        "album": {"404": 1},
        "other": {"404": 1},
    }
    assert stats["tokens_issued"] == 1
    assert stats["max_in_flight"] == 1
    async with api.session.get(f"{base}/_sandbox/truth/") as r:
        assert orjson.loads(await r.read()) == api.sandbox.truth()


async def test_bytes_sent_counts_every_body(api: Api) -> None:
    await api.login()
    before = api.sandbox.stats()["bytes_sent"]
    sizes = [len((await api.raw("/browse/new-releases", {"limit": n}))[2]) for n in (1, 20, 50)]
    assert api.sandbox.stats()["bytes_sent"] - before == sum(sizes)


async def test_a_50000_album_catalogue_serves_its_last_page(api_factory: ApiFactory) -> None:
    api = await api_factory(markets=("US",), albums_per_market=50_000)
    status, body = await api.get("/browse/new-releases", {"country": "US", "offset": 49_990})
    assert status == 200
    assert body["albums"]["total"] == 50_000
    last = body["albums"]["items"][-1]
    status, album = await api.get(f"/albums/{last['id']}/tracks", {"limit": 50})
    assert (status, album["total"]) == (200, last["total_tracks"])


@pytest.mark.parametrize(
    "fields",
    [
        {"markets": ()},
        {"markets": ("us",)},
        {"markets": ("US", "US")},
        {"albums_per_market": 0},
        {"access": "premium"},
        {"error_rate": 1.5},
        {"error_rate": 0.6, "drop_rate": 0.6},
        {"rate_limit": 0},
        {"token_lifetime": 0},
        {"today": "yesterday"},
    ],
)
def test_config_rejects_nonsense(fields: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        SandboxConfig(**fields)  # type: ignore[arg-type]


def test_config_keeps_markets_as_a_tuple() -> None:
    config = SandboxConfig(markets=["SE", "NO"])  # type: ignore[arg-type]
    assert config.markets == ("SE", "NO")
    assert config == SandboxConfig(markets=("SE", "NO"))


def test_config_never_shows_the_secret() -> None:
    assert "sandbox-client-secret" not in repr(SandboxConfig())


async def test_sandbox_closes_twice_and_refuses_connections_after() -> None:
    sandbox = Sandbox()
    async with sandbox:
        url = sandbox.url
        assert url.startswith("http://127.0.0.1:")
        assert url in repr(sandbox)
    await sandbox.aclose()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{url}/_sandbox/stats")
