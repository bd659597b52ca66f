"""A follow-up history writer that never loses a write.

Every write goes to the database first; when that fails (database down,
locked, network cut) the write is appended to a spool file (JSON lines in the
data directory) and replayed in order by a background task until the
database takes it.  A spool left behind by a crash is replayed at start.
Writes are idempotent merges keyed by the call's Linkedid, so replaying a
write that did reach the database before the failure does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from crm_core.followups.interactions import InteractionWriter
from crm_core.schemas import InteractionRecord

__all__ = ["ResilientHistory"]

log = logging.getLogger(__name__)


class ResilientHistory:
    """``upsert`` and ``save_note`` with a spool for when the database is away."""

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
        self._spool = spool_path
        self._retry_interval = retry_interval
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._spooling = False

    @property
    def writer(self) -> InteractionWriter:
        return self._writer

    async def start(self) -> None:
        if await asyncio.to_thread(self._spool.exists):
            self._spooling = True
            self._wake.set()
        self._task = asyncio.create_task(self._replay_loop(), name="history-replay")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # One last attempt so a clean shutdown leaves no spool behind if it can.
        with contextlib.suppress(Exception):
            await self.replay()

    async def upsert(self, record: InteractionRecord) -> None:
        await self._write({"kind": "upsert", "record": record.model_dump(mode="json")})

    async def save_note(
        self, call_id: str, *, agent_login: str, notes: str | None, disposition: str | None
    ) -> None:
        # Refuse bad input before spooling: a note the database would always
        # refuse must reach the agent as an error, not sit in the spool forever.
        if len(call_id) > 64 or (disposition is not None and len(disposition) > 64):
            raise ValueError("call id and disposition are limited to 64 characters")
        await self._write(
            {
                "kind": "note",
                "call_id": call_id,
                "agent_login": agent_login,
                "notes": notes,
                "disposition": disposition,
            }
        )

    async def _write(self, entry: dict[str, Any]) -> None:
        # Fast path without the lock: writes of different calls run in
        # parallel. Once anything is spooled, later writes queue behind it so
        # a call's writes are applied in the order they were made.
        if not self._spooling:
            try:
                await self._apply(entry)
                return
            except ValueError:
                raise
            except Exception as exc:
                log.warning("history.write_spooled", extra={"error": type(exc).__name__})
        async with self._lock:
            self._spooling = True
            await asyncio.to_thread(self._append, entry)
        self._wake.set()

    async def _apply(self, entry: dict[str, Any]) -> None:
        async with self._serial:
            await self._apply_now(entry)

    async def _apply_now(self, entry: dict[str, Any]) -> None:
        if entry["kind"] == "upsert":
            await self._writer.upsert(InteractionRecord.model_validate(entry["record"]))
        else:
            await self._writer.save_note(
                entry["call_id"],
                agent_login=entry["agent_login"],
                notes=entry["notes"],
                disposition=entry["disposition"],
            )

    def _append(self, entry: dict[str, Any]) -> None:
        self._spool.parent.mkdir(parents=True, exist_ok=True)
        with self._spool.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()

    def _read(self) -> list[dict[str, Any]]:
        entries = []
        with self._spool.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    # A line torn by a crash mid-write: keep the rest.
                    log.error("history.spool_line_unreadable", extra={"line": number})
        return entries

    def _rewrite(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self._spool.unlink(missing_ok=True)
            return
        tmp = self._spool.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for entry in entries:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        tmp.replace(self._spool)

    async def replay(self) -> int:
        """Apply spooled writes in order; return how many are still pending."""
        async with self._lock:
            if not await asyncio.to_thread(self._spool.exists):
                return 0
            entries = await asyncio.to_thread(self._read)
            done = 0
            for entry in entries:
                try:
                    await self._apply(entry)
                except ValueError as exc:
                    log.error("history.spool_entry_refused", extra={"error": str(exc)})
                except Exception:
                    break
                done += 1
            remaining = entries[done:]
            await asyncio.to_thread(self._rewrite, remaining)
            self._spooling = bool(remaining)
            if done:
                log.info("history.replayed", extra={"writes": done, "pending": len(remaining)})
            return len(remaining)

    async def _replay_loop(self) -> None:
        while True:
            await self._wake.wait()
            pending = await self.replay()
            if pending == 0:
                self._wake.clear()
            else:
                await asyncio.sleep(self._retry_interval)
