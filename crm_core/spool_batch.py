"""Group commit in front of a spool: one writer task applies the pending writes in batches.

:class:`GroupCommitWriter` is a :class:`~crm_core.spool.SpooledWriter` whose
``apply_batch`` takes a list of entries and applies them in order in one
transaction.  :meth:`~GroupCommitWriter.write` queues the entry and returns
once its batch is durable: committed in the database, or appended (one
``fsync`` for the whole batch) to the spool.  Nothing is acknowledged
earlier, so a crash loses no acknowledged write.

One task applies the batches, oldest first, so the database sees the writes
in the order :meth:`~GroupCommitWriter.write` was called (a stronger order
than the per-call order the callers need).  A batch the database refuses is
applied again entry by entry: each refused entry's caller gets the refusal,
the others are applied; an outage meanwhile spools the entry and every later
one.  The spool's replay goes batch by batch the same way, and moves only
the refused entry of a failed batch to the rejected file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from crm_core.outage import data_refused, database_unavailable
from crm_core.spool import Entry, Spool, SpooledWriter

__all__ = ["GroupCommitWriter"]

log = logging.getLogger(__name__)

_Pending = tuple[Entry, "asyncio.Future[None]"]


class GroupCommitWriter(SpooledWriter):
    """A :class:`SpooledWriter` that commits the pending writes in batches of up to ``max_batch``."""

    def __init__(
        self,
        name: str,
        apply_batch: Callable[[Sequence[Entry]], Awaitable[None]],
        spool: Spool | None = None,
        *,
        retry_interval: float = 2.0,
        apply_timeout: float = 10.0,
        max_batch: int = 500,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        super().__init__(
            name, self._apply_one, spool, retry_interval=retry_interval, apply_timeout=apply_timeout
        )
        self._apply_batch = apply_batch
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._committer: asyncio.Task[None] | None = None

    async def _apply_one(self, entry: Entry) -> None:
        await self._apply_batch([entry])

    async def write(self, entry: Entry) -> None:
        """Queue ``entry``; return once it is committed or in the ``fsync``-ed spool.

        Raises what :func:`~crm_core.outage.data_refused` calls a refusal (the
        entry is not kept), and ``OSError`` if the spool cannot be written.
        A caller cancelled while waiting does not withdraw the entry.
        """
        await self.queue(entry)

    def queue(self, entry: Entry) -> asyncio.Future[None]:
        """Queue ``entry`` now, behind every entry queued before; the future is :meth:`write`'s outcome.

        The queue's order is the database's order, so a caller may queue a
        call's next step before the previous one is durable and still have
        them applied in order.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        self._idle.clear()
        self._ready.set()
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_loop(), name=f"{self._name}-commit")
        return future

    async def drained(self) -> None:
        """Wait until every queued write is committed or spooled."""
        await self._idle.wait()

    async def close(self) -> None:
        """Let the queued writes land, stop the writer task, then as :meth:`SpooledWriter.close`."""
        if self._committer is not None:
            await self.drained()
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
            self._committer = None
        await super().close()

    async def _commit_loop(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: len(batch)]
                try:
                    await self._commit(batch)
                except Exception as exc:  # a defect here must not strand the callers
                    log.exception(f"{self._name}.commit_failed")
                    _settle(batch, exc)
            if not self._pending:
                self._idle.set()

    async def _commit(self, batch: list[_Pending]) -> None:
        if self._spooling and await self._spool_behind(batch):
            return
        try:
            async with asyncio.timeout(self._apply_timeout):
                await self._apply_batch([entry for entry, _ in batch])
        except Exception as exc:
            if data_refused(exc):
                await self._one_by_one(batch)
                return
            log.warning(
                f"{self._name}.write_spooled",
                extra={
                    "error": type(exc).__name__,
                    "unavailable": database_unavailable(exc),
                    "writes": len(batch),
                },
            )
            await self._spool_now(batch)
            return
        _settle(batch, None)

    async def _one_by_one(self, batch: list[_Pending]) -> None:
        for index, (entry, future) in enumerate(batch):
            try:
                await self._attempt(entry)
            except Exception as exc:
                if data_refused(exc):
                    _settle([(entry, future)], exc)  # the caller gets the refusal, as a direct write
                    continue
                log.warning(
                    f"{self._name}.write_spooled",
                    extra={"error": type(exc).__name__, "unavailable": database_unavailable(exc)},
                )
                await self._spool_now(batch[index:])
                return
            _settle([(entry, future)], None)

    async def _spool_behind(self, batch: list[_Pending]) -> bool:
        """Append ``batch`` behind the spooled writes if any still wait; ``False``: the spool emptied."""
        async with self._lock:
            if not self._spooling:
                return False
            await self._append(batch)
        self._wake.set()
        return True

    async def _spool_now(self, batch: list[_Pending]) -> None:
        async with self._lock:
            await self._append(batch)
        self._wake.set()

    async def _append(self, batch: list[_Pending]) -> None:
        # Under the lock. One fsync for the whole batch; acknowledged only once it returned.
        try:
            await self._io(self._spool.append, [entry for entry, _ in batch])
        except OSError as exc:
            _settle(batch, exc)
            return
        self._waiting += len(batch)
        self._set_spooling(True)
        _settle(batch, None)

    async def replay(self) -> int:
        """Apply spooled writes in order, a batch at a time; return how many still wait.

        A batch that fails is applied entry by entry: a refused entry moves
        to the rejected file, the first other failure stops the replay.
        """
        async with self._lock:
            if not await self._io(self._spool.exists):
                self._waiting = 0
                self._set_spooling(False)
                return 0
            entries = await self._io(self._spool.read)
            done = rejected = 0
            failure: BaseException | None = None
            while done < len(entries) and failure is None:
                chunk = entries[done : done + self._max_batch]
                try:
                    async with asyncio.timeout(self._apply_timeout):
                        await self._apply_batch(chunk)
                    done += len(chunk)
                    continue
                except Exception:
                    pass
                for entry in chunk:
                    outcome = await self._replay_entry(entry)
                    if isinstance(outcome, BaseException):
                        failure = outcome
                        break
                    rejected += outcome
                    done += 1
            remaining = await self._keep_waiting(entries, done)
        return self._replayed(done, rejected, remaining, failure)


def _settle(batch: Sequence[_Pending], error: BaseException | None) -> None:
    for _, future in batch:
        if future.done():
            continue  # its caller was cancelled: the entry was still written
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
