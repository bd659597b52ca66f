"""A follow-up history writer that never loses a write.

Every write goes to the database first; when that fails (database down,
locked, network cut) the write is appended to a spool file (JSON lines in the
data directory, ``fsync``-ed) and replayed in order by a background task
until the database takes it.  A spool left behind by a crash is replayed at
start.  The spool mechanism is :class:`crm_core.spool.SpooledWriter`, shared
with the ACD's statistics records and the screen-pop audit.  Writes are
idempotent merges keyed by the call's Linkedid, so replaying a write that
did reach the database before the failure does no harm: the call's row by
its Linkedid, a leg of it by ``(call_id, leg_key)``, a call's end by its
call id (it closes only the legs still open).

The writes go through a group commit (:class:`crm_core.spool_batch.GroupCommitWriter`):
one task applies the pending writes, oldest first, in one transaction per
batch, and each write returns once its batch is committed or ``fsync``-ed
to the spool: an acknowledged write survives a crash.  A batch costs a few
set-based statements whatever its size (:mod:`crm_core.followups.history_batch`),
and the ``queue_*`` methods let the call flow queue a call's next step
without waiting for the previous one to be durable: the queue's order is
the database's order.

On PostgreSQL several such group commits run side by side (lanes, see
:mod:`bankcti.history_lanes`), each with its own kept connection and spool
file; every write of a call takes the same lane, so a call's writes keep
their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bankcti.history_lanes import entry_call_id, lane_of, lane_spool_path, split_spool
from crm_core.followups.history_batch import apply_history_batch, parse_entry
from crm_core.followups.interactions import InteractionWriter
from crm_core.followups.legs import batch_writes, end_batch, ensure_interactions
from crm_core.held_connection import HeldConnection
from crm_core.models.coltypes import utcnow
from crm_core.schemas import CallEndRecord, InteractionRecord, LegRecord
from crm_core.spool import FileSpool
from crm_core.spool_batch import GroupCommitWriter

__all__ = ["ResilientHistory"]

log = logging.getLogger(__name__)

# The entry kinds applied set-based (crm_core.followups.history_batch); others go one by one.
_SET_BASED = frozenset({"upsert", "leg", "end"})


class ResilientHistory:
    """The history writes (call, leg, end, note) with a spool for when the database is away."""

    def __init__(
        self,
        writer: InteractionWriter,
        spool_path: Path,
        *,
        retry_interval: float = 2.0,
        serialize: bool = False,
        max_batch: int = 500,
        lanes: int = 1,
    ) -> None:
        if lanes < 1:
            raise ValueError("the history needs at least one writer lane")
        self._writer = writer
        self._spool_path = spool_path
        # SQLite has one writer at a time; many connections contending for it
        # through busy_timeout starve some writers for seconds. Queueing the
        # writes here, first come first served, is both fairer and faster.
        self._serial: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if serialize else contextlib.nullcontext()
        )
        # Each lane's batches run back to back on one kept connection (no checkout per batch).
        self._held = [HeldConnection(writer.sessions.kw["bind"]) for _ in range(lanes)]
        self._lanes = [
            GroupCommitWriter(
                "history",
                functools.partial(self._apply, held),
                FileSpool(lane_spool_path(spool_path, lane)),
                retry_interval=retry_interval,
                max_batch=max_batch,
            )
            for lane, held in enumerate(self._held)
        ]

    @property
    def writer(self) -> InteractionWriter:
        return self._writer

    @property
    def lanes(self) -> int:
        """Group commits running side by side (see :mod:`bankcti.history_lanes`)."""
        return len(self._lanes)

    @property
    def waiting(self) -> int:
        """Writes waiting in the spools for the database."""
        return sum(lane.waiting for lane in self._lanes)

    async def start(self) -> None:
        try:
            moved = await asyncio.to_thread(split_spool, self._spool_path, len(self._lanes))
        except OSError as exc:
            # Lane 0 replays them itself: nothing is lost, only a call's order across lanes is not kept.
            log.error("history.spool_split_failed", extra={"error": repr(exc)})
        else:
            if moved:
                log.warning("history.spool_split", extra={"writes": moved, "lanes": len(self._lanes)})
        for lane in self._lanes:
            await lane.start()

    async def close(self) -> None:
        await asyncio.gather(*(lane.close() for lane in self._lanes))
        for held in self._held:
            await held.close()

    async def emptied(self) -> None:
        """Wait until no write waits in the spools."""
        await asyncio.gather(*(lane.emptied() for lane in self._lanes))

    async def upsert(self, record: InteractionRecord) -> None:
        await self.queue_upsert(record)

    async def upsert_leg(self, leg: LegRecord) -> None:
        await self.queue_leg(leg)

    async def end_call(self, end: CallEndRecord) -> None:
        await self.queue_end(end)

    # The queue_* forms queue the write at once, behind every write queued before, and return the future
    # of its outcome: a call's steps keep their order without each waiting for the previous to be durable.
    # The entry holds the record itself (frozen by the caller's hands-off): turned into JSON only if it
    # goes to the spool (crm_core.spool), never parsed again on the way to the database.

    def queue_upsert(self, record: InteractionRecord) -> asyncio.Future[None]:
        return self._lane(record.call_id).queue({"kind": "upsert", "record": record})

    def queue_leg(self, leg: LegRecord) -> asyncio.Future[None]:
        return self._lane(leg.call_id).queue({"kind": "leg", "leg": leg})

    def queue_end(self, end: CallEndRecord) -> asyncio.Future[None]:
        return self._lane(end.call_id).queue({"kind": "end", "end": end})

    def _lane(self, call_id: str) -> GroupCommitWriter:
        return self._lanes[lane_of(call_id, len(self._lanes))]

    async def _apply(self, held: HeldConnection, entries: Sequence[dict[str, Any]]) -> None:
        # One transaction for the batch, the entries in their order: all of them or none.
        if all(isinstance(e, dict) and e.get("kind") in _SET_BASED for e in entries):
            writes = [parse_entry(entry) for entry in entries]  # a malformed entry: refused, nothing written
            async with self._serial, held.transaction() as session:
                await apply_history_batch(session, writes)
            return
        # A note spooled by an earlier version (or a malformed entry, refused by itself): one by one.
        async with self._serial, self._writer.transaction() as session:
            batch_writes(session)
            # The rows of the calls whose legs or end the batch writes: found (or created) at once.
            await ensure_interactions(session, _leg_calls(entries), utcnow())
            for entry in entries:
                await self._apply_in(session, entry)
            await end_batch(session)

    async def _apply_in(self, session: AsyncSession, entry: dict[str, Any]) -> None:
        if entry["kind"] == "upsert":
            await self._writer.upsert(InteractionRecord.model_validate(entry["record"]), session)
        elif entry["kind"] == "leg":
            await self._writer.upsert_leg(LegRecord.model_validate(entry["leg"]), session)
        elif entry["kind"] == "end":
            await self._writer.end_call(CallEndRecord.model_validate(entry["end"]), session)
        else:
            # A note spooled by a version before the one wrap-up path (issue 14): still applied.
            await self._writer.save_note(
                entry["call_id"],
                agent_login=entry["agent_login"],
                notes=entry["notes"],
                disposition=entry["disposition"],
                within=session,
            )

    async def replay(self) -> int:
        """Apply spooled writes in order; return how many are still pending."""
        return sum(await asyncio.gather(*(lane.replay() for lane in self._lanes)))


def _leg_calls(entries: Sequence[Any]) -> set[str]:
    """The call ids the legs and ends of ``entries`` name (a malformed entry is refused later, by itself)."""
    calls = set()
    for entry in entries:
        if isinstance(entry, dict) and entry.get("kind") in ("leg", "end"):
            call_id = entry_call_id(entry)
            if call_id is not None and 0 < len(call_id) <= 64:
                calls.add(call_id)
    return calls
