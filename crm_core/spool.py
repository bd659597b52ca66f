"""Writes that outlive a database outage: a durable spool and the writer that replays it in order.

:class:`SpooledWriter` hands each write (a JSON-able dict) to an ``apply``
coroutine that puts it in the database.  When that fails because the
database is unavailable (or for any reason not known to be final) the write
is appended to a :class:`FileSpool` — JSON lines, flushed and ``fsync``-ed
before :meth:`SpooledWriter.write` returns — and a background task replays
the spool, oldest first, until the database takes everything.  Once anything
is spooled, later writes queue behind it, so the database sees every write in
the order it was made.  A spool left behind by a crash is replayed at start.

``apply`` must be idempotent (an upsert, or an insert that ignores a key it
has seen): a crash between the database's commit and the spool's rewrite
replays writes that are already stored.

A write the database refuses for good (:func:`crm_core.outage.data_refused`)
is never retried forever, which would hold every later write back: a direct
write raises it to the caller; a spooled one is moved to the spool's
``.rejected.jsonl`` file with the error, logged as an error, and the replay
goes on.  Nothing is dropped silently.

Without a file (:class:`MemorySpool`) the same writer keeps the waiting
writes in memory: ordered and retried, but not crash-proof.

:class:`crm_core.spool_batch.GroupCommitWriter` is the same writer with a
group commit in front (the follow-up history's): the pending writes applied
in batches, one transaction each, by one task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from crm_core.outage import data_refused, database_unavailable

__all__ = ["FileSpool", "MemorySpool", "Spool", "SpooledWriter"]

log = logging.getLogger(__name__)

Entry = dict[str, Any]


class Spool(Protocol):
    """Where waiting writes are kept, in order."""

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Add ``entries`` at the end; durable when this returns."""
        ...

    def read(self) -> list[Entry]:
        """Every waiting entry, oldest first."""
        ...

    def replace(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Keep only ``entries`` (what is still waiting after a replay)."""
        ...

    def reject(self, entry: Mapping[str, Any], error: str) -> None:
        """Keep ``entry``, refused for good by the database, apart from the waiting ones."""
        ...

    def exists(self) -> bool:
        """Whether any entry waits."""
        ...


def _fsync_dir(directory: Path) -> None:
    # A new or renamed file is durable only once its directory entry is.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _line(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=_as_json) + "\n"


def _as_json(value: Any) -> Any:
    # A writer may queue its record (a pydantic model) as it is: in the spool, the fields it set.
    dump = getattr(value, "model_dump", None)
    if dump is None:
        raise TypeError(f"{type(value).__name__} cannot be spooled as JSON")
    return dump(mode="json", exclude_unset=True)


class FileSpool:
    """A JSON-lines spool file, ``fsync``-ed on every change; refused entries beside it.

    Blocking: call the methods from a worker thread (:class:`SpooledWriter` does).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rejected_path = path.with_name(f"{path.stem}.rejected.jsonl")

    def exists(self) -> bool:
        return self.path.exists()

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write("".join(_line(entry) for entry in entries))
            fh.flush()
            os.fsync(fh.fileno())
        if created:
            _fsync_dir(self.path.parent)

    def read(self) -> list[Entry]:
        if not self.path.exists():
            return []
        entries = []
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    # A line torn by a crash mid-write was never acknowledged: keep the rest.
                    log.error("spool.line_unreadable", extra={"spool": self.path.name, "line": number})
        return entries

    def replace(self, entries: Sequence[Mapping[str, Any]]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
        else:
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write("".join(_line(entry) for entry in entries))
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.path)
        _fsync_dir(self.path.parent)

    def reject(self, entry: Mapping[str, Any], error: str) -> None:
        self.rejected_path.parent.mkdir(parents=True, exist_ok=True)
        record = {"rejected_at": datetime.now(UTC).isoformat(), "error": error, "entry": dict(entry)}
        with self.rejected_path.open("a", encoding="utf-8") as fh:
            fh.write(_line(record))
            fh.flush()
            os.fsync(fh.fileno())


class MemorySpool:
    """A spool in memory: same order and retries as :class:`FileSpool`, lost if the process dies."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.rejected: list[tuple[Entry, str]] = []

    def exists(self) -> bool:
        return bool(self.entries)

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self.entries.extend(dict(entry) for entry in entries)

    def read(self) -> list[Entry]:
        return list(self.entries)

    def replace(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self.entries = [dict(entry) for entry in entries]

    def reject(self, entry: Mapping[str, Any], error: str) -> None:
        self.rejected.append((dict(entry), error))


class SpooledWriter:
    """Applies writes now, or spools them and replays them in order when the database is back.

    ``name`` prefixes the log events (``<name>.write_spooled``,
    ``<name>.replayed``, ``<name>.entry_rejected``…).  ``apply_timeout``
    bounds one attempt, so a database that hangs rather than refuses still
    sends the writes to the spool instead of piling them up in memory.
    """

    def __init__(
        self,
        name: str,
        apply: Callable[[Entry], Awaitable[None]],
        spool: Spool | None = None,
        *,
        retry_interval: float = 2.0,
        apply_timeout: float = 10.0,
    ) -> None:
        self._name = name
        self._apply = apply
        self._spool: Spool = spool if spool is not None else MemorySpool()
        self._in_thread = isinstance(self._spool, FileSpool)
        self._retry_interval = retry_interval
        self._apply_timeout = apply_timeout
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._task: asyncio.Task[None] | None = None
        self._spooling = False
        self._waiting = 0

    @property
    def spool(self) -> Spool:
        return self._spool

    @property
    def waiting(self) -> int:
        """How many writes wait in the spool (as of the last append or replay)."""
        return self._waiting

    async def _io(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._in_thread:
            return await asyncio.to_thread(function, *args)
        return function(*args)

    async def start(self) -> None:
        """Replay a spool left by an earlier run once, then keep replaying in the background."""
        try:
            if await self._io(self._spool.exists):
                self._set_spooling(True)
                await self.replay()
        except OSError as exc:
            # The spool file cannot be read now: its writes stay there; the background task retries.
            log.error(f"{self._name}.spool_unusable", extra={"error": repr(exc)})
            self._set_spooling(True)
        if self._task is None:
            self._task = asyncio.create_task(self._replay_loop(), name=f"{self._name}-replay")
            if self._spooling:
                self._wake.set()

    async def close(self) -> None:
        """Stop replaying; one last attempt so a clean shutdown leaves no spool behind if it can."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.replay()

    async def write(self, entry: Entry) -> None:
        """Apply ``entry`` now, or spool it (durably, behind any earlier one) if the database cannot take it.

        Raises what :func:`~crm_core.outage.data_refused` calls a refusal
        (the entry is not spooled: no retry would help), and ``OSError`` if
        the spool itself cannot be written (the entry is then not kept: the
        caller still holds it).
        """
        # Fast path without the lock: independent writes run in parallel. Once anything is
        # spooled, later writes queue behind it so the database sees them in order.
        if not self._spooling:
            try:
                await self._attempt(entry)
                return
            except Exception as exc:
                if data_refused(exc):
                    raise
                log.warning(
                    f"{self._name}.write_spooled",
                    extra={"error": type(exc).__name__, "unavailable": database_unavailable(exc)},
                )
        async with self._lock:
            await self._io(self._spool.append, [entry])
            self._waiting += 1
            self._set_spooling(True)
        self._wake.set()

    async def _attempt(self, entry: Entry) -> None:
        async with asyncio.timeout(self._apply_timeout):
            await self._apply(entry)

    def _set_spooling(self, spooling: bool) -> None:
        self._spooling = spooling
        if spooling:
            self._empty.clear()
        else:
            self._empty.set()

    async def emptied(self) -> None:
        """Wait until nothing waits in the spool (every write is in the database or rejected)."""
        await self._empty.wait()

    async def replay(self) -> int:
        """Apply spooled writes in order, stopping at the first that fails; return how many still wait."""
        async with self._lock:
            if not await self._io(self._spool.exists):
                self._waiting = 0
                self._set_spooling(False)
                return 0
            entries = await self._io(self._spool.read)
            done = rejected = 0
            failure: BaseException | None = None
            for entry in entries:
                outcome = await self._replay_entry(entry)
                if isinstance(outcome, BaseException):
                    failure = outcome
                    break
                rejected += outcome
                done += 1
            remaining = await self._keep_waiting(entries, done)
        return self._replayed(done, rejected, remaining, failure)

    async def _replay_entry(self, entry: Entry) -> BaseException | int:
        """Apply one spooled ``entry``: 0 if applied, 1 if refused for good (set aside), else the failure."""
        try:
            await self._attempt(entry)
        except Exception as exc:
            if not data_refused(exc):
                return exc
            await self._io(self._spool.reject, entry, f"{type(exc).__name__}: {exc}"[:2000])
            log.error(
                f"{self._name}.entry_rejected",
                extra={"error": type(exc).__name__, "kind": entry.get("kind")},
            )
            return 1
        return 0

    async def _keep_waiting(self, entries: list[Entry], done: int) -> list[Entry]:
        """Drop the first ``done`` entries from the spool; return those still waiting."""
        remaining = entries[done:]
        if done:
            await self._io(self._spool.replace, remaining)
        self._waiting = len(remaining)
        self._set_spooling(bool(remaining))
        return remaining

    def _replayed(
        self, done: int, rejected: int, remaining: list[Entry], failure: BaseException | None
    ) -> int:
        """Log a replay's result; return how many entries still wait."""
        if done:
            log.info(
                f"{self._name}.replayed",
                extra={"writes": done - rejected, "rejected": rejected, "waiting": len(remaining)},
            )
        if failure is not None:
            log.warning(
                f"{self._name}.replay_waiting",
                extra={
                    "error": type(failure).__name__,
                    "unavailable": database_unavailable(failure),
                    "waiting": len(remaining),
                },
            )
        return len(remaining)

    async def _replay_loop(self) -> None:
        while True:
            await self._wake.wait()
            # Cleared before the replay, not after: a write spooled meanwhile sets it again.
            self._wake.clear()
            try:
                waiting = await self.replay()
            except OSError as exc:
                # The spool file itself (disk full, permissions): keep trying, it holds the writes.
                log.error(f"{self._name}.spool_unusable", extra={"error": repr(exc)})
                waiting = -1
            if waiting != 0:
                self._wake.set()
                await asyncio.sleep(self._retry_interval)
