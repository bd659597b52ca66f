"""Seeding the wallboard from the follow-up history, so a restart does not zero today's figures.

One ``interactions`` row per call carries all the wallboard needs: the queue,
when the call entered it, whether and when an agent answered, when and how
it ended.  :func:`seed_figures` replays each row as the events the call
produced, skipping calls the live feed has already shown (the bus is fresher
than a row written a moment ago).  The agents' states of the day
(``agent_events``, and each agent's last one before midnight) give their
handling and idle time so far (:func:`seed_agents`), as the reports count it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.events import AgentStateChanged
from agent_console.wallboard.figures import TodayFigures
from crm_core.models import Agent, AgentEvent, Interaction

__all__ = ["CallHistory", "DbCallHistory", "SeedCall", "seed_agents", "seed_figures"]


@dataclass(frozen=True, slots=True)
class SeedCall:
    """What the history knows of one queued call (instants in epoch seconds)."""

    call_id: str
    queue: str
    queued_at: float
    agent_login: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None


class CallHistory(Protocol):
    async def queued_calls(self, start: datetime, end: datetime) -> list[SeedCall]:
        """Calls that entered a queue in ``[start, end)`` (aware datetimes), in any order."""
        ...


def seed_figures(figures: TodayFigures, calls: Iterable[SeedCall]) -> int:
    """Fold ``calls`` into ``figures`` unless already known; return how many were added."""
    added = 0
    for call in sorted(calls, key=lambda c: c.queued_at):
        if call.call_id in figures.calls:
            continue
        figures.queued(call.call_id, call.queue, call.queued_at)
        if call.answered_at is not None:
            figures.connected(call.call_id, call.queue, call.agent_login or "", call.answered_at)
        if call.ended_at is not None and call.outcome:
            figures.ended(call.call_id, call.outcome, call.ended_at)
        added += 1
    return added


def seed_agents(figures: TodayFigures, states: Iterable[AgentStateChanged]) -> int:
    """Fold each agent's states from the history (before any seen live); return how many agents."""
    by_agent: dict[str, list[AgentStateChanged]] = {}
    for state in states:
        by_agent.setdefault(state.agent_login, []).append(state)
    return sum(figures.seed_agent(login, rows) for login, rows in sorted(by_agent.items()))


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class DbCallHistory:
    """:class:`CallHistory` over the CRM database's ``interactions`` table."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def queued_calls(self, start: datetime, end: datetime) -> list[SeedCall]:
        query = (
            select(
                Interaction.call_id,
                Interaction.queue,
                Interaction.queued_at,
                Interaction.answered_at,
                Interaction.ended_at,
                Interaction.outcome,
                Agent.login,
            )
            .outerjoin(Agent, Agent.id == Interaction.agent_id)
            .where(
                Interaction.call_id.is_not(None),
                Interaction.queue.is_not(None),
                Interaction.queued_at >= start,
                Interaction.queued_at < end,
            )
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        calls: list[SeedCall] = []
        for call_id, queue, queued_at, answered_at, ended_at, outcome, login in rows:
            queued = _epoch(queued_at)
            if call_id is None or queue is None or queued is None:
                continue
            calls.append(
                SeedCall(
                    call_id=call_id,
                    queue=queue,
                    queued_at=queued,
                    agent_login=login,
                    answered_at=_epoch(answered_at),
                    ended_at=_epoch(ended_at),
                    outcome=outcome,
                )
            )
        return calls

    async def agent_states(self, start: datetime, end: datetime) -> list[AgentStateChanged]:
        """Agent state changes in ``[start, end)`` and each agent's last one before ``start``."""
        last = (
            select(AgentEvent.agent_login, func.max(AgentEvent.at).label("at"))
            .where(AgentEvent.at < start)
            .group_by(AgentEvent.agent_login)
            .subquery()
        )
        columns = (
            AgentEvent.agent_login,
            AgentEvent.state,
            AgentEvent.reason,
            AgentEvent.call_id,
            AgentEvent.at,
        )
        before = select(*columns).join(
            last, and_(AgentEvent.agent_login == last.c.agent_login, AgentEvent.at == last.c.at)
        )
        during = select(*columns).where(AgentEvent.at >= start, AgentEvent.at < end)
        async with self._sessions() as session:
            rows = [*(await session.execute(before)).all(), *(await session.execute(during)).all()]
        return [
            AgentStateChanged(
                agent_login=login, state=state, reason=reason, call_id=call_id, at=_epoch(at) or 0.0
            )
            for login, state, reason, call_id, at in rows
        ]
