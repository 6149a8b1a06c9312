"""Fixtures of the analytics tests: realistic pull directories (see :mod:`.fakepull`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import Server, server, unavailable

from .fakepull import FakePull, write_pull

MakePull = Callable[..., FakePull]


@pytest.fixture
def make_pull(tmp_path: Path) -> MakePull:
    """``make_pull(**options)`` writes a pull under tmp_path and returns its ground truth."""
    counter = iter(range(1000))

    def make(**options: Any) -> FakePull:
        return write_pull(tmp_path / f"pull{next(counter)}", **options)

    return make


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """A real PostgreSQL server for the session (skips, saying why, where none can be had)."""
    reason = unavailable()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    with server() as running:
        yield running


@pytest.fixture
def pg_url(postgres: Server) -> Iterator[str]:
    """The server's URL, with the schemas the test made dropped afterwards."""
    import psycopg

    url = postgres.url()
    yield url
    with psycopg.connect(url, autocommit=True) as con:
        for (schema,) in con.execute(
            "SELECT nspname FROM pg_namespace WHERE nspowner = 'etl'::regrole"
        ).fetchall():
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')
