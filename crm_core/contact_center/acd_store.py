"""The ACD's durable records: queue definitions, agent states, queue and agent events.

The ACD lives in memory; :class:`AcdRecorder` writes what it does, in
batches, so a restart restores agent states (:func:`load_agent_states`) and
statistics can be computed afterwards.  Writes are idempotent where they can
be (the agent state row is an upsert); an event that cannot be written is
kept for the next batch rather than dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models.acd import QUEUE_EVENTS, AcdQueue, AgentEvent, AgentStateRow, QueueEvent
from crm_core.models.activity import CallbackRequest
from crm_core.models.people import Agent, Team

__all__ = [
    "AcdRecorder",
    "AgentEventRecord",
    "CallbackPlace",
    "QueueEventRecord",
    "RoutingAgent",
    "StoredAgentState",
    "load_agent_states",
    "load_queue_rows",
    "load_routing_agents",
    "pending_callback_places",
    "record_callback_attempt",
    "save_queue_row",
    "set_callback_place",
]

log = logging.getLogger(__name__)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


@dataclass(frozen=True)
class QueueEventRecord:
    """One queue transition to store (see :data:`crm_core.models.acd.QUEUE_EVENTS`)."""

    at: float
    call_id: str
    event: str
    queue: str | None
    agent_login: str | None
    customer_id: int | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class AgentEventRecord:
    """One agent state change; also the agent's latest state."""

    at: float
    agent_login: str
    state: str
    reason: str | None
    call_id: str | None
    last_available_at: float | None
    calls_handled: int


@dataclass(frozen=True)
class StoredAgentState:
    login: str
    state: str
    reason: str | None
    since: float
    call_id: str | None
    last_available_at: float | None
    calls_handled: int
    handled_on: date | None


@dataclass(frozen=True)
class RoutingAgent:
    """What the ACD needs of an agent: device, queues, skills and team."""

    login: str
    name: str
    device: str
    role: str
    queues: list[str]
    skills: dict[str, int]
    team: str | None


async def load_routing_agents(sessions: async_sessionmaker[AsyncSession]) -> list[RoutingAgent]:
    """Active agents with their skills and team name."""
    async with sessions() as session:
        rows = await session.execute(
            select(Agent, Team.name).outerjoin(Team, Team.id == Agent.team_id).where(Agent.active.is_(True))
        )
        return [
            RoutingAgent(
                login=agent.login,
                name=agent.name,
                device=agent.device,
                role=agent.role,
                queues=list(agent.queues or []),
                skills={str(k): int(v) for k, v in (agent.skills or {}).items()},
                team=team,
            )
            for agent, team in rows.all()
        ]


_QUEUE_COLUMNS = (
    "display_name", "skills", "priority", "strategy", "ring_timeout", "wrapup_seconds", "max_wait_seconds",
    "max_wait_queue", "service_level_seconds", "overflow", "open_hours", "no_agents", "no_agents_queue",
    "announce_seconds", "rm_grace_seconds",
)  # fmt: skip


async def load_queue_rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    """Queues defined in the database, as ``{name: settings}`` (keys of ``acd.config``)."""
    async with sessions() as session:
        rows = (await session.scalars(select(AcdQueue).order_by(AcdQueue.name))).all()
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        values = {column: getattr(row, column) for column in _QUEUE_COLUMNS}
        result[row.name] = {k: v for k, v in values.items() if v is not None}
    return result


async def save_queue_row(
    sessions: async_sessionmaker[AsyncSession], name: str, values: Mapping[str, Any]
) -> None:
    """Create or replace the database definition of queue ``name`` (values already checked)."""
    unknown = set(values) - set(_QUEUE_COLUMNS)
    if unknown:
        raise ValueError(f"queue {name!r}: unknown columns {sorted(unknown)}")
    async with sessions.begin() as session:
        row = await session.get(AcdQueue, name)
        if row is None:
            row = AcdQueue(name=name)
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)


async def load_agent_states(sessions: async_sessionmaker[AsyncSession]) -> list[StoredAgentState]:
    """Every persisted agent state."""
    async with sessions() as session:
        rows = (await session.scalars(select(AgentStateRow))).all()
    return [
        StoredAgentState(
            login=row.login,
            state=row.state,
            reason=row.reason,
            since=row.since.timestamp(),
            call_id=row.call_id,
            last_available_at=row.last_available_at.timestamp() if row.last_available_at else None,
            calls_handled=row.calls_handled,
            handled_on=row.handled_on,
        )
        for row in rows
    ]


class AcdRecorder:
    """Writes queue and agent events in batches (every ``interval`` seconds or ``batch`` events)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, interval: float = 0.2, batch: int = 500
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._batch = batch
        self._pending: list[QueueEventRecord | AgentEventRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="acd-recorder")

    def add(self, record: QueueEventRecord | AgentEventRecord) -> None:
        if isinstance(record, QueueEventRecord) and record.event not in QUEUE_EVENTS:
            log.warning("acd.record_unknown_event", extra={"event": record.event, "call_id": record.call_id})
            return
        self._pending.append(record)
        self._idle.clear()
        if len(self._pending) >= self._batch:
            self._wake.set()

    async def flush(self) -> None:
        """Write everything added so far (retries once on a failure)."""
        while self._pending:
            records, self._pending = self._pending, []
            try:
                await self._write(records)
            except Exception:
                log.exception("acd.record_failed", extra={"records": len(records)})
                self._pending = records + self._pending
                await asyncio.sleep(self._interval)
                records, self._pending = self._pending, []
                await self._write(records)
        self._idle.set()

    async def drained(self) -> None:
        """Wait until every added record is written (tests, shutdown)."""
        self._wake.set()
        await self._idle.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("acd.record_batch_kept")

    async def _write(self, records: list[QueueEventRecord | AgentEventRecord]) -> None:
        queue_rows: list[dict[str, Any]] = []
        agent_rows: list[dict[str, Any]] = []
        latest: dict[str, AgentEventRecord] = {}
        for record in records:
            if isinstance(record, QueueEventRecord):
                queue_rows.append(
                    {
                        "at": _utc(record.at),
                        "call_id": record.call_id[:64],
                        "event": record.event,
                        "queue": record.queue,
                        "agent_login": record.agent_login,
                        "customer_id": record.customer_id,
                        "data": dict(record.data) or None,
                    }
                )
            else:
                agent_rows.append(
                    {
                        "at": _utc(record.at),
                        "agent_login": record.agent_login,
                        "state": record.state,
                        "reason": record.reason,
                        "call_id": record.call_id,
                    }
                )
                latest[record.agent_login] = record
        async with self._sessions.begin() as session:
            if queue_rows:
                await session.execute(insert(QueueEvent), queue_rows)
            if agent_rows:
                await session.execute(insert(AgentEvent), agent_rows)
            if latest:
                await _upsert_states(session, list(latest.values()))


async def _upsert_states(session: AsyncSession, records: list[AgentEventRecord]) -> None:
    # One statement for the whole batch: compiling one upsert per agent cost the event loop
    # milliseconds every batch under load.
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = datetime.now(UTC)
    rows = [
        {
            "login": record.agent_login,
            "state": record.state,
            "reason": record.reason,
            "since": _utc(record.at),
            "call_id": record.call_id,
            "last_available_at": _utc(record.last_available_at) if record.last_available_at else None,
            "calls_handled": record.calls_handled,
            "handled_on": _utc(record.at).date(),
            "updated_at": now,
        }
        for record in records
    ]
    stmt = upsert(AgentStateRow).values(rows)
    columns = [name for name in rows[0] if name != "login"]
    stmt = stmt.on_conflict_do_update(
        index_elements=[AgentStateRow.login], set_={name: stmt.excluded[name] for name in columns}
    )
    await session.execute(stmt)


@dataclass(frozen=True)
class CallbackPlace:
    """A pending callback request with its place in an ACD queue."""

    callback_id: int
    customer_id: int | None
    number_e164: str
    queue: str
    priority: int
    queued_at: float
    attempts: int
    next_attempt_at: float | None


async def set_callback_place(
    sessions: async_sessionmaker[AsyncSession],
    callback_id: int,
    *,
    queue: str,
    priority: int,
    queued_at: float,
) -> None:
    """Remember which queue place a callback request keeps (its original arrival time)."""
    async with sessions.begin() as session:
        await session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id)
            .values(queue=queue, priority=priority, queued_at=_utc(queued_at))
        )


async def record_callback_attempt(
    sessions: async_sessionmaker[AsyncSession],
    callback_id: int,
    *,
    attempts: int,
    agent_login: str | None,
    next_attempt_at: float | None,
) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id)
            .values(
                attempts=attempts,
                agent_login=agent_login,
                next_attempt_at=_utc(next_attempt_at) if next_attempt_at is not None else None,
            )
        )


async def pending_callback_places(sessions: async_sessionmaker[AsyncSession]) -> list[CallbackPlace]:
    """Pending and in-progress requests that hold a queue place (to queue again after a restart)."""
    async with sessions() as session:
        rows = await session.scalars(
            select(CallbackRequest)
            .where(CallbackRequest.status.in_(("pending", "in-progress")), CallbackRequest.queue.is_not(None))
            .order_by(CallbackRequest.id)
        )
        return [
            CallbackPlace(
                callback_id=row.id,
                customer_id=row.customer_id,
                number_e164=row.number_e164,
                queue=row.queue or "",
                priority=row.priority,
                queued_at=(row.queued_at or row.window_start).timestamp(),
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at.timestamp() if row.next_attempt_at else None,
            )
            for row in rows
        ]
