"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, no URL overrides, no ./.env: each test states what it has, in a
    fresh working directory."""
    for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SPOTIFY_ACCOUNTS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
