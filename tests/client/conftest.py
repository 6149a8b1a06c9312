"""Fixtures for the client tests."""

from __future__ import annotations

import pytest

from .fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock; its ``sleep`` advances time without waiting."""
    return FakeClock()
