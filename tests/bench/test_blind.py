"""The blind scenarios' harness: a second run of ours reaches the same API URL (so the
memory applies) on a fresh sandbox, and the targets read what was measured."""

from __future__ import annotations

from pathlib import Path

from bench.blind import FIRST, FLOOR, SECOND, BlindRow, blind_markdown, run_blind, targets
from bench.runner import Run
from bench.scenarios import Scenario

TINY = {"seed": 3, "markets": ("US",), "albums_per_market": 12, "rate_limit": 6}


def test_the_second_run_remembers_on_the_same_url(tmp_path: Path) -> None:
    scenario = Scenario(
        "blind-low", "tiny blind", {**TINY, "rate_window": 1.0, "access": "development"}, (), 1
    )
    rows = run_blind([scenario], tmp_path, lambda run: None)
    by = {row.contender: row for row in rows}
    assert [r.run.status for r in rows] == ["ok"] * 4, [r.run.detail for r in rows]
    first, second = by[FIRST], by[SECOND]
    assert first.pacing["limit_source"] == "learned"
    assert first.run.throttled
    assert second.pacing["limit_source"] == "remembered"  # same URL, same memory
    assert second.run.throttled == 0  # and a fresh window: not one 429
    assert _url(first.run.command) == _url(second.run.command)
    text = blind_markdown([scenario], rows)
    assert "remembered" in text
    assert "| blind-low | second run ≤ 1.1x the window bound, 0 429s |" in text


def _url(command: str) -> str:
    return next(word for word in command.split() if word.endswith("/v1"))


def test_targets_follow_the_measured_figures() -> None:
    def row(who: str, wall: float, throttled: int, episodes: int | None) -> BlindRow:
        run = Run("blind-low", who, 0, "ok", wall=wall, throttled=throttled)
        pacing = {} if episodes is None else {"throttle_episodes": episodes}
        return BlindRow("blind-low", who, run, pacing)

    rows = [row(FLOOR, 10.0, 0, None), row(FIRST, 12.0, 3, 1), row(SECOND, 11.5, 0, 0)]
    found = {goal: met for scenario, goal, _, met in targets(rows) if scenario == "blind-low"}
    assert list(found.values()) == [True, False]  # 1.2x with one episode; 1.15x > 1.1x
    rows[1] = row(FIRST, 12.0, 9, 2)
    assert targets(rows)[0][3] is False  # a second episode misses it
