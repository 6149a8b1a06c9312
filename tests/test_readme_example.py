"""README's library example runs as printed: against the sandbox, twice, with no traceback."""

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
    script.write_text(library_example(), encoding="utf-8")
    first = run_example(script)
    assert first.returncode == 0, first.stderr
    albums = (tmp_path / "data" / "albums.ndjson").read_bytes().splitlines()
    ending = first.stdout.strip().splitlines()[-1].split()
    assert ending[:2] == ["complete", str(len(albums))]
    assert len({orjson.loads(line)["id"] for line in albums}) == len(albums) > 0
    recorded = (tmp_path / "data" / "manifest.json").read_bytes()

    again = run_example(script)  # a second run: the pull is complete, nothing changes
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert again.stdout.strip().splitlines()[-1].split()[:2] == ending[:2]
    assert (tmp_path / "data" / "manifest.json").read_bytes() == recorded
