"""Publishing a dataset's finished runs to NATS JetStream, exactly once.

The committed files are the outbox (:mod:`.outbox`): a run is published once it is in the
index as complete (or followed by a later run, so it never will be), its messages in
order, each with a ``Nats-Msg-Id``. The index records how far publishing got
(``published`` in dataset.json, through its one owner, :class:`Dataset`) after every
batch, so a process killed mid-publish, or a broker that went away, resumes after the
last batch recorded. What it sends again (at most one batch) is dropped by the stream:
JetStream stores one message per id within :data:`DUPLICATE_WINDOW`, and past it the
publisher itself skips everything up to the stream's last message when that is one of
the run's.

    PublishError ........ the broker cannot be reached or refused a publish (retry later)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError, SpotifyETLError
from ..output.dataset import Dataset
from .outbox import Message, run_messages
from .target import Target

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)

#: How long the stream remembers message ids to drop a publish sent again.
DUPLICATE_WINDOW = 3600.0
#: Messages between two progress records in the index.
BATCH = 50
CONNECT_TIMEOUT = 2.0
#: Seconds to wait for the stream's acknowledgement of one publish.
ACK_TIMEOUT = 5.0


class PublishError(SpotifyETLError):
    """The broker could not be reached, or did not acknowledge a publish: nothing is lost
    (the index says what is still to publish); try again later."""


@dataclass(frozen=True)
class Published:
    """What one catch-up published: messages stored, ones the stream already held."""

    messages: int = 0
    duplicates: int = 0
    runs: int = 0


class Publisher:
    """Publishes the finished runs of datasets to ``target``; owns its NATS connection.

    Connects on first use (``async with`` only owns it); after a :class:`PublishError`
    the connection is dropped and the next :meth:`catch_up` connects again."""

    def __init__(self, target: Target) -> None:
        try:
            import nats  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "publishing needs nats-py: pip install 'async-spotify-etl[stream]'"
            ) from None
        self.target = target
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    def __repr__(self) -> str:
        state = "connected" if self._nc is not None else "not connected"
        return f"<Publisher {self.target} {state}>"

    async def __aenter__(self) -> Publisher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection; safe twice."""
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception as exc:  # closing a broken connection: nothing to save
                log.debug("closing the NATS connection: %s", exc)

    async def catch_up(self, root: Path) -> Published:
        """Publish what the dataset in ``root`` holds and the stream does not yet.

        Holds the dataset's lock meanwhile (a run going elsewhere: nothing now). Raises
        :class:`PublishError` when the broker fails; the index keeps what got through."""
        dataset = Dataset(root)
        with dataset.locked():
            try:
                return await self._catch_up(dataset)
            except PublishError:
                await self.aclose()
                raise
            except (OSError, TimeoutError) as exc:
                await self.aclose()
                raise PublishError(f"{self.target}: {type(exc).__name__}: {exc}") from exc
            except Exception as exc:
                if not _is_nats_error(exc):
                    raise
                await self.aclose()
                raise PublishError(f"{self.target}: {type(exc).__name__}: {exc}") from exc

    async def _catch_up(self, dataset: Dataset) -> Published:
        index = dataset.index()
        runs = index.runs
        key = self.target.prefix
        pending = pending_runs(runs, index.published(key))
        if not pending:
            return Published()
        js = await self._jetstream()
        last_id = await self._last_msg_id(js)
        stored = duplicates = done = 0
        for position, start in pending:
            run = runs[position]
            messages = run_messages(dataset.root, run, runs[:position], self.target)
            start = max(start, _after(messages, last_id))
            last_id = None  # only the first run pending can have been cut short
            for first in range(start, len(messages), BATCH):
                batch = messages[first : first + BATCH]
                for message in batch:
                    ack = await js.publish(
                        message.subject,
                        message.payload,
                        timeout=ACK_TIMEOUT,
                        headers={"Nats-Msg-Id": message.msg_id},
                    )
                    duplicates += bool(ack.duplicate)
                    stored += not ack.duplicate
                sent = first + len(batch)
                progress = _progress(run, sent, sent == len(messages))
                index = dataset.record_published(index, key, progress)
            if start >= len(messages):
                index = dataset.record_published(index, key, _progress(run, len(messages), True))
            done += 1
        return Published(stored, duplicates, done)

    async def _jetstream(self) -> JetStreamContext:
        if self._js is not None:
            return self._js
        import nats
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        try:
            async with asyncio.timeout(4 * CONNECT_TIMEOUT):
                # two attempts, then NoServersError (0 would mean: try for ever)
                nc = await nats.connect(
                    self.target.server,
                    connect_timeout=int(CONNECT_TIMEOUT),
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0,
                    error_cb=_ignore,
                    disconnected_cb=_nothing,
                    closed_cb=_nothing,
                )
        except Exception as exc:
            raise PublishError(f"cannot reach {self.target.server}: {_reason(exc)}") from exc
        self._nc = nc
        js = nc.jetstream(timeout=ACK_TIMEOUT)
        try:
            await js.stream_info(self.target.stream)
        except NotFoundError:
            config = StreamConfig(
                name=self.target.stream,
                subjects=[self.target.subjects],
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW,
            )
            await js.add_stream(config)
            log.info("created the stream %s (%s)", self.target.stream, self.target.subjects)
        self._js = js
        return js

    async def _last_msg_id(self, js: JetStreamContext) -> str | None:
        """The ``Nats-Msg-Id`` of the stream's last message, if any."""
        info = await js.stream_info(self.target.stream)
        if not info.state.last_seq:
            return None
        from nats.js.errors import NotFoundError

        try:
            msg = await js.get_msg(self.target.stream, seq=info.state.last_seq)
        except NotFoundError:
            return None
        return (msg.headers or {}).get("Nats-Msg-Id")


def pending_runs(
    runs: Sequence[Mapping[str, Any]], progress: Mapping[str, Any] | None
) -> list[tuple[int, int]]:
    """The runs still to publish, as (position in ``runs``, messages already sent), given
    the progress the index recorded. A run is published once it is complete, or once a
    later run exists (it will never complete); publishing stops at the first that is
    neither, to keep the order."""
    cursor = str((progress or {}).get("run") or "")
    sent = int((progress or {}).get("sent") or 0)
    complete = bool((progress or {}).get("complete"))
    pending = []
    for position, run in enumerate(runs):
        ident = str(run.get("id"))
        if ident < cursor or (ident == cursor and complete):
            continue
        final = run.get("status") == "complete" or position < len(runs) - 1
        if not final:
            break
        pending.append((position, sent if ident == cursor else 0))
    return pending


def _progress(run: Mapping[str, Any], sent: int, complete: bool) -> dict[str, Any]:
    return {"run": run["id"], "sent": sent, "complete": complete}


def _after(messages: Sequence[Message], last_id: str | None) -> int:
    """The position after the message with ``last_id`` (0 if none of them has it)."""
    if last_id is None:
        return 0
    for position, message in enumerate(messages):
        if message.msg_id == last_id:
            return position + 1
    return 0


def _is_nats_error(exc: BaseException) -> bool:
    import nats.errors

    return isinstance(exc, nats.errors.Error)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.strip().rstrip(":") or type(exc).__name__


async def _ignore(exc: Exception) -> None:
    """nats-py's error callback: the caller reports failures itself, in one line."""
    log.debug("NATS: %s", exc)


async def _nothing() -> None:
    return None
