"""Periodic jobs run in-process, safe with several service instances on one database.

Each job has a row in ``job_leases``.  Before running, an instance takes
the lease with one conditional ``UPDATE`` and goes on only if exactly one
row changed::

    UPDATE job_leases SET holder = :me, expires_at = :now + lease
     WHERE name = :job
       AND (expires_at < :now OR holder = :me)
       AND (last_run_at IS NULL OR last_run_at <= :now - interval)

The database serialises the two updates of a race, so one instance wins
and the other sees ``rowcount == 0``.  The ``last_run_at`` condition makes
a job run once per interval across all instances, not once per instance.
A holder that dies keeps the lease only until ``expires_at``; then any
instance takes over.  Jobs must be idempotent all the same: a job that
outlives its lease may overlap with the next holder.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.dbtime import database_now
from crm_core.models import JobLease

__all__ = ["JobFunc", "JobRun", "JobRunner", "default_holder"]

log = logging.getLogger(__name__)

#: A job body: gets a session inside an open transaction and the run's time; returns a JSON-able summary.
JobFunc = Callable[[AsyncSession, datetime], Awaitable[dict[str, Any]]]

_NAME_LENGTH = 64
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def default_holder() -> str:
    """A holder name unique to this process: ``host:pid:random``."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class JobRun:
    """What one :meth:`JobRunner.run_once` call did.

    ``ran`` is False when another holder has the lease or the job ran less
    than an interval ago (then ``result`` and ``error`` are None).  A job
    that raised has ``ran=True`` and ``error`` set to the exception's type.
    """

    name: str
    ran: bool
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class _Job:
    name: str
    interval: float
    func: JobFunc
    lock: asyncio.Lock


class JobRunner:
    """Runs registered jobs on intervals under a database lease.

    ``holder`` names this instance in the lease row (unique per process:
    see :func:`default_holder`); ``lease_seconds`` bounds how long a dead
    holder blocks a job.  Lease times come from the database's clock, so
    instances with drifting clocks agree; ``clock`` (aware UTC) replaces it
    in tests.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        holder: str,
        *,
        lease_seconds: float = 300.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not holder or len(holder) > _NAME_LENGTH:
            raise ValueError("job holder must be 1 to 64 characters")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._sessions = sessions
        self.holder = holder
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self._jobs: dict[str, _Job] = {}
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def names(self) -> list[str]:
        """Registered job names, in registration order."""
        return list(self._jobs)

    def register(self, name: str, interval_seconds: float, func: JobFunc) -> None:
        """Add a job run every ``interval_seconds`` (by one instance of the cluster).

        Raises :class:`ValueError` for a bad name, a non-positive interval or
        a name already registered.
        """
        if not name or len(name) > _NAME_LENGTH:
            raise ValueError("job name must be 1 to 64 characters")
        if interval_seconds <= 0:
            raise ValueError("job interval must be positive")
        if name in self._jobs:
            raise ValueError(f"job {name!r} is already registered")
        self._jobs[name] = _Job(name, float(interval_seconds), func, asyncio.Lock())

    async def run_once(self, name: str, *, force: bool = False) -> JobRun:
        """Run job ``name`` now if this instance gets its lease.

        Without ``force`` the job is skipped when any instance ran it less
        than one interval ago.  The body runs in its own transaction; its
        result (or the error's type) is stored in ``job_leases.last_result``
        and the lease is released.  Errors in the body are logged and
        reported in the returned :class:`JobRun`, never raised.  Raises
        :class:`KeyError` for an unregistered name.
        """
        job = self._jobs[name]
        async with job.lock:  # one run per job per instance; the lease covers the others
            now = await self._acquire(job, force=force)
            if now is None:
                log.debug("job.skipped", extra={"job": name, "holder": self.holder})
                return JobRun(name=name, ran=False)
            started = time.monotonic()
            try:
                async with self._sessions() as session, session.begin():
                    result = _jsonable(await job.func(session, now))
            except Exception as exc:
                log.exception("job.failed", extra={"job": name, "holder": self.holder})
                await self._finish(job, now, {"error": type(exc).__name__})
                return JobRun(name=name, ran=True, error=type(exc).__name__)
            await self._finish(job, now, result)
            log.info(
                "job.ran",
                extra={"job": name, "holder": self.holder, "seconds": round(time.monotonic() - started, 3)},
            )
            return JobRun(name=name, ran=True, result=result)

    def start(self) -> None:
        """Start the background loop that runs each job when its interval is due.

        Must be called from a running event loop; calling it twice is an error.
        """
        if self._task is not None:
            raise RuntimeError("job runner already started")
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name=f"jobs:{self.holder}")

    async def close(self, grace_seconds: float = 10.0) -> None:
        """Stop the loop; a job in progress gets ``grace_seconds`` to finish, then is cancelled."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            async with asyncio.timeout(grace_seconds):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        next_due = dict.fromkeys(self._jobs, time.monotonic())
        while not self._stop.is_set():
            for name, job in self._jobs.items():
                if self._stop.is_set():
                    return
                if next_due[name] <= time.monotonic():
                    next_due[name] = time.monotonic() + job.interval
                    try:
                        await self.run_once(name)
                    except Exception:
                        # The lease itself failed (database down): try again next interval.
                        log.exception("job.lease_failed", extra={"job": name, "holder": self.holder})
            delay = max(0.0, min(next_due.values(), default=time.monotonic() + 60) - time.monotonic())
            try:
                async with asyncio.timeout(delay):
                    await self._stop.wait()
            except TimeoutError:
                pass

    async def _acquire(self, job: _Job, *, force: bool) -> datetime | None:
        """The run's time if this instance took the lease, else ``None``."""
        async with self._sessions() as session, session.begin():
            now = self._clock() if self._clock is not None else await database_now(session)
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            await session.execute(
                insert(JobLease)
                .values(name=job.name, holder="", expires_at=_NEVER)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            conditions = [
                JobLease.name == job.name,
                or_(JobLease.expires_at < now, JobLease.holder == self.holder),
            ]
            if not force:
                due = now - timedelta(seconds=job.interval)
                conditions.append(or_(JobLease.last_run_at.is_(None), JobLease.last_run_at <= due))
            result = await session.execute(
                update(JobLease)
                .where(*conditions)
                .values(holder=self.holder, expires_at=now + self._lease)
                .execution_options(synchronize_session=False)
            )
            assert isinstance(result, CursorResult)
            return now if result.rowcount == 1 else None

    async def _finish(self, job: _Job, now: datetime, result: dict[str, Any]) -> None:
        # Releasing backdates expires_at to the epoch: the lease is free at once (the
        # last holder stays named), and last_run_at keeps the next run an interval
        # away for every instance.
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(JobLease)
                .where(JobLease.name == job.name, JobLease.holder == self.holder)
                .values(last_run_at=now, last_result=result, expires_at=_NEVER)
                .execution_options(synchronize_session=False)
            )


def _jsonable(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise TypeError(f"a job must return a dict, not {type(result).__name__}")
    # Dates (ISO 8601) and Decimals in a summary become strings rather than failing the write.
    loaded = json.loads(json.dumps(result, default=_json_default))
    assert isinstance(loaded, dict)
    return loaded


def _json_default(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
