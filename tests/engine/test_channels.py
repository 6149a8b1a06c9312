"""Closeable channels: the receivers end once every sender closed its end, not before."""

from __future__ import annotations

import asyncio

import pytest

from async_spotify_etl.engine.channels import Channel


async def test_receivers_end_when_the_last_sender_closes() -> None:
    channel: Channel[int] = Channel(2)
    first, second = channel.sender(), channel.sender()
    got: list[list[int]] = [[], []]

    async def receive(into: list[int]) -> None:
        async for item in channel:
            into.append(item)

    async with asyncio.TaskGroup() as group:
        receivers = [group.create_task(receive(into)) for into in got]
        async with first:
            for n in range(5):
                await first(n)
        await asyncio.sleep(0)
        assert not any(r.done() for r in receivers)  # one sender is still open
        async with second:
            await second(5)
    assert sorted(got[0] + got[1]) == list(range(6))
    with pytest.raises(RuntimeError, match="closed"):
        await first(6)
    with pytest.raises(RuntimeError, match="closed"):
        channel.sender()


async def test_a_failing_sender_does_not_block_on_a_full_channel() -> None:
    channel: Channel[int] = Channel(1)
    send = channel.sender()
    await send(1)  # full, and nobody receives
    with pytest.raises(ValueError, match="boom"):
        async with send:
            raise ValueError("boom")
