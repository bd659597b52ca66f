"""First-contact resolution on hand-built interactions (reason = queue unless a topic disposition)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from cc_stats_kit import NOW, D, at, clear_acd, people
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import Customer, Interaction
from crm_core.stats.contact_center import ContactCenterStats
from crm_core.stats.fcr import contact_reason
from crm_core.stats.schemas import GroupBy

DAY = D.date()


def _call(
    call_id: str | None,
    customer: int,
    when: datetime,
    *,
    queue: str | None = "retail",
    agent: int | None = None,
    answered: bool = True,
    disposition: str | None = None,
    channel: str = "phone",
    direction: str = "inbound",
) -> Interaction:
    return Interaction(
        call_id=call_id,
        channel=channel,
        direction=direction,
        customer_id=customer,
        agent_id=agent,
        queue=queue,
        arrived_at=when,
        answered_at=when + timedelta(seconds=20) if answered else None,
        ended_at=when + timedelta(minutes=3),
        disposition=disposition,
        outcome="answered" if answered else "abandoned_in_queue",
    )


@pytest.fixture
async def stats(sessions: async_sessionmaker[AsyncSession]) -> ContactCenterStats:
    await clear_acd(sessions)
    ids = await people(sessions)
    async with sessions() as session, session.begin():
        x, y = Customer(name="X", status="public"), Customer(name="Y", status="public")
        session.add_all([x, y])
        await session.flush()
        alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
        rows: list[Any] = [
            # X: i1 is repeated by i2 three days later (same queue, no topic) -> not resolved.
            _call("i1", x.id, at(9, 0), agent=alice, disposition="resolved"),
            _call("i2", x.id, at(9, 0) + timedelta(days=3), agent=bob),
            _call("i7", x.id, at(9, 0) + timedelta(days=1), direction="outbound"),  # ours: never a repeat
            # Y: i3's complaint comes back by email after 8 days: outside the window -> resolved.
            _call("i3", y.id, at(10, 0), agent=alice, disposition="complaint"),
            _call(
                None,
                y.id,
                at(10, 0) + timedelta(days=8),
                queue=None,
                channel="email",
                disposition="complaint",
            ),
            # Y: a lost card in vip, called again about it in retail the next day -> not resolved.
            _call("i5", y.id, at(11, 0), queue="vip", agent=carol, disposition="card-lost"),
            _call("i6", y.id, at(11, 0) + timedelta(days=1), disposition="card-lost"),
            # An unanswered call is no first contact.
            _call("i8", y.id, at(12, 0), queue="loans", answered=False),
        ]
        session.add_all(rows)
    return ContactCenterStats(sessions, clock=lambda: NOW)


def test_reason_rule() -> None:
    assert contact_reason("retail", None) == "queue:retail"
    assert contact_reason("retail", "resolved") == "queue:retail"
    assert contact_reason("retail", "Complaint") == "disposition:complaint"
    assert contact_reason(None, None) is None


async def test_fcr_per_queue_and_agent(stats: ContactCenterStats) -> None:
    queues = {r.group: r for r in (await stats.report(GroupBy.QUEUE, DAY, DAY)).rows}
    assert {q: (r.fcr_contacts, r.fcr_resolved, r.fcr_rate) for q, r in queues.items() if r.fcr_contacts} == {
        "retail": (2, 1, 0.5),  # i1 repeated, i3 resolved
        "vip": (1, 0, 0.0),  # i5 repeated across queues by its disposition
    }
    agents = {r.group: r for r in (await stats.report(GroupBy.AGENT, DAY, DAY)).rows}
    assert (agents["alice"].fcr_contacts, agents["alice"].fcr_resolved) == (2, 1)
    assert (agents["carol"].fcr_contacts, agents["carol"].fcr_resolved) == (1, 0)
    everything = (await stats.report(GroupBy.ALL, DAY, DAY)).rows
    assert [(r.fcr_contacts, r.fcr_resolved, r.fcr_rate) for r in everything] == [(3, 1, 0.3333)]


async def test_the_repeat_is_judged_in_its_own_range(stats: ContactCenterStats) -> None:
    # i2 (X, three days later) has no repeat after it: resolved.
    later = D.date() + timedelta(days=3)
    rows = (await stats.report(GroupBy.ALL, later, later)).rows
    assert [(r.fcr_contacts, r.fcr_resolved) for r in rows] == [(1, 1)]
