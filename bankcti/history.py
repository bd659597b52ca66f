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
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from crm_core.followups.interactions import InteractionWriter
from crm_core.schemas import CallEndRecord, InteractionRecord, LegRecord
from crm_core.spool import FileSpool, SpooledWriter

__all__ = ["ResilientHistory"]


class ResilientHistory:
    """The history writes (call, leg, end, note) with a spool for when the database is away."""

    def __init__(
        self,
        writer: InteractionWriter,
        spool_path: Path,
        *,
        retry_interval: float = 2.0,
        serialize: bool = False,
    ) -> None:
        self._writer = writer
        # SQLite has one writer at a time; many connections contending for it
        # through busy_timeout starve some writers for seconds. Queueing the
        # writes here, first come first served, is both fairer and faster.
        self._serial: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if serialize else contextlib.nullcontext()
        )
        self._spooled = SpooledWriter(
            "history", self._apply, FileSpool(spool_path), retry_interval=retry_interval
        )

    @property
    def writer(self) -> InteractionWriter:
        return self._writer

    @property
    def waiting(self) -> int:
        """Writes waiting in the spool for the database."""
        return self._spooled.waiting

    async def start(self) -> None:
        await self._spooled.start()

    async def close(self) -> None:
        await self._spooled.close()

    async def emptied(self) -> None:
        """Wait until no write waits in the spool."""
        await self._spooled.emptied()

    async def upsert(self, record: InteractionRecord) -> None:
        await self._spooled.write({"kind": "upsert", "record": record.model_dump(mode="json")})

    async def upsert_leg(self, leg: LegRecord) -> None:
        await self._spooled.write({"kind": "leg", "leg": leg.model_dump(mode="json", exclude_none=True)})

    async def end_call(self, end: CallEndRecord) -> None:
        await self._spooled.write({"kind": "end", "end": end.model_dump(mode="json")})

    async def save_note(
        self, call_id: str, *, agent_login: str, notes: str | None, disposition: str | None
    ) -> None:
        # Refuse bad input before spooling: a note the database would always
        # refuse must reach the agent as an error, not sit in the spool forever.
        if len(call_id) > 64 or (disposition is not None and len(disposition) > 64):
            raise ValueError("call id and disposition are limited to 64 characters")
        await self._spooled.write(
            {
                "kind": "note",
                "call_id": call_id,
                "agent_login": agent_login,
                "notes": notes,
                "disposition": disposition,
            }
        )

    async def _apply(self, entry: dict[str, Any]) -> None:
        async with self._serial:
            if entry["kind"] == "upsert":
                await self._writer.upsert(InteractionRecord.model_validate(entry["record"]))
            elif entry["kind"] == "leg":
                await self._writer.upsert_leg(LegRecord.model_validate(entry["leg"]))
            elif entry["kind"] == "end":
                await self._writer.end_call(CallEndRecord.model_validate(entry["end"]))
            else:
                await self._writer.save_note(
                    entry["call_id"],
                    agent_login=entry["agent_login"],
                    notes=entry["notes"],
                    disposition=entry["disposition"],
                )

    async def replay(self) -> int:
        """Apply spooled writes in order; return how many are still pending."""
        return await self._spooled.replay()
