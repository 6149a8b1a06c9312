"""``python -m async_spotify_etl`` runs the CLI."""

from .cli import console_script

console_script()
