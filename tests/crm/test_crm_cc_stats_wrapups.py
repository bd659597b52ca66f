"""Calls "not wrapped up" in the contact-center reports, per queue, agent, team and in the CSV.

Counted: ``wrapup_missed_at`` set and no wrap-up saved before it (``wrapped_up_at`` NULL or later).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cc_stats_kit import NOW, D, at, clear_acd, people
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import Interaction
from crm_core.stats.contact_center import ContactCenterStats
from crm_core.stats.schemas import CSV_COLUMNS, GroupBy

DAY = D.date()


def _call(
    call_id: str,
    when: datetime,
    agent: int,
    *,
    queue: str = "retail",
    missed: bool = False,
    saved_after: float | None = None,
) -> Interaction:
    """A call queued at ``when``; ``missed``: flagged 5 min later; ``saved_after``: saved then (s)."""
    missed_at = when + timedelta(minutes=5) if missed else None
    return Interaction(
        call_id=call_id,
        agent_id=agent,
        queue=queue,
        arrived_at=when - timedelta(seconds=30),
        queued_at=when,
        answered_at=when + timedelta(seconds=10),
        ended_at=when + timedelta(minutes=2),
        outcome="answered",
        wrapup_missed_at=missed_at,
        wrapped_up_at=None if saved_after is None else when + timedelta(seconds=saved_after),
        wrapped_up_by=None if saved_after is None else "someone",
    )


@pytest.fixture
async def stats(sessions: async_sessionmaker[AsyncSession]) -> ContactCenterStats:
    await clear_acd(sessions)
    ids = await people(sessions)
    alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
    async with sessions() as session, session.begin():
        session.add_all(
            [
                _call("w1", at(9, 0), alice, missed=True),  # never saved: counted
                _call("w2", at(9, 10), alice, missed=True, saved_after=900),  # saved late: counted
                _call("w3", at(9, 20), alice, missed=True, saved_after=200),  # saved before the mark: not
                _call("w4", at(9, 30), bob),  # saved in time (no mark): not
                _call("w5", at(9, 40), carol, queue="vip", missed=True),  # counted, in vip
                _call("w6", at(9, 0) + timedelta(days=1), bob, missed=True),  # another day
            ]
        )
    return ContactCenterStats(sessions, clock=lambda: NOW + timedelta(days=2))


async def test_not_wrapped_up_per_queue_agent_team_and_all(stats: ContactCenterStats) -> None:
    queues = {r.group: r.not_wrapped_up for r in (await stats.report(GroupBy.QUEUE, DAY, DAY)).rows}
    assert queues == {"retail": 2, "vip": 1}
    agents = {r.group: r.not_wrapped_up for r in (await stats.report(GroupBy.AGENT, DAY, DAY)).rows}
    assert {k: v for k, v in agents.items() if v} == {"alice": 2, "carol": 1}
    teams = {r.group: r.not_wrapped_up for r in (await stats.report(GroupBy.TEAM, DAY, DAY)).rows}
    assert {k: v for k, v in teams.items() if v} == {"North": 2, "South": 1}
    assert [r.not_wrapped_up for r in (await stats.report(GroupBy.ALL, DAY, DAY)).rows] == [3]
    two_days = await stats.report(GroupBy.AGENT, DAY, DAY + timedelta(days=1))
    assert {r.group: r.not_wrapped_up for r in two_days.rows if r.not_wrapped_up} == {
        "alice": 2,
        "bob": 1,
        "carol": 1,
    }


async def test_supervisor_sees_only_their_agents(stats: ContactCenterStats) -> None:
    rows = (await stats.report(GroupBy.AGENT, DAY, DAY, agents=["carol"])).rows
    assert {r.group: r.not_wrapped_up for r in rows} == {"carol": 1}


async def test_queue_filter_and_csv_column(stats: ContactCenterStats) -> None:
    rows = (await stats.report(GroupBy.QUEUE, DAY, DAY, queues=["vip"])).rows
    assert [(r.group, r.not_wrapped_up) for r in rows] == [("vip", 1)]
    assert "not_wrapped_up" in CSV_COLUMNS
