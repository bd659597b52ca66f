"""Writes the screen-pop ``view`` audit rows off the hub's path, and never loses one.

The hub is synchronous and must never wait for a database, so it hands each
delivered pop to :meth:`PopAuditQueue.submit`, which stamps it (time, unique
key) and only queues it; one background task (:meth:`PopAuditQueue.run`,
started with the app) hands everything queued so far to a group commit
(:class:`~crm_core.spool_batch.GroupCommitWriter`), which writes the rows
in one transaction per batch: with one transaction per pop the queue grew
to ~1 400 pops in a soak at 20 calls/s whose service was slowed (traced).  While the
database is unavailable the rows go to the spool file (``fsync``-ed) and
are replayed in order once it is back, dated when the pop was shown; the
unique key makes a replay after a crash add nothing twice.  The queue in
memory holds only what arrived during one batch, which the writer's
timeout bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_console.crm.actors import PopView
from agent_console.crm.deps import CrmServices
from agent_console.hub import PopDelivered
from crm_core.outage import data_refused
from crm_core.spool import FileSpool
from crm_core.spool_batch import GroupCommitWriter

__all__ = ["PopAuditQueue"]

_MAX_HAND_OVER = 500  # pops handed to the group commit at once (its batch)

log = logging.getLogger(__name__)


class PopAuditQueue:
    """The delivered pops waiting for their audit row, and the worker that writes them.

    With ``spool_path`` the rows the database cannot take survive a crash;
    without it they wait in memory, in order, until it takes them.
    """

    def __init__(
        self,
        crm: CrmServices,
        *,
        spool_path: Path | None = None,
        retry_interval: float = 2.0,
        write_timeout: float = 10.0,
    ) -> None:
        self._crm = crm
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._retry_interval = retry_interval
        self._writer = GroupCommitWriter(
            "console.pop_audit",
            self._apply,
            FileSpool(spool_path) if spool_path is not None else None,
            retry_interval=retry_interval,
            apply_timeout=write_timeout,
            max_batch=_MAX_HAND_OVER,
        )

    @property
    def waiting(self) -> int:
        """Audit rows waiting in the spool for the database."""
        return self._writer.waiting

    def submit(self, pop: PopDelivered) -> None:
        """Queue ``pop`` for auditing; never blocks (the hub's ``on_pop``)."""
        self._queue.put_nowait(
            {
                "kind": "pop",
                "key": uuid.uuid4().hex,
                "at": datetime.now(UTC).isoformat(),
                "login": pop.agent_login,
                "remote_addr": pop.remote_addr,
                "customer_id": pop.customer_id,
                "call_id": pop.call_id,
            }
        )

    async def join(self) -> None:
        """Wait until every pop queued so far is audited in the database or safe in the spool."""
        await self._queue.join()

    async def emptied(self) -> None:
        """Wait until every pop queued so far is audited in the database."""
        await self.join()
        await self._writer.emptied()

    async def run(self) -> None:
        """Replay what an earlier run spooled, then audit queued pops until cancelled."""
        await self._writer.start()
        while True:
            entries = [await self._queue.get()]
            while len(entries) < _MAX_HAND_OVER and not self._queue.empty():
                entries.append(self._queue.get_nowait())
            try:
                # Queued together, so the group commit writes them in one transaction.
                await asyncio.gather(*(self._hand_over(entry) for entry in entries))
            finally:
                for _ in entries:
                    self._queue.task_done()

    async def _hand_over(self, entry: dict[str, Any]) -> None:
        while True:
            try:
                await self._writer.write(entry)
                return
            except Exception as exc:
                if data_refused(exc):
                    # The database will never take this row (it names no valid customer): say so loudly.
                    log.error(
                        "console.pop_audit_refused",
                        extra={
                            "login": entry["login"],
                            "call_id": entry["call_id"],
                            "customer_id": entry["customer_id"],
                            "error": repr(exc),
                        },
                    )
                    return
                # Neither the database nor the spool took it (disk full): hold it and try again.
                log.error("console.pop_audit_held", extra={"call_id": entry["call_id"], "error": repr(exc)})
                await asyncio.sleep(self._retry_interval)

    async def drain(self, grace: float) -> None:
        """Give the worker up to ``grace`` seconds to hand the queued pops over (at shutdown)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._queue.join()
        if self._queue.qsize():
            log.error("console.pop_audit_unwritten", extra={"count": self._queue.qsize()})
        await self._writer.close()

    async def _apply(self, entries: Sequence[dict[str, Any]]) -> None:
        await self._crm.pops.audit_pops(
            [
                PopView(
                    key=entry["key"],
                    at=datetime.fromisoformat(entry["at"]),
                    login=entry["login"],
                    remote_addr=entry["remote_addr"],
                    customer_id=int(entry["customer_id"]),
                    call_id=entry["call_id"],
                )
                for entry in entries
            ]
        )
