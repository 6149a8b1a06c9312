"""README's library example runs as printed: against the sandbox, twice, with no traceback,
the second run sending no request (#24.10)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]


def library_example() -> str:
    """README's library section as one script: the example with the sandbox's last line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## As a library", 1)[1].split("\n## ", 1)[0]
    example, offline = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    body, last = example.rstrip().rsplit("\n", 1)
    assert last.startswith("asyncio.run(main("), last  # the line the README says to replace
    return f"{body}\n{offline}"


#: Put before the example: the sandbox it starts writes what it saw to ``seen.json``.
RECORDER = """
import orjson as _orjson
import async_spotify_etl.sandbox as _sandbox


class _Recorded(_sandbox.Sandbox):
    async def aclose(self) -> None:
        if self._runner is not None:
            with open("seen.json", "wb") as _file:
                _file.write(_orjson.dumps(self.stats()))
        await super().aclose()


_sandbox.Sandbox = _Recorded  # type: ignore[misc]
"""


def requests_seen(folder: Path) -> dict[str, int]:
    """Requests the example's sandbox answered, by route (the token endpoint's included)."""
    stats = orjson.loads((folder / "seen.json").read_bytes())
    return {route: sum(counts.values()) for route, counts in stats["requests"].items()}


def run_example(script: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_")}
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=script.parent,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,  # a hang guard, not a timing assertion
        check=False,
    )


def test_the_readme_library_example_runs_against_the_sandbox_twice(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(RECORDER + library_example(), encoding="utf-8")
    first = run_example(script)
    assert first.returncode == 0, first.stderr
    albums = (tmp_path / "data" / "albums.ndjson").read_bytes().splitlines()
    ending = first.stdout.strip().splitlines()[-1].split()
    assert ending[:2] == ["complete", str(len(albums))]
    assert len({orjson.loads(line)["id"] for line in albums}) == len(albums) > 0
    recorded = (tmp_path / "data" / "manifest.json").read_bytes()
    first_seen = requests_seen(tmp_path)
    assert first_seen["new-releases"] > 0
    assert first_seen["several-albums"] > 0
    printed = first.stdout.strip().splitlines()
    assert len(printed) > len(albums)  # the iteration printed each album, then the pull ran

    again = run_example(script)  # a second run: the pull is complete, nothing changes
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert again.stdout.strip().splitlines()[-1].split()[:2] == ending[:2]
    assert (tmp_path / "data" / "manifest.json").read_bytes() == recorded
    assert requests_seen(tmp_path) == {}  # no token, no listing, no album: nothing is sent
    assert len(again.stdout.strip().splitlines()) == 2  # the failures/stats line, the result
