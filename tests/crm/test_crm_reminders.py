"""Reminders: to contact today, about to be released, contracts expiring — per agent, team and admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from protection_world import T0, World
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.followups.interactions import InteractionWriter
from crm_core.followups.reminders import ReminderService
from crm_core.followups.service import FollowUpService
from crm_core.schemas import InteractionRecord

DAY = timedelta(days=1)
TODAY = T0.date()


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = await World(sessions).setup()
    team = await world.team("sales", "sup1")
    other = await world.team("wealth", "sup2")
    await world.agent("alice", team=team)
    await world.agent("bob", team=team)
    await world.agent("carol", team=other)
    return world


@pytest.fixture
def reminders(world: World) -> ReminderService:
    return ReminderService(world.sessions, world.parameters, clock=world.clock)


@pytest.fixture
def follow_ups(world: World) -> FollowUpService:
    return FollowUpService(world.sessions, world.parameters, clock=world.clock)


async def _plan(
    world: World,
    follow_ups: FollowUpService,
    login: str,
    customer: int,
    days: int,
    *,
    urgent: bool = False,
    late: int = 0,
) -> int:
    """A follow-up written ``days`` before today asking for a contact ``late`` days before today."""
    world.clock.now = T0 - days * DAY
    view = await follow_ups.add(
        world[login],
        customer,
        channel="phone",
        direction="outbound",
        content=f"call again in {days} days",
        disposition="follow-up",
        next_contact_on=TODAY - late * DAY,
        urgent=urgent,
    )
    world.clock.now = T0
    return view.id


async def test_to_contact_today(
    world: World, reminders: ReminderService, follow_ups: FollowUpService
) -> None:
    due = await world.customer("Due today", owner="alice")
    plan = await _plan(world, follow_ups, "alice", due, 3)
    overdue = await world.customer("Overdue", owner="alice")
    await _plan(world, follow_ups, "alice", overdue, 5, late=2)
    urgent = await world.customer("Urgent", owner="alice")
    await _plan(world, follow_ups, "alice", urgent, 1, urgent=True)
    tomorrow = await world.customer("Tomorrow", owner="alice")
    await follow_ups.add(
        world["alice"], tomorrow, channel="sms", direction="outbound", content="sent rates",
        disposition="follow-up", next_contact_on=TODAY + DAY,
    )  # fmt: skip
    got = await reminders.for_agent(world["alice"], TODAY)
    # Urgent first, then the longest overdue.
    assert [(r.customer_id, r.overdue_days) for r in got.to_contact] == [(urgent, 0), (overdue, 2), (due, 0)]
    by_customer = {r.customer_id: r for r in got.to_contact}
    assert (by_customer[due].follow_up_id, by_customer[due].next_contact_on) == (plan, TODAY)
    assert by_customer[due].content == "call again in 3 days" and by_customer[due].owner_login == "alice"
    # Tomorrow the fourth customer shows, on time; the others are a day later.
    later = await reminders.for_agent(world["alice"], TODAY + DAY)
    assert {r.customer_id: r.overdue_days for r in later.to_contact} == {
        due: 1,
        overdue: 3,
        urgent: 1,
        tomorrow: 0,
    }
    # The day before, only the overdue plan is due.
    before = await reminders.for_agent(world["alice"], TODAY - DAY)
    assert [(r.customer_id, r.overdue_days) for r in before.to_contact] == [(overdue, 1)]


async def test_a_later_contact_clears_the_reminder(
    world: World, reminders: ReminderService, follow_ups: FollowUpService
) -> None:
    writer = InteractionWriter(world.sessions)
    followed = await world.customer("Followed up", owner="alice")
    await _plan(world, follow_ups, "alice", followed, 3)
    await follow_ups.add(
        world["alice"], followed, channel="visit", direction="inbound", content="came to the branch",
        disposition="resolved",
    )  # fmt: skip
    answered = await world.customer("Called in", owner="alice")
    await _plan(world, follow_ups, "alice", answered, 3)
    await writer.upsert(
        InteractionRecord(
            call_id="a.1", customer_id=answered, arrived_at=T0, answered_at=T0 + timedelta(seconds=9)
        )
    )
    abandoned = await world.customer("Hung up in the IVR", owner="alice")
    await _plan(world, follow_ups, "alice", abandoned, 3)
    await writer.upsert(
        InteractionRecord(call_id="a.2", customer_id=abandoned, arrived_at=T0, outcome="abandoned_in_ivr")
    )
    got = await reminders.for_agent(world["alice"], TODAY)
    assert [r.customer_id for r in got.to_contact] == [abandoned]


async def test_scopes_agent_shared_supervisor_admin(
    world: World, reminders: ReminderService, follow_ups: FollowUpService
) -> None:
    alices = await world.customer("Alice's", owner="alice")
    await _plan(world, follow_ups, "alice", alices, 2)
    bobs = await world.customer("Bob's", owner="bob")
    await _plan(world, follow_ups, "bob", bobs, 2)
    carols = await world.customer("Carol's", owner="carol")
    await _plan(world, follow_ups, "carol", carols, 2)
    deleted = await world.customer("Deleted", owner="alice")
    await _plan(world, follow_ups, "alice", deleted, 2)
    await world.update(deleted, deleted_at=T0)

    async def contacts(login: str) -> set[int]:
        actor = world.admin if login == "admin1" else world[login]
        return {r.customer_id for r in (await reminders.for_agent(actor, TODAY)).to_contact}

    assert await contacts("alice") == {alices}
    await world.share(carols, user="alice", access="read")
    assert await contacts("alice") == {alices, carols}
    assert await contacts("bob") == {bobs}
    [bobs_team] = world["bob"].team_ids
    await world.share(alices, team=bobs_team)
    assert await contacts("bob") == {bobs, alices}  # shared with bob's team
    assert await contacts("sup1") == {alices, bobs}
    assert await contacts("sup2") == {carols}
    assert await contacts("admin1") == {alices, bobs, carols}


async def test_about_to_be_released(world: World, reminders: ReminderService) -> None:
    # 30 days without follow-up; warned 7 days ahead (by date).
    edge = await world.customer("Released in 7 days", owner="alice", owned_since=T0 - 23 * DAY)
    await world.customer("Released in 8 days", owner="alice", owned_since=T0 - 22 * DAY)
    overdue = await world.customer("Already due", owner="alice", owned_since=T0 - 40 * DAY)
    await world.customer("Locked", owner="alice", owned_since=T0 - 40 * DAY, status="locked")
    bobs = await world.customer("Bob's", owner="bob", owned_since=T0 - 29 * DAY)
    got = await reminders.for_agent(world["alice"], TODAY)
    assert [(d.customer_id, d.release_on) for d in got.to_be_released] == [
        (overdue, TODAY - 10 * DAY),
        (edge, TODAY + 7 * DAY),
    ]
    assert [d.customer_id for d in (await reminders.for_agent(world["sup1"], TODAY)).to_be_released] == [
        overdue,
        bobs,
        edge,
    ]
    assert (await reminders.for_agent(world["sup2"], TODAY)).to_be_released == []
    await world.set("protection.release_warning_days", 0)
    assert [d.customer_id for d in (await reminders.for_agent(world["alice"], TODAY)).to_be_released] == [
        overdue
    ]


async def test_contracts_expiring(world: World, reminders: ReminderService) -> None:
    customer = await world.customer("Depositor", owner="alice")
    edge = await world.contract(customer, "alice", end_on=TODAY + 30 * DAY)
    await world.contract(customer, "alice", end_on=TODAY + 31 * DAY)
    past = await world.contract(customer, "alice", end_on=TODAY - DAY)
    await world.contract(customer, "alice", end_on=TODAY + DAY, status="draft")
    await world.contract(customer, "alice", end_on=TODAY + DAY, status="expired")
    bobs = await world.contract(await world.customer("Bob's", owner="bob"), "bob", end_on=TODAY + 2 * DAY)
    got = await reminders.for_agent(world["alice"], TODAY)
    assert [(c.contract_id, c.days_left) for c in got.contracts_expiring] == [(past, -1), (edge, 30)]
    assert str(got.contracts_expiring[0].amount) == "100000.00"
    team = await reminders.for_agent(world["sup1"], TODAY)
    assert [c.contract_id for c in team.contracts_expiring] == [past, bobs, edge]
    await world.set("contracts.expiry_reminder_days", 2)
    assert [c.contract_id for c in (await reminders.for_agent(world["alice"], TODAY)).contracts_expiring] == [
        past
    ]


async def test_today_defaults_to_the_clock(world: World, reminders: ReminderService) -> None:
    got = await reminders.for_agent(world["alice"])
    assert (got.today, got.to_contact, got.to_be_released, got.contracts_expiring) == (TODAY, [], [], [])
