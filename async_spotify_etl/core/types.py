"""Type names shared by every layer."""

from __future__ import annotations

from typing import Any

#: A JSON object as parsed by orjson: an album, a track, an artist, an error record.
JSONObject = dict[str, Any]
