"""Fixtures of the analytics tests: realistic pull directories (see :mod:`.fakepull`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .fakepull import FakePull, write_pull

MakePull = Callable[..., FakePull]


@pytest.fixture
def make_pull(tmp_path: Path) -> MakePull:
    """``make_pull(**options)`` writes a pull under tmp_path and returns its ground truth."""
    counter = iter(range(1000))

    def make(**options: Any) -> FakePull:
        return write_pull(tmp_path / f"pull{next(counter)}", **options)

    return make
