"""What ``--help`` and README say is true: the help names every file a pull writes and
every table a load creates, and every ``spotify-etl`` command README and docs/ show parses
with the flags it uses (#24.17)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from async_spotify_etl.analytics.load import TABLES
from async_spotify_etl.cli import build_parser, main
from async_spotify_etl.output.layout import STREAMS

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A shell line's command: what follows ``spotify-etl`` up to a comment, a redirection or
#: the next command of the line.
COMMAND = re.compile(r"(?:^|[\s/$])spotify-etl ((?:[^#>|&;`\n]|&(?!&))*)")


def _help(*command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_pull_help_names_every_file_a_pull_writes(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("pull", capsys=capsys)
    assert [s for s in STREAMS if f"{s}.ndjson" not in text] == []
    assert "artists.ndjson" in text
    assert "manifest.json" in text


def test_load_help_names_every_table_it_creates(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("load", capsys=capsys)
    assert [t for t in TABLES if not re.search(rf"\b{t}\b", text)] == []
    assert "artist_genres" in text


def _commands() -> list[tuple[str, str]]:
    """(page, command) for every ``spotify-etl ...`` in the pages' code blocks."""
    found = []
    for page in PAGES:
        blocks = re.findall(r"```[a-z]*\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
        for block in blocks:
            for line in block.splitlines():
                found += [(page.name, c.strip()) for c in COMMAND.findall(line) if c.strip()]
    return found


def test_every_command_in_readme_and_docs_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    commands = _commands()
    assert len(commands) >= 15
    assert {c.split()[0] for _, c in commands} >= {"pull", "load", "report"}
    failed = []
    for page, command in commands:
        argv = [a for a in shlex.split(command) if a not in ("...", "…")]
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            failed.append(f"{page}: spotify-etl {command}")
    assert failed == []


def test_readme_says_how_to_run_it_and_when_schedules_fire() -> None:
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    # not on PATH after scripts/demo: the path in .venv, or how to activate it
    assert ".venv/bin/spotify-etl" in text
    assert "source .venv/bin/activate" in text
    # the sandbox flow, pull -> load -> report, needing no credentials
    flow = re.search(r"pull --sandbox [^`\n]*--out (\S+)", text)
    assert flow, "no sandbox pull into a folder"
    folder = flow.group(1)
    assert f"load --duckdb releases.duckdb {folder}" in text
    assert f"report {folder}" in text
    # cron reads the machine's local time; a user timer needs lingering while logged out
    assert "machine's local time" in text
    assert "loginctl enable-linger" in text
