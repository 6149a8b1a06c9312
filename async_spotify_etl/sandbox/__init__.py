"""An embedded emulator of the parts of the Spotify Web API this project uses.

``async with Sandbox(SandboxConfig(...)) as sb:`` serves a deterministic catalogue on
127.0.0.1 with Spotify's shapes, limits and failure modes; see the README's Sandbox
section for every option.
"""

from .config import SandboxConfig
from .server import Sandbox

__all__ = ["Sandbox", "SandboxConfig"]
