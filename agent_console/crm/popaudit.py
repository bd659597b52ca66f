"""Writes the screen-pop ``view`` audit rows off the hub's path.

The hub is synchronous and must never wait for a database, so it hands each
delivered pop to :meth:`PopAuditQueue.submit`, which only queues it; one
background task (:meth:`run`, started with the app) resolves the agent and
writes the row.  A failed write is logged and the next pop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from agent_console.crm.deps import CrmServices
from agent_console.hub import PopDelivered

__all__ = ["PopAuditQueue"]

log = logging.getLogger(__name__)


class PopAuditQueue:
    """A bounded queue of delivered pops and the worker that audits them.

    When ``max_queued`` pops wait already (the database is down or slow),
    further pops are not audited and each loss is logged as an error.
    """

    def __init__(self, crm: CrmServices, *, max_queued: int = 1000) -> None:
        self._crm = crm
        self._queue: asyncio.Queue[PopDelivered] = asyncio.Queue(maxsize=max_queued)

    def submit(self, pop: PopDelivered) -> None:
        """Queue ``pop`` for auditing; never blocks (the hub's ``on_pop``)."""
        try:
            self._queue.put_nowait(pop)
        except asyncio.QueueFull:
            log.error(
                "console.pop_audit_dropped",
                extra={"login": pop.agent_login, "call_id": pop.call_id, "customer_id": pop.customer_id},
            )

    async def join(self) -> None:
        """Wait until every pop queued so far has been audited (or its failure logged)."""
        await self._queue.join()

    async def run(self) -> None:
        """Audit queued pops until cancelled."""
        while True:
            pop = await self._queue.get()
            try:
                await self._audit(pop)
            finally:
                self._queue.task_done()

    async def drain(self, grace: float) -> None:
        """Give the worker up to ``grace`` seconds to finish the queued pops (at shutdown)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._queue.join()
        if self._queue.qsize():
            log.warning("console.pop_audit_unwritten", extra={"count": self._queue.qsize()})

    async def _audit(self, pop: PopDelivered) -> None:
        try:
            actor = await self._crm.actors.actor(
                pop.agent_login, pop.remote_addr, frozenset({pop.customer_id})
            )
            await self._crm.pops.audit_pop(actor, pop.customer_id, pop.call_id)
        except Exception as exc:
            log.error(
                "console.pop_audit_failed",
                extra={
                    "login": pop.agent_login,
                    "call_id": pop.call_id,
                    "customer_id": pop.customer_id,
                    "error": repr(exc),
                },
            )
