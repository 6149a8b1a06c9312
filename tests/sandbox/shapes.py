"""Shape comparison of a body against a captured example: key sets and value types.

Keys starting with ``_`` (the examples' own comments) are ignored. A list's items are
each compared with the example list's first item; an example ``null`` or empty list
accepts any value there, since the capture does not say what else it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

TESTS = Path(__file__).resolve().parents[1]


def example(api: str, name: str) -> Any:
    """The example body ``name`` from the tests' copy of ``shared/{api}/examples``."""
    body = orjson.loads((TESTS / api / "examples" / name).read_bytes())
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if not k.startswith("_")}
    return body


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def mismatches(
    body: Any, model: Any, where: str = "$", optional: frozenset[str] = frozenset()
) -> list[str]:
    """Where ``body`` departs from ``model``'s shape; keys in ``optional`` may be missing
    (or extra)."""
    if model is None or model == []:
        return []
    if _kind(body) != _kind(model):
        return [f"{where}: {_kind(body)} where the example has {_kind(model)}"]
    found: list[str] = []
    if isinstance(model, dict):
        keys, wanted = set(body), set(model)
        for key in sorted((wanted - keys) - optional):
            found.append(f"{where}.{key}: missing")
        for key in sorted((keys - wanted) - optional):
            found.append(f"{where}.{key}: not in the example")
        for key in sorted(keys & wanted):
            found += mismatches(body[key], model[key], f"{where}.{key}", optional)
    elif isinstance(model, list):
        for i, item in enumerate(body):
            found += mismatches(item, model[0], f"{where}[{i}]", optional)
    return found
