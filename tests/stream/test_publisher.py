"""Publishing a dataset's runs to a real JetStream: every event, album and artist once,
in order, after a crash mid-publish and after a broker that was down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from async_spotify_etl.core.errors import ConfigurationError
from async_spotify_etl.output.dataset import Dataset, read_index
from async_spotify_etl.run.dataset import run_dataset
from async_spotify_etl.stream import publisher as publisher_module
from async_spotify_etl.stream.publisher import Published, Publisher, PublishError, pending_runs
from async_spotify_etl.stream.target import Target
from tests.conftest import SandboxFactory
from tests.nats_server import NatsServer, free_port
from tests.run.test_dataset import MARKETS, every, settings_for

from .conftest import file_events, key, stored


async def three_days(sandbox_factory: SandboxFactory, root: Path, albums: int = 12) -> None:
    """A dataset of three runs, one on each of the sandbox's days 0, 1 and 2."""
    for day in range(3):
        sb = await sandbox_factory(markets=MARKETS, albums_per_market=albums, seed=5, day=day)
        await run_dataset(settings_for(sb, root), sb.credentials)


async def test_every_event_album_and_artist_goes_out_once_in_order(
    sandbox_factory: SandboxFactory, nats_server: NatsServer, tmp_path: Path
) -> None:
    await three_days(sandbox_factory, tmp_path)
    target = Target.parse(f"{nats_server.url}/releases")
    async with Publisher(target) as publisher:
        first = await publisher.catch_up(tmp_path)
    messages = await stored(nats_server.url, target.stream)
    events = [m for m in messages if m.subject.startswith("releases.events.")]
    assert [key(m.body) for m in events] == file_events(tmp_path)
    assert {m.body["type"] for m in events} == {"listed", "delisted"}
    assert all(m.subject == f"releases.events.{m.body['market']}" for m in events)
    albums = {a["id"]: a for a in every(tmp_path, "albums")}
    for m in events:  # a delisted album's details come from the run that fetched it
        album = albums[m.body["album_id"]]
        assert m.body["name"] == album["name"]
        assert m.body["release_date"] == album["release_date"]
        assert [a["id"] for a in m.body["artists"]] == [a["id"] for a in album["artists"]]
    assert [m.body["album"]["id"] for m in messages if m.subject == "releases.albums"] == [
        a["id"] for a in every(tmp_path, "albums")
    ]
    assert [m.body["artist"]["id"] for m in messages if m.subject == "releases.artists"] == [
        a["id"] for a in every(tmp_path, "artists")
    ]
    assert {m.body["version"] for m in messages} == {1}
    assert len({m.msg_id for m in messages}) == len(messages)
    assert first == Published(len(messages), 0, 3)
    progress = read_index(tmp_path).published("releases")
    assert progress == {"run": Dataset(tmp_path).runs()[-1]["id"], "sent": progress["sent"],
                        "complete": True}  # fmt: skip

    async with Publisher(target) as publisher:
        assert await publisher.catch_up(tmp_path) == Published()
    assert len(await stored(nats_server.url, target.stream)) == len(messages)


class _Killed(BaseException):
    """Stands for kill -9: nothing after it runs, nothing is recorded."""


@pytest.mark.parametrize("skip_last", [True, False], ids=["last-id", "duplicate-window"])
async def test_a_publisher_killed_mid_publish_resumes_without_loss_or_duplicate(
    sandbox_factory: SandboxFactory,
    nats_server: NatsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    skip_last: bool,
) -> None:
    """Killed 20 messages past the last progress record: the next start sends what is
    missing, and the 20 again are dropped (by the stream's last id, or by the stream's
    duplicate window when that is not used)."""
    await three_days(sandbox_factory, tmp_path, albums=40)  # the first run: ~200 messages
    target = Target.parse(f"{nats_server.url}/crash")
    from nats.js.client import JetStreamContext

    real = JetStreamContext.publish
    sent = 0
    kill_at = publisher_module.BATCH * 2 + 20

    async def publish(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal sent
        if sent == kill_at:
            raise _Killed
        sent += 1
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(JetStreamContext, "publish", publish)
    with pytest.raises(_Killed):
        async with Publisher(target) as publisher:
            await publisher.catch_up(tmp_path)
    monkeypatch.setattr(JetStreamContext, "publish", real)
    progress = read_index(tmp_path).published("crash")
    first = Dataset(tmp_path).runs()[0]["id"]
    assert progress == {"run": first, "sent": publisher_module.BATCH * 2, "complete": False}
    assert len(await stored(nats_server.url, target.stream)) == kill_at
    if not skip_last:

        async def no_last(self: Publisher, js: Any) -> None:
            return None

        monkeypatch.setattr(Publisher, "_last_msg_id", no_last)

    async with Publisher(target) as publisher:
        again = await publisher.catch_up(tmp_path)
    messages = await stored(nats_server.url, target.stream)
    events = [m for m in messages if ".events." in m.subject]
    assert [key(m.body) for m in events] == file_events(tmp_path)
    assert len({m.msg_id for m in messages}) == len(messages)
    assert again.duplicates == (0 if skip_last else 20)
    assert again.messages == len(messages) - kill_at


async def test_a_broker_that_is_down_loses_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.nats_server import unavailable

    if (why := unavailable()) is not None:
        pytest.skip(why)
    await three_days(sandbox_factory, tmp_path)
    port = free_port()
    target = Target.parse(f"nats://127.0.0.1:{port}/later")
    async with Publisher(target) as publisher:
        with pytest.raises(PublishError, match=f"cannot reach nats://127.0.0.1:{port}"):
            await publisher.catch_up(tmp_path)
        assert read_index(tmp_path).published("later") is None
        server = NatsServer(tmp_path_factory.mktemp("nats") / "store", port)
        server.start()
        try:
            published = await publisher.catch_up(tmp_path)  # the same publisher, again
            messages = await stored(server.url, target.stream)
        finally:
            server.stop()
    assert published.messages == len(messages) > 0
    assert [key(m.body) for m in messages if ".events." in m.subject] == file_events(tmp_path)


def _runs(*statuses: str) -> list[dict[str, Any]]:
    return [{"id": f"2026-12-0{n}T000000Z", "status": s} for n, s in enumerate(statuses, 1)]


def test_pending_runs_follow_the_index_and_the_progress() -> None:
    runs = _runs("complete", "complete", "stopped")
    assert pending_runs(runs, None) == [(0, 0), (1, 0)]  # the stopped last run waits
    assert pending_runs(runs, {"run": runs[0]["id"], "sent": 7, "complete": False}) == [
        (0, 7),
        (1, 0),
    ]
    assert pending_runs(runs, {"run": runs[0]["id"], "sent": 9, "complete": True}) == [(1, 0)]
    assert pending_runs(runs, {"run": runs[1]["id"], "sent": 3, "complete": True}) == []
    # a run that did not complete and is followed by another never will: published as is
    assert pending_runs(_runs("complete", "failed", "complete"), None) == [(0, 0), (1, 0), (2, 0)]


@pytest.mark.parametrize(
    ("url", "server", "prefix"),
    [
        ("nats://127.0.0.1:4333/releases", "nats://127.0.0.1:4333", "releases"),
        ("nats://broker/a.b", "nats://broker:4222", "a.b"),
        ("nats://broker:1/a/b/", "nats://broker:1", "a.b"),
        ("nats://[::1]:5/", "nats://[::1]:5", "spotify"),
    ],
)
def test_a_target_url_names_the_server_and_the_subjects(url: str, server: str, prefix: str) -> None:
    target = Target.parse(url)
    assert (target.server, target.prefix) == (server, prefix)
    assert target.events("US") == f"{prefix}.events.US"
    assert target.subjects == f"{prefix}.>"
    assert "." not in target.stream


@pytest.mark.parametrize(
    "url", ["http://x:1/p", "nats://", "nats://u:pw@x/p", "nats://x:99999/p", "nats://x/a b"]
)
def test_a_target_url_that_cannot_be_used_is_one_clear_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Target.parse(url)
    assert "\n" not in str(caught.value)
    assert "pw" not in str(caught.value)
