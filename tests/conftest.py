"""Shared fixtures: ``mock_api`` (aioresponses) and ``sandbox_factory`` (the real sandbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from aiohttp import ClientResponse
from aioresponses import CallbackResult, aioresponses

from async_spotify_etl.sandbox import Sandbox, SandboxConfig
from tests.fakes import FakeClock

#: ``await sandbox_factory(**SandboxConfig fields, clock=None)`` -> a started Sandbox.
SandboxFactory = Callable[..., Awaitable[Sandbox]]


class _StreamWriterResponse(ClientResponse):
    """aioresponses 0.7.9 builds ClientResponse without the ``stream_writer`` argument that
    aiohttp 3.14 requires (upstream pnuckowski/aioresponses#289, fix not released yet)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", Mock(output_size=0))
        super().__init__(*args, **kwargs)


class MockAPI(aioresponses):
    """aioresponses whose mocked responses default to :class:`_StreamWriterResponse`."""

    def add(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("response_class", _StreamWriterResponse)
        super().add(*args, **kwargs)

    @staticmethod
    def result(**kwargs: Any) -> CallbackResult:
        """A ``CallbackResult`` (for ``callback=`` answers) with the same response class."""
        kwargs.setdefault("response_class", _StreamWriterResponse)
        return CallbackResult(**kwargs)


@pytest.fixture
def mock_api() -> Iterator[MockAPI]:
    """aioresponses that works on the current aiohttp; unmatched URLs raise."""
    with MockAPI() as mocked:
        yield mocked


@pytest.fixture
async def sandbox_factory() -> AsyncIterator[SandboxFactory]:
    """Start sandboxes on 127.0.0.1 port 0 from SandboxConfig fields; all close at teardown.

    ``clock=`` (a zero-argument callable returning seconds) replaces the loop clock for
    token expiry and the rate-limit window, so tests move time instead of sleeping.
    """
    async with AsyncExitStack() as stack:

        async def factory(*, clock: Callable[[], float] | None = None, **fields: Any) -> Sandbox:
            return await stack.enter_async_context(Sandbox(SandboxConfig(**fields), clock=clock))

        yield factory


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What runs remember goes to a fresh directory per test, never the real home's cache."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SPOTIFY_ETL_CACHE_DIR", str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(path / "xdg"))
    return path


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock; its ``sleep`` advances time without waiting."""
    return FakeClock()
