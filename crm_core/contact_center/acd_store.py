"""The ACD's durable records: queue definitions, agent states, queue and agent events.

The ACD lives in memory; :class:`~crm_core.contact_center.acd_recorder.AcdRecorder`
writes what it does, in batches that survive a database outage, so a restart
restores agent states (:func:`load_agent_states`) and statistics can be
computed afterwards.  The recorder and its records, and the callback places
(:mod:`crm_core.contact_center.callback_places`), are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contact_center.acd_recorder import AcdRecorder, AgentEventRecord, QueueEventRecord
from crm_core.contact_center.callback_places import (
    CallbackPlace,
    pending_callback_places,
    record_callback_attempt,
    set_callback_place,
)
from crm_core.models.acd import AcdQueue, AgentStateRow
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
