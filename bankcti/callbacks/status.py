"""What the callback engine writes about a request, written so that no customer is dialled twice.

A callback request's status is what decides, after a restart, whether the
customer is dialled again (``pending`` and ``in-progress`` requests are
queued again).  Two rules follow:

* **persist before acting** — :meth:`CallbackStatusWriter.claim` moves the
  request to ``in-progress`` in the database *before* the customer's phone
  may ring, and the engine dials only once that write succeeded: a request
  cancelled meanwhile (by the customer, or settled elsewhere) is not dialled,
  and a database that cannot take the write delays the attempt instead of
  letting it run unrecorded;
* **never lose a settlement** — what an attempt ended with (``done``,
  ``failed``, or ``pending`` with the next attempt's time) and where a request
  waits (its queue place and routing facts) go through a
  :class:`~crm_core.spool.SpooledWriter`: written now, or ``fsync``-ed to a
  spool file in the data directory and replayed in order until the
  database takes them.  The engine replays that spool at start *before* it
  reads which requests are pending, so a request answered during an outage
  is never dialled again after a restart.

Replays are idempotent: a settlement the database already holds (a crash
between its commit and the spool's rewrite) is recognised and not applied
twice; one the request cannot take any more (cancelled by the customer
meanwhile) is logged as an error and dropped, never retried for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contact_center.callback_places import (
    callback_status,
    record_callback_attempt,
    set_callback_place,
)
from crm_core.errors import Conflict, NotFound
from crm_core.selfservice.service import SelfService
from crm_core.spool import FileSpool, Spool, SpooledWriter

__all__ = ["CallbackStatusWriter"]

log = logging.getLogger(__name__)


class CallbackStatusWriter:
    """Claims (direct) and settlements and places (spooled) of callback requests.

    ``spool_path`` is the spool file (``None``: in memory, for tests that
    need no restart); ``retry_interval`` is how often a waiting spool is
    replayed.
    """

    def __init__(
        self,
        selfservice: SelfService,
        sessions: async_sessionmaker[AsyncSession],
        spool_path: Path | None,
        *,
        retry_interval: float = 2.0,
    ) -> None:
        self._selfservice = selfservice
        self._sessions = sessions
        spool: Spool | None = FileSpool(spool_path) if spool_path is not None else None
        self._spooled = SpooledWriter("callbacks.status", self._apply, spool, retry_interval=retry_interval)

    @property
    def waiting(self) -> int:
        """Writes waiting in the spool for the database."""
        return self._spooled.waiting

    async def start(self) -> None:
        """Replay what an earlier run left in the spool (once), then keep replaying in the background."""
        await self._spooled.start()

    async def close(self) -> None:
        await self._spooled.close()

    async def emptied(self) -> None:
        """Wait until nothing waits in the spool."""
        await self._spooled.emptied()

    async def held_back(self) -> set[int]:
        """Requests with writes still waiting in the spool: their database rows are not up to date."""
        spool = self._spooled.spool
        entries = await asyncio.to_thread(spool.read) if isinstance(spool, FileSpool) else spool.read()
        return {int(entry["callback_id"]) for entry in entries}

    async def claim(self, callback_id: int) -> bool:
        """Move the request to ``in-progress`` before its customer is dialled.

        ``True``: claimed, dial.  ``False``: the request is not pending any
        more (cancelled, done, unknown): do not dial.  Any other exception is
        the database's (an outage): do not dial either, try again later.
        """
        try:
            await self._selfservice.mark_callback(callback_id, "in-progress")
        except NotFound as exc:
            log.warning("callbacks.not_claimed", extra={"callback_id": callback_id, "error": str(exc)})
            return False
        except Conflict as exc:
            # Already in progress: our own claim whose answer was lost with the link (one engine per
            # database; a restart turns every in-progress request back to pending first).
            if await callback_status(self._sessions, callback_id) == "in-progress":
                return True
            log.warning("callbacks.not_claimed", extra={"callback_id": callback_id, "error": str(exc)})
            return False
        return True

    async def settle(
        self,
        callback_id: int,
        status: str,
        result: str | None,
        *,
        attempts: int,
        agent_login: str | None,
        next_attempt_at: float | None = None,
    ) -> None:
        """Record how an attempt ended: in the database now, or durably in the spool.

        Returns once the write is durable either way.  Raises ``OSError``
        when the spool itself cannot be written, and what
        :func:`crm_core.outage.data_refused` calls a refusal.
        """
        await self._spooled.write(
            {
                "kind": "settle",
                "callback_id": callback_id,
                "status": status,
                "result": result,
                "attempts": attempts,
                "agent_login": agent_login,
                "next_attempt_at": next_attempt_at,
            }
        )

    async def place(
        self, callback_id: int, *, queue: str, priority: int, queued_at: float, routing: Mapping[str, Any]
    ) -> None:
        """Record the queue place and routing facts a request keeps (durably, as :meth:`settle`)."""
        await self._spooled.write(
            {
                "kind": "place",
                "callback_id": callback_id,
                "queue": queue,
                "priority": priority,
                "queued_at": queued_at,
                "routing": dict(routing),
            }
        )

    async def _apply(self, entry: dict[str, Any]) -> None:
        callback_id = int(entry["callback_id"])
        if entry["kind"] == "place":
            await set_callback_place(
                self._sessions,
                callback_id,
                queue=entry["queue"],
                priority=entry["priority"],
                queued_at=entry["queued_at"],
                routing=entry["routing"],
            )
            return
        status = entry["status"]
        await record_callback_attempt(
            self._sessions,
            callback_id,
            attempts=entry["attempts"],
            agent_login=entry["agent_login"],
            next_attempt_at=entry["next_attempt_at"],
        )
        try:
            await self._selfservice.mark_callback(callback_id, status, entry["result"])
        except NotFound:
            log.error("callbacks.status_for_unknown_request", extra={"callback_id": callback_id})
        except Conflict:
            current = await callback_status(self._sessions, callback_id)
            if current != status:
                # Settled by someone else meanwhile (the customer cancelled): nothing a retry could change.
                log.error(
                    "callbacks.status_conflict",
                    extra={"callback_id": callback_id, "status": status, "current": current},
                )
