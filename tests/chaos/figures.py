"""The chaos suite's figures: one row per scenario run, and the table scripts/chaos prints.

Each scenario calls :func:`record`; rows go to the JSON-lines file named by the
``CHAOS_FIGURES`` environment variable (nothing is recorded without it).
``python -m tests.chaos.figures FILE`` prints the rows as a Markdown table.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

__all__ = ["FIGURES_ENV", "Figures", "record", "render"]

FIGURES_ENV = "CHAOS_FIGURES"
_COLUMNS = (
    ("scenario", "scenario"),
    ("runs", "runs"),
    ("expected", "records expected"),
    ("lost", "records lost"),
    ("duplicates", "duplicates"),
    ("during_retry_after", "429s during waits"),
    ("exit_codes", "exit codes"),
)


@dataclass
class Figures:
    """What one scenario showed: records expected, lost and duplicated, and how it ended."""

    scenario: str
    runs: int = 1
    expected: int = 0
    lost: int = 0
    duplicates: int = 0
    #: Requests started after a 429 had reached the client and before its Retry-After
    #: ran out (traced in-process).
    #: When ``traced`` is False it is the sandbox's count instead, which also holds
    #: requests already on their way when the 429 was sent.
    during_retry_after: int = 0
    traced: bool = True
    exit_codes: list[int] = field(default_factory=list)
    notes: str = ""


def record(figures: Figures) -> None:
    """Append ``figures`` to the ``CHAOS_FIGURES`` file, if one is set."""
    target = os.environ.get(FIGURES_ENV)
    if target:
        with Path(target).open("ab") as handle:
            handle.write(orjson.dumps(asdict(figures)) + b"\n")


def _codes(codes: list[int]) -> str:
    counts: dict[int, int] = {}
    for code in codes:
        counts[code] = counts.get(code, 0) + 1
    return ", ".join(f"{c}×{n}" if n > 1 else str(c) for c, n in counts.items()) or "-"


def _cell(row: dict[str, object], key: str) -> str:
    value = row[key]
    if key == "exit_codes":
        return _codes(value)  # type: ignore[arg-type]
    if key == "during_retry_after" and value and not row.get("traced", True):
        return f"{value}†"
    return str(value)


def render(rows: list[dict[str, object]]) -> str:
    """A Markdown table of the rows, in the order they were recorded."""
    lines = [
        "| " + " | ".join(title for _, title in _COLUMNS) + " | notes |",
        "|" + "---|" * (len(_COLUMNS) + 1),
    ]
    for row in rows:
        cells = [_cell(row, key) for key, _ in _COLUMNS]
        lines.append("| " + " | ".join(cells) + f" | {row.get('notes', '')} |")
    if any(row.get("during_retry_after") and not row.get("traced", True) for row in rows):
        lines.append("")
        lines.append(
            "† counted by the sandbox for a pull run as a subprocess: requests that arrived"
            " inside a Retry-After, including those already on their way when the 429 was"
            " sent (the client could not have known)."
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the table of the figures file ``argv[0]``."""
    rows = [orjson.loads(line) for line in Path(argv[0]).read_bytes().splitlines() if line]
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
