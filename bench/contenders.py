"""The contenders: how to start each one against a running sandbox."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .sandbox_proc import SandboxInfo
from .scenarios import Scenario

__all__ = ["CONTENDERS", "Contender", "by_name"]

Argv = Callable[[Scenario, SandboxInfo, Path], list[str]]


@dataclass(frozen=True)
class Contender:
    """A named command; ``development`` says whether it can pull in development mode."""

    name: str
    argv: Argv
    development: bool = False
    #: Whether it fetches every credited artist, as this project's pull does by default.
    artists: bool = False
    note: str = ""
    #: A command that starts the interpreter and imports what the contender imports.
    startup: tuple[str, ...] = ()

    def applies(self, scenario: Scenario) -> bool:
        """Whether this contender runs in ``scenario``."""
        if scenario.only is not None and self.name not in scenario.only:
            return False
        return self.development or not scenario.development

    def command(self, scenario: Scenario, sandbox: SandboxInfo, out: Path) -> list[str] | None:
        """The command line for this scenario, or None when the contender cannot run it."""
        return self.argv(scenario, sandbox, out) if self.applies(scenario) else None


def _peer(module: str) -> Argv:
    def argv(scenario: Scenario, sandbox: SandboxInfo, out: Path) -> list[str]:
        cmd = [sys.executable, "-m", f"bench.peers.{module}"]
        cmd += ["--api-url", sandbox.api_url, "--token-url", sandbox.token_url]
        cmd += ["--market", ",".join(scenario.markets), "--out", str(out)]
        if module == "floor":
            if scenario.window:
                cmd += ["--window", "{}/{:g}".format(*scenario.window)]
            if scenario.development:
                cmd.append("--development")
        return cmd

    return argv


def pull_command(
    scenario: Scenario, sandbox: SandboxInfo, out: Path, flags: tuple[str, ...]
) -> list[str]:
    """``spotify-etl pull`` against the sandbox, with ``flags`` added."""
    cmd = [sys.executable, "-m", "async_spotify_etl", "pull", "--out", str(out)]
    cmd += ["--market", ",".join(scenario.markets)]
    cmd += ["--api-url", sandbox.api_url, "--accounts-url", sandbox.token_url]
    cmd += ["--no-progress", *flags]
    return cmd


def _ours(tuned: bool) -> Argv:
    def argv(scenario: Scenario, sandbox: SandboxInfo, out: Path) -> list[str]:
        return pull_command(scenario, sandbox, out, scenario.tuned if tuned else ())

    return argv


def _imports(module: str) -> tuple[str, ...]:
    return (sys.executable, "-c", f"import {module}")


#: What a pull imports before its first request (the CLI imports it only for ``pull``).
_OURS_STARTUP = _imports("async_spotify_etl.cli.pull.command")

CONTENDERS: tuple[Contender, ...] = (
    Contender(
        "floor",
        _peer("floor"),
        development=True,
        artists=True,
        note="bare aiohttp, minimal plan",
        startup=_imports("bench.peers.floor"),
    ),
    Contender(
        "spotify-etl defaults",
        _ours(tuned=False),
        development=True,
        artists=True,
        startup=_OURS_STARTUP,
    ),
    Contender(
        "spotify-etl tuned",
        _ours(tuned=True),
        development=True,
        artists=True,
        startup=_OURS_STARTUP,
    ),
    Contender(
        "tekore",
        _peer("tekore_peer"),
        note="async, asyncio.gather",
        startup=_imports("bench.peers.tekore_peer"),
    ),
    Contender(
        "spotipy",
        _peer("spotipy_peer"),
        note="sync, sp.albums 20 a call",
        startup=_imports("bench.peers.spotipy_peer"),
    ),
    Contender(
        "requests loop",
        _peer("requests_loop"),
        note="sync, follows next per album",
        startup=_imports("bench.peers.requests_loop"),
    ),
)


def by_name(names: list[str] | None) -> tuple[Contender, ...]:
    """The contenders named (all when None), in the canonical order."""
    if not names:
        return CONTENDERS
    unknown = set(names) - {c.name for c in CONTENDERS}
    if unknown:
        raise SystemExit(f"bench: unknown contender(s): {', '.join(sorted(unknown))}")
    return tuple(c for c in CONTENDERS if c.name in names)
