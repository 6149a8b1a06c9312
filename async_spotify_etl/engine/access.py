"""The app's access mode as earlier runs found it: which of the endpoints ``auto`` probes
(new-releases, several-albums) answered 403.

A run that remembers sends no probe: a remembered 403 goes straight to the fallback, a
remembered 200 lets every worker use the endpoint at once instead of waiting for the
first call to decide. A 403 where the memory said allowed falls back as ``auto`` always
did, and the memory is corrected. The memory itself is the client's (``client/memory``):
one file per app and API URL, written when the client closes.
"""

from __future__ import annotations

import logging

from ..client.memory import Memory

log = logging.getLogger(__name__)

#: The endpoints whose 403 decides the plan under ``auto``.
PROBED = ("new-releases", "several-albums")


class Access:
    """What the memory says of each probed endpoint, and what this run found."""

    def __init__(self, memory: Memory | None) -> None:
        self._memory = memory
        self._remembered = memory.accesses() if memory is not None else {}
        #: Endpoints this run took from memory instead of probing, and whether allowed.
        self.used: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"<Access remembered={self._remembered} used={self.used}>"

    def allowed(self, endpoint: str) -> bool | None:
        """True or False as remembered (and then counted as used), None when unknown."""
        allowed = self._remembered.get(endpoint)
        if allowed is not None:
            self.used[endpoint] = allowed
        return allowed

    def found(self, endpoint: str, allowed: bool) -> None:
        """This run saw ``endpoint`` answer (True) or 403 (False): remember it."""
        if self._memory is not None and self._memory.remember_access(endpoint, allowed):
            log.warning("%s answered 403 although this app could use it before", endpoint)
