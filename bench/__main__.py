"""``python -m bench`` runs the benchmark."""

from .cli import run

run()
