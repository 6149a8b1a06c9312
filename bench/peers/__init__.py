"""The peers: small programs doing the same job with another tool, one process each.

Each is run as ``python -m bench.peers.NAME`` with the arguments of :mod:`.common` and
credentials in ``SPOTIFY_CLIENT_ID``/``SPOTIFY_CLIENT_SECRET``, and writes
``albums.ndjson`` and ``tracks.ndjson`` (the floor writes only the ids it got).
"""

__all__: list[str] = []
