"""A hand-computed morning in the contact center, written straight into the ACD's tables.

Day ``D`` (UTC), queues ``retail`` (service level 20 s) and ``vip`` (10 s);
teams North (alice, bob; supervisor sue) and South (carol; supervisor sam).

    c1 retail 09:00:00  alice answers after 10 s (ring 5), talk 180 + hold 20, wrap-up 30 s
    c2 retail 09:01:00  rings bob (no answer, 15 s), carol answers after 30 s, talk 120, transfers; wrap 10 s
    c3 retail 09:02:00  abandons after 3 s  (short abandon)
    c4 retail 09:05:00  abandons after 40 s (after T)
    c5 retail 09:06:00  abandons after 12 s (within T)
    c6 retail 09:07:00  leaves with a callback after 50 s; bob completes the callback at 10:30
    c7 retail 09:20:00  overflows (move) to vip after 60 s; bob answers in vip after 5 s, talk 180
    c8 retail 09:30:00  still waiting at NOW (11:00): 5400 s

Agent states: alice available 08:50, ringing 09:00:05, on_call 09:00:10,
on_hold 09:01:00, on_call 09:01:20, wrap_up 09:03:30 (c1), available 09:04,
paused 09:10 (lunch), logged_out 09:40.  carol available 09:00, ringing
09:01:27, on_call 09:01:30 (c2), wrap_up 09:03:30 (no call id: inherits c2),
available 09:03:40, logged_out 09:05.  bob has no state rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import AcdQueue, Agent, AgentEvent, QueueEvent, Team

D = datetime(2026, 11, 20, tzinfo=UTC)
NOW = D.replace(hour=11)


def at(hh: int, mm: int, ss: int = 0, day: datetime = D) -> datetime:
    return day.replace(hour=hh, minute=mm, second=ss)


async def clear_acd(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The ACD tables are not in the shared clear list: empty them here."""
    async with sessions() as session, session.begin():
        for model in (QueueEvent, AgentEvent, AcdQueue):
            await session.execute(delete(model))


async def people(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Agents and teams; returns the ids by login and by team name."""
    ids: dict[str, int] = {}
    async with sessions() as session, session.begin():
        for login, role in (("root", "admin"), ("sue", "supervisor"), ("sam", "supervisor")):
            agent = Agent(login=login, name=login, password_hash="x", extension="1", device="", role=role)
            session.add(agent)
            await session.flush()
            ids[login] = agent.id
        for team_name, sup in (("North", "sue"), ("South", "sam")):
            team = Team(name=team_name, supervisor_id=ids[sup])
            session.add(team)
            await session.flush()
            ids[team_name] = team.id
        for login, team_name in (("alice", "North"), ("bob", "North"), ("carol", "South")):
            agent = Agent(
                login=login,
                name=login.title(),
                password_hash="x",
                extension="2",
                device=f"PJSIP/{login}",
                role="agent",
                team_id=ids[team_name],
            )
            session.add(agent)
            await session.flush()
            ids[login] = agent.id
    return ids


def q(
    when: datetime, call: str, event: str, queue: str | None = "retail", agent: str | None = None, **data: Any
) -> QueueEvent:
    return QueueEvent(at=when, call_id=call, event=event, queue=queue, agent_login=agent, data=data or None)


def s(
    when: datetime, agent: str, state: str, call: str | None = None, reason: str | None = None
) -> AgentEvent:
    return AgentEvent(at=when, agent_login=agent, state=state, call_id=call, reason=reason)


def morning_events(day: datetime = D, tag: str = "") -> list[Any]:
    """The rows of the module docstring on ``day``, call ids prefixed with ``tag``."""
    rows = _morning(day)
    for row in rows:
        if row.call_id is not None:
            row.call_id = tag + row.call_id
    return rows


def _morning(day: datetime) -> list[Any]:

    def t(hh: int, mm: int, ss: int = 0) -> datetime:
        return at(hh, mm, ss, day)

    return [
        q(t(9, 0, 0), "c1", "joined", position=1, priority=0),
        q(t(9, 0, 5), "c1", "offered", agent="alice", ring_timeout=15),
        q(t(9, 0, 10), "c1", "connected", agent="alice", wait_seconds=10, ring_seconds=5, position=1),
        q(t(9, 3, 30), "c1", "completed", agent="alice", talk_seconds=180, hold_seconds=20, by="caller"),
        q(t(9, 1, 0), "c2", "joined", position=1),
        q(t(9, 1, 2), "c2", "offered", agent="bob", ring_timeout=15),
        q(t(9, 1, 17), "c2", "no_answer", agent="bob", ring_seconds=15),
        q(t(9, 1, 27), "c2", "offered", agent="carol", ring_timeout=15),
        q(t(9, 1, 30), "c2", "connected", agent="carol", wait_seconds=30, ring_seconds=3, position=1),
        q(t(9, 3, 29), "c2", "transferred", agent="carol", to="vip", kind="blind"),
        q(t(9, 3, 30), "c2", "completed", agent="carol", talk_seconds=120, hold_seconds=0, by="agent"),
        q(t(9, 2, 0), "c3", "joined", position=2),
        q(t(9, 2, 3), "c3", "abandoned", wait_seconds=3, position=1, original_position=2),
        q(t(9, 5, 0), "c4", "joined", position=1),
        q(t(9, 5, 40), "c4", "abandoned", wait_seconds=40, position=1, original_position=1),
        q(t(9, 6, 0), "c5", "joined", position=1),
        q(t(9, 6, 12), "c5", "abandoned", wait_seconds=12, position=1, original_position=1),
        q(t(9, 7, 0), "c6", "joined", position=1),
        q(t(9, 7, 50), "c6", "callback_requested", callback_id=1, position=1, wait_seconds=50),
        q(t(10, 30), "c6", "callback_attempt", agent="bob", callback_id=1, attempt=1),
        q(t(10, 30, 5), "c6", "callback_completed", agent="bob", callback_id=1, attempts=1, result="reached"),
        q(t(9, 20, 0), "c7", "joined", position=1),
        q(t(9, 21, 0), "c7", "overflowed", to_queue="vip", after_seconds=60, mode="move"),
        q(t(9, 21, 3), "c7", "offered", queue="vip", agent="bob", ring_timeout=15),
        q(t(9, 21, 5), "c7", "connected", queue="vip", agent="bob", wait_seconds=5, ring_seconds=2),
        q(t(9, 24, 5), "c7", "completed", queue="vip", agent="bob", talk_seconds=180, by="caller"),
        q(t(9, 30, 0), "c8", "joined", position=1),
        s(t(8, 50), "alice", "available"),
        s(t(9, 0, 5), "alice", "ringing", "c1"),
        s(t(9, 0, 10), "alice", "on_call", "c1"),
        s(t(9, 1, 0), "alice", "on_hold", "c1"),
        s(t(9, 1, 20), "alice", "on_call", "c1"),
        s(t(9, 3, 30), "alice", "wrap_up", "c1"),
        s(t(9, 4, 0), "alice", "available"),
        s(t(9, 10, 0), "alice", "paused", reason="lunch"),
        s(t(9, 40, 0), "alice", "logged_out"),
        s(t(9, 0, 0), "carol", "available"),
        s(t(9, 1, 27), "carol", "ringing", "c2"),
        s(t(9, 1, 30), "carol", "on_call", "c2"),
        s(t(9, 3, 30), "carol", "wrap_up"),
        s(t(9, 3, 40), "carol", "available"),
        s(t(9, 5, 0), "carol", "logged_out"),
    ]


async def seed_morning(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Queues, people and the morning of the module docstring."""
    await clear_acd(sessions)
    ids = await people(sessions)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                AcdQueue(name="retail", service_level_seconds=20),
                AcdQueue(name="vip", service_level_seconds=10),
            ]
        )
        session.add_all(morning_events())
    return ids


def shift(rows: list[Any], delta: timedelta) -> list[Any]:
    for row in rows:
        row.at = row.at + delta
    return rows
