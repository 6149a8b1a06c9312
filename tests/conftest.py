"""Shared fixtures: ``mock_api`` (aioresponses) and ``sandbox_factory`` (the real sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import Mock

import pytest
from aiohttp import ClientResponse
from aioresponses import aioresponses


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


@pytest.fixture
def mock_api() -> Iterator[MockAPI]:
    """aioresponses that works on the current aiohttp; unmatched URLs raise."""
    with MockAPI() as mocked:
        yield mocked
