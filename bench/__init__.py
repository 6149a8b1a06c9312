"""``scripts/bench``: the pull measured beside the tools users would pick instead.

The sandbox runs in its own process, each contender in another; the harness times each
run, reads what the sandbox saw, checks the output against the sandbox's ground truth and
reports medians and ratios (see ``BENCHMARKS.md``).
"""

__all__: list[str] = []
