"""A resume of a complete pull changes nothing, sends nothing, and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from async_spotify_etl import ClientSettings, Credentials, PullSettings, run_pull
from async_spotify_etl.sandbox import Sandbox, SandboxConfig


async def test_resuming_a_complete_pull_changes_nothing_and_sends_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    async with Sandbox(SandboxConfig(albums_per_market=12, latency=0, markets=("US",))) as sb:
        client = ClientSettings(api_url=sb.api_url, token_url=sb.token_url, rate=1000)
        settings = PullSettings(out=out, client=client, expand="several")
        first = await run_pull(settings, sb.credentials)
        assert first.status == "complete"
        assert first.albums == 12
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        sent = (sb.stats()["requests"], sb.stats()["tokens_issued"])
        wrong = Credentials(sb.credentials.client_id, "not-the-secret")
        with caplog.at_level(logging.INFO):
            again = await run_pull(PullSettings(**{**vars(settings), "resume": True}), wrong)
        assert (sb.stats()["requests"], sb.stats()["tokens_issued"]) == sent  # no token either
    assert (again.status, again.albums, again.manifest.requests) == (
        "complete",
        12,
        first.manifest.requests,
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert "already complete" in caplog.text
