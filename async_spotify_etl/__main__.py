"""``python -m async_spotify_etl`` runs the CLI."""

from .cli import run

run()
