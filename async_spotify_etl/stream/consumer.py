"""Reading a dataset's events back from the stream: what ``spotify-etl events`` prints.

An ordered JetStream consumer (no state on the server to clean up) replays the events
from the first one, per market in the order published, and with ``follow`` waits for
new ones until cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

from ..core.errors import ConfigurationError
from .target import Target


async def events(
    target: Target, *, market: str = "*", follow: bool = False
) -> AsyncIterator[dict[str, Any]]:
    """The events in the stream under ``target`` (of ``market``, ``*`` for all), oldest
    first; without ``follow`` it ends at the last one stored when it started."""
    try:
        import nats
        from nats.js.api import DeliverPolicy
    except ImportError:
        raise ConfigurationError(
            "reading the stream needs nats-py: pip install 'async-spotify-etl[stream]'"
        ) from None
    try:
        async with asyncio.timeout(8):
            nc = await nats.connect(
                target.server,
                connect_timeout=2,
                allow_reconnect=follow,
                max_reconnect_attempts=1,  # 0 would retry the first connect for ever
                reconnect_time_wait=0,
                error_cb=_ignore,
            )
    except Exception as exc:
        raise ConfigurationError(
            f"cannot reach {target.server}: {exc or type(exc).__name__}"
        ) from exc
    try:
        js = nc.jetstream()
        try:
            sub = await js.subscribe(
                target.events(market), ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
            )
        except nats.js.errors.NotFoundError:
            raise ConfigurationError(f"no stream holds {target.events(market)} yet") from None
        if not follow and (await sub.consumer_info()).num_pending == 0:
            return
        async for msg in sub.messages:
            yield orjson.loads(msg.data)
            if not follow and msg.metadata.num_pending == 0:
                return
    finally:
        await nc.close()


async def _ignore(exc: Exception) -> None:
    return None
