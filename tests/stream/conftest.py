"""Fixtures of the stream tests: a real nats-server, and what a stream holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from async_spotify_etl.output.dataset import EVENTS_NAME, Dataset
from tests.nats_server import NatsServer, unavailable


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A JetStream server on a free port with a fresh store; skipped where none can run."""
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    server = NatsServer(tmp_path_factory.mktemp("nats") / "store")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Stored:
    """One message in the stream: its subject, id and JSON body."""

    subject: str
    msg_id: str
    body: dict[str, Any]


async def stored(url: str, stream: str) -> list[Stored]:
    """Every message the stream holds, in stream order (read by sequence number)."""
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            return []
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq=seq)
            headers = msg.headers or {}
            assert msg.subject is not None
            assert msg.data is not None
            out.append(Stored(msg.subject, headers["Nats-Msg-Id"], orjson.loads(msg.data)))
        return out
    finally:
        await nc.close()


def key(event: dict[str, Any]) -> tuple[str, str, str, str]:
    """(run, market, album, kind) of an event, in a file or in a message."""
    kind = event.get("event") or event["type"]
    return (event["run_id"], event["market"], event["album_id"], kind)


def file_events(root: Path, *, through: str | None = None) -> list[tuple[str, str, str, str]]:
    """The events of every run the index lists (up to run ``through``), in file order."""
    out = []
    for run in Dataset(root).runs():
        if through is not None and run["id"] > through:
            break
        path = root / run["path"] / EVENTS_NAME
        if path.exists():
            out += [key(orjson.loads(line)) for line in path.read_bytes().splitlines()]
    return out


def by_market(keys: list[tuple[str, str, str, str]]) -> dict[str, list[tuple[str, ...]]]:
    markets: dict[str, list[tuple[str, ...]]] = {}
    for k in keys:
        markets.setdefault(k[1], []).append(k)
    return markets
