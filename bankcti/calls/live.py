"""A call while its FastAGI session runs: what the flow knows of it, and its history writes.

The interaction row is written as soon as the call arrives and merged at
each step (idempotent by Linkedid).  The writes of one call are chained in
order in the background (:meth:`CallRecords.later`), so the caller never
waits for the database and the final record of the call lands after every
earlier one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from acd import Offer
from bankcti.calls.chain import chain_write, logged_failure
from crm_core.schemas import InteractionRecord, IvrStep

__all__ = ["CallRecords", "HistoryWriter", "LiveCall", "QueueingHistory"]

log = logging.getLogger(__name__)


class HistoryWriter(Protocol):
    async def upsert(self, record: InteractionRecord) -> object: ...


@runtime_checkable
class QueueingHistory(Protocol):
    """A history that queues each write at once, behind every earlier one.

    A call's next write is then queued without waiting for the previous one to
    be durable: the queue keeps their order, and the history commits the
    writes of many steps and calls together.
    :class:`bankcti.history.ResilientHistory` is one.
    """

    def queue_upsert(self, record: InteractionRecord) -> Awaitable[object]: ...


@dataclass
class LiveCall:
    """What the flow knows of a call while its FastAGI session runs."""

    call_id: str
    caller_number: str | None
    arrived_at: float
    path: list[IvrStep] = field(default_factory=list)
    queue: str | None = None
    agent_login: str | None = None
    offer: Offer | None = None  # the offer ringing now (or answered)
    connected_at: float | None = None
    pop_task: asyncio.Task[None] | None = None
    queue_leg: str | None = None  # the key of the queue wait's leg
    dial_result: int | None = None  # what the last EXEC Dial returned (0 after an answer: it left alive)
    # History writes of the call in flight, chained in order: the caller never waits for the database.
    writes: asyncio.Future[None] | None = None


class CallRecords:
    """Writes a live call's interaction row: in order behind the call, or at once."""

    def __init__(self, writer: HistoryWriter) -> None:
        self._writer = writer
        self._queueing = writer if isinstance(writer, QueueingHistory) else None

    def later(self, call: LiveCall, record: InteractionRecord) -> None:
        """Write ``record`` after every earlier write of ``call``, without waiting for it."""
        # Queued at once in a queueing history; otherwise written now, after the call's previous write.
        write = self._queueing.queue_upsert(record) if self._queueing is not None else self.now(record)
        failed = logged_failure(log, "call.history_write_failed", record.call_id)
        call.writes = chain_write(call.writes, write, failed)

    async def now(self, record: InteractionRecord) -> None:
        """Write ``record`` now; a failure is logged, never raised."""
        try:
            await self._writer.upsert(record)
        except Exception:
            # The database may be briefly unavailable; the call goes on and the
            # final write at the end of the call carries everything again.
            log.exception("call.history_write_failed", extra={"call_id": record.call_id})
