"""The endpoint choice of ``auto``: the first call decides, a 403 falls back, the memory
remembers. One :class:`Choice` per endpoint that development-mode apps lost
(new-releases, several-albums, several-artists); listing, expansion, the artists stage
and the dry-run plan all decide through it.

- Unknown: the first caller's request decides; every other caller waits for its answer
  (a 200 lets them all use the endpoint, a 403 sends them all to the fallback; a failure
  that is neither hands the decision to the next caller).
- Remembered (:class:`Access`, what earlier runs of this app found): a remembered 403 goes
  straight to the fallback without a request, a remembered 200 lets every caller use the
  endpoint at once. A 403 where the memory said allowed still falls back, and the memory
  is corrected.
- Forced by a setting: the endpoint is used as told; its 403 is the setting's error.

The memory itself is the client's (``client/memory``): one file per app and API URL,
written when the client closes. A dry run reads it and never writes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..client.memory import Memory
from ..core.errors import EndpointUnavailableError, SettingsError
from .endpoints import refused

log = logging.getLogger(__name__)

#: The endpoints whose 403 tells that the app is in development mode.
DEVELOPMENT_SIGNS = ("new-releases", "several-albums", "several-artists")


class Access:
    """What the memory says of each endpoint, what this run found, and which of the
    development-mode warnings this app was already given."""

    def __init__(self, memory: Memory | None, *, read_only: bool = False) -> None:
        self._memory = None if read_only else memory
        self._remembered = memory.accesses() if memory is not None else {}
        self._told = set(memory.told()) if memory is not None else set()
        #: Endpoints this run took from memory instead of probing, and whether allowed.
        self.used: dict[str, bool] = {}
        #: Endpoints this run saw answer (True) or 403 (False).
        self.found_now: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"<Access remembered={self._remembered} used={self.used}>"

    def allowed(self, endpoint: str) -> bool | None:
        """True or False as remembered (and then counted as used), None when unknown."""
        allowed = self._remembered.get(endpoint)
        if allowed is not None:
            self.used[endpoint] = allowed
        return allowed

    def known(self, endpoint: str) -> bool | None:
        """What this run found of ``endpoint``, else what the memory says, else None."""
        return self.found_now.get(endpoint, self._remembered.get(endpoint))

    def development(self) -> bool:
        """Whether this run met, or remembers, a 403 from an endpoint development mode lost."""
        known = {**self._remembered, **self.found_now}
        return any(known.get(endpoint) is False for endpoint in DEVELOPMENT_SIGNS)

    def found(self, endpoint: str, allowed: bool) -> None:
        """This run saw ``endpoint`` answer (True) or 403 (False): remember it."""
        self.found_now[endpoint] = allowed
        memory = self._memory
        if memory is not None and memory.remember_access(endpoint, allowed):
            log.warning("%s answered 403 although this app could use it before", endpoint)

    def tell(self, key: str, message: str, *args: object) -> None:
        """A development-mode warning: a warning the first time this app meets it, then
        only an info line (``--quiet`` does not repeat it on every daily run)."""
        if key in self._told:
            log.info(message, *args)
            return
        log.warning(message, *args)
        self._told.add(key)
        if self._memory is not None:
            self._memory.remember_told(key)


class Choice:
    """``auto``'s choice of one endpoint against its fallback, shared by every worker of
    one stage: see the module docstring for the rules.

    ``use()`` says whether to call the endpoint (waiting while another caller decides);
    the caller then reports ``worked()``, ``refused(exc)`` on a 403, or ``undecided()``
    on any other failure of the deciding call.
    """

    def __init__(
        self,
        endpoint: str,
        access: Access,
        probes: dict[str, int],
        *,
        forced: bool | None = None,
        error: Callable[[EndpointUnavailableError], SettingsError] | None = None,
        fallback: Callable[[], None] | None = None,
        on_decide: Callable[[bool], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._access = access
        self._probes = probes
        self._forced = forced
        self._error = error
        self._fallback = fallback
        self._on_decide = on_decide
        self.allowed: bool | None = forced if forced is not None else access.allowed(endpoint)
        #: Whether ``allowed`` came from memory (a 403 then still falls back).
        self.remembered = forced is None and self.allowed is not None
        self._deciding = False
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Choice {self.endpoint} allowed={self.allowed} forced={self._forced}>"

    @property
    def decided(self) -> bool:
        return self.allowed is not None

    async def use(self) -> bool:
        """Whether to call the endpoint: its decision, or True for the one caller whose
        request decides (the others wait for it)."""
        while self.allowed is None:
            if not self._deciding:
                self._deciding = True
                return True
            changed = self._changed
            await changed.wait()
        return self.allowed

    def settle(self, allowed: bool) -> None:
        """Decide without a request (what the run already knows); not remembered."""
        if self.allowed is None:
            self._set(allowed)

    def worked(self) -> None:
        """The endpoint answered: every caller may use it, and the memory says so."""
        if self._forced is None:
            self._access.found(self.endpoint, True)
        if self.allowed is None:
            self._set(True)

    def refused(self, exc: EndpointUnavailableError) -> None:
        """The endpoint answered 403: every caller falls back (the first 403 warns and
        corrects the memory); a forced endpoint's 403 is the setting's error."""
        if self._forced is True:
            raise (self._error(exc) if self._error else exc) from None
        self._probes[self.endpoint] = self._probes.get(self.endpoint, 0) + 1
        if self.allowed is False:
            return  # another caller's 403 decided already
        self._access.found(self.endpoint, False)
        self._set(False)
        if self._fallback is not None:
            self._fallback()

    def undecided(self) -> None:
        """The deciding call failed otherwise: the next caller's request decides."""
        if self.allowed is None:
            self._deciding = False
            self._wake()

    def _set(self, allowed: bool) -> None:
        self.allowed = allowed
        self._deciding = False
        self._wake()
        if self._on_decide is not None:
            self._on_decide(allowed)

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


def batch_choice(
    endpoint: str,
    setting: str,
    instead: str,
    access: Access,
    probes: dict[str, int],
    forced: str | None,
    fallback: Callable[[], None] | None = None,
    on_decide: Callable[[bool], None] | None = None,
) -> Choice:
    """A stage's choice of a batch ``endpoint``: forced when its ``setting`` names
    ``several`` (a 403 is then refused, naming the values ``instead``), else auto."""
    return Choice(
        endpoint,
        access,
        probes,
        forced=None if forced is None else forced == "several",
        error=lambda exc: refused(setting, endpoint, exc, instead),
        fallback=fallback,
        on_decide=on_decide,
    )
