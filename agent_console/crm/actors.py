"""The CRM side of the console's ports: who a logged-in user is, and the screen-pop audit.

:class:`DbActorResolver` reads the users and teams tables (read-only) and
keeps each user's facts for ``ttl`` seconds, so a request costs no query
most of the time while a change of role or team still shows within that
time.  :class:`DbPopAuditor` writes the ``view`` audit row of a screen-pop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit_once
from crm_core.actor import Actor
from crm_core.errors import AccessDenied
from crm_core.models import Agent, Team

__all__ = ["DbActorResolver", "DbPopAuditor", "PopView"]


@dataclass(frozen=True, slots=True)
class PopView:
    """One screen-pop that showed ``login`` customer ``customer_id`` at ``at`` (the audit row to write).

    ``key`` is unique per pop: a write replayed from the spool is stored once.
    """

    key: str
    at: datetime
    login: str
    remote_addr: str | None
    customer_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the directory says about one user (``user_id`` None: no active user)."""

    user_id: int | None
    role: str
    team_ids: frozenset[int]
    watched: frozenset[str] | None
    loaded_at: float


class DbActorResolver:
    """The console's ``ActorResolver`` and ``WatchScopes`` ports over the CRM tables.

    ``team_ids`` of an actor are the team they belong to and, for a
    supervisor, the teams whose ``supervisor_id`` they are.  A supervisor
    watches the active members of those teams and themself; an admin
    watches everyone (``None``); anyone else only themself.  Every actor
    carries ``recent_call_minutes``, the handled-call grant's time
    (:mod:`crm_core.access.handled`).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        recent_call_minutes: int | None = None,
    ) -> None:
        if recent_call_minutes is not None and recent_call_minutes < 0:
            raise ValueError("recent_call_minutes must be 0 or more")
        self._sessions = sessions
        self._recent_call_minutes = recent_call_minutes
        self._ttl = ttl
        self._clock = clock
        self._facts: dict[str, _Facts] = {}

    async def actor(self, login: str, remote_addr: str | None, offered_customer_ids: frozenset[int]) -> Actor:
        facts = await self._lookup(login)
        if facts.user_id is None:
            raise AccessDenied(f"{login} is not an active CRM user")
        return Actor(
            user_id=facts.user_id,
            login=login,
            role=facts.role,
            team_ids=facts.team_ids,
            offered_customer_ids=offered_customer_ids,
            remote_addr=remote_addr,
            recent_call_minutes=self._recent_call_minutes,
        )

    async def watched_logins(self, login: str) -> frozenset[str] | None:
        return (await self._lookup(login)).watched

    def forget(self, login: str | None = None) -> None:
        """Drop the cached facts of ``login`` (every user's when ``None``)."""
        if login is None:
            self._facts.clear()
        else:
            self._facts.pop(login, None)

    async def _lookup(self, login: str) -> _Facts:
        now = self._clock()
        cached = self._facts.get(login)
        if cached is not None and now - cached.loaded_at < self._ttl:
            return cached
        facts = await self._load(login, now)
        self._facts[login] = facts
        return facts

    async def _load(self, login: str, now: float) -> _Facts:
        async with self._sessions() as session:
            agent = await session.scalar(select(Agent).where(Agent.login == login[:64]))
            if agent is None or not agent.active or agent.login != login:
                return _Facts(None, "agent", frozenset(), frozenset({login}), now)
            teams = set() if agent.team_id is None else {agent.team_id}
            watched: frozenset[str] | None = frozenset({login})
            if agent.role == "supervisor":
                teams.update(await session.scalars(select(Team.id).where(Team.supervisor_id == agent.id)))
                members = await session.scalars(
                    select(Agent.login).where(
                        Agent.active.is_(True),
                        or_(Agent.team_id.in_(sorted(teams)), Agent.id == agent.id),
                    )
                )
                watched = frozenset(members)
            elif agent.role == "admin":
                watched = None
        return _Facts(agent.id, agent.role, frozenset(teams), watched, now)


class DbPopAuditor:
    """:class:`~agent_console.crm.deps.PopAuditor` writing to the CRM's audit log."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def audit_pops(self, pops: Sequence[PopView]) -> None:
        async with self._sessions() as session, session.begin():
            for pop in pops:
                await audit_once(
                    session,
                    key=pop.key,
                    at=pop.at,
                    login=pop.login,
                    remote_addr=pop.remote_addr,
                    action="view",
                    entity="customer",
                    entity_id=pop.customer_id,
                    detail={"view": "screen-pop", "call_id": pop.call_id},
                )
