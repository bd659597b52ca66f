"""The release job: no follow-up or no deal for N days sends an owned customer back to the pool."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from protection_world import T0, World
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.followups.service import FollowUpService
from crm_core.models import OwnershipHistory
from crm_core.protection.service import ProtectionService

DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = await World(sessions).setup()
    team = await world.team("sales", "sup1")
    await world.agent("alice", team=team)
    await world.agent("bob", team=team)
    return world


@pytest.fixture
def protection(world: World) -> ProtectionService:
    return ProtectionService(world.sessions, world.parameters, clock=world.clock)


async def _run(world: World, protection: ProtectionService, at: object) -> list[int]:
    async with world.sessions() as session, session.begin():
        result = await protection.release_due(session, at)  # type: ignore[arg-type]
    return [r.customer_id for r in result.released]


async def test_no_follow_up_for_exactly_n_days_releases(world: World, protection: ProtectionService) -> None:
    customer = await world.customer("Wang Wei", owner="alice", last_follow_up_at=T0 + DAY)
    due_at = T0 + DAY + 30 * DAY
    assert await _run(world, protection, due_at - TICK) == []
    assert await _run(world, protection, due_at) == [customer]
    stored = await world.get(customer)
    assert (stored.status, stored.owner_agent_id, stored.owned_since) == ("public", None, None)
    assert (stored.previous_owner_id, stored.released_at) == (world["alice"].user_id, due_at)
    [row] = await world.history(customer)
    assert (row.action, row.reason, row.actor_id, row.from_owner_id, row.to_owner_id, row.at) == (
        "release",
        "no follow-up for 30 days",
        None,
        world["alice"].user_id,
        None,
        due_at,
    )
    [entry] = await world.audits("release", customer)
    assert (entry.actor_id, entry.actor_login) == (None, "protection.release")
    # Idempotent: the next run, or a later one, releases nothing again.
    assert await _run(world, protection, due_at) == []
    assert await _run(world, protection, due_at + 100 * DAY) == []
    assert len(await world.history(customer)) == 1


async def test_no_deal_for_n_days_releases_and_a_deal_restarts_the_clock(
    world: World, protection: ProtectionService
) -> None:
    await world.set("protection.release_after_days_without_deal", 60)
    no_deal = await world.customer("No deal", owner="alice")
    dealt = await world.customer("Dealt", owner="alice", last_deal_at=T0 + 10 * DAY)
    for customer in (no_deal, dealt):  # followed up recently: only the deal rule can bite
        await world.update(customer, last_follow_up_at=T0 + 59 * DAY)
    assert await _run(world, protection, T0 + 60 * DAY - TICK) == []
    assert await _run(world, protection, T0 + 60 * DAY) == [no_deal]
    assert (await world.history(no_deal))[0].reason == "no deal for 60 days"
    assert await _run(world, protection, T0 + 70 * DAY) == [dealt]


async def test_owned_since_starts_both_clocks(world: World, protection: ProtectionService) -> None:
    # Claimed today, though the previous owner's last follow-up was long ago: a full period is given.
    stale = await world.customer("Stale", owner="bob", last_follow_up_at=T0 - 200 * DAY)
    assert await _run(world, protection, T0 + 29 * DAY) == []
    assert await _run(world, protection, T0 + 30 * DAY) == [stale]


async def test_rows_without_owned_since_fall_back_to_created_at(
    world: World, protection: ProtectionService
) -> None:
    legacy = await world.customer("Legacy", owner="bob", owned_since=None, created_at=T0 - 30 * DAY)
    assert await _run(world, protection, T0) == [legacy]


async def test_locked_public_and_deleted_customers_stay(world: World, protection: ProtectionService) -> None:
    locked = await world.customer("Locked", owner="alice", status="locked")
    pool = await world.customer("Pool", created_at=T0 - 400 * DAY)
    deleted = await world.customer("Deleted", owner="alice", deleted_at=T0)
    assert await _run(world, protection, T0 + 365 * DAY) == []
    assert (await world.get(locked)).status == "locked"
    assert (await world.get(pool)).released_at is None
    assert (await world.get(deleted)).owner_agent_id == world["alice"].user_id


async def test_batches_report_more(world: World, protection: ProtectionService) -> None:
    customers = [await world.customer(f"C{i}", owner="alice") for i in range(5)]
    async with world.sessions() as session, session.begin():
        first = await protection.release_due(session, T0 + 31 * DAY, limit=3)
    assert [r.customer_id for r in first.released] == customers[:3] and first.more
    assert first.summary() == {"released": 3, "customer_ids": customers[:3], "more": True}
    async with world.sessions() as session, session.begin():
        second = await protection.release_due(session, T0 + 31 * DAY, limit=3)
    assert [r.customer_id for r in second.released] == customers[3:] and not second.more


async def test_two_instances_release_each_customer_once(world: World, protection: ProtectionService) -> None:
    customers = [await world.customer(f"C{i}", owner="alice") for i in range(6)]
    other = ProtectionService(world.sessions, world.parameters, clock=world.clock)
    async with asyncio.timeout(20):
        results = await asyncio.gather(
            _run(world, protection, T0 + 31 * DAY), _run(world, other, T0 + 31 * DAY)
        )
    assert sorted(results[0] + results[1]) == customers
    assert await world.count(OwnershipHistory) == len(customers)


async def test_a_follow_up_restarts_the_clock(world: World, protection: ProtectionService) -> None:
    customer = await world.customer("Followed", owner="alice")
    world.clock.now = T0 + 29 * DAY
    follow_ups = FollowUpService(world.sessions, world.parameters, clock=world.clock)
    await follow_ups.add(
        world["alice"],
        customer,
        channel="phone",
        direction="outbound",
        content="called",
        disposition="resolved",
    )
    assert await _run(world, protection, T0 + 30 * DAY) == []
    assert await _run(world, protection, T0 + 59 * DAY) == [customer]


async def test_due_for_release_warns_within_the_window(world: World, protection: ProtectionService) -> None:
    by_follow_up = await world.customer("By follow-up", owner="alice")
    by_deal = await world.customer("By deal", owner="bob", last_follow_up_at=T0 + 85 * DAY)
    await world.customer("Locked", owner="alice", status="locked")
    async with world.sessions() as session:
        # 30 days without follow-up end at T0 + 30 d: a 7-day window opens at T0 + 23 d.
        assert await protection.due_for_release(session, T0 + 23 * DAY - TICK, 7) == []
        [due] = await protection.due_for_release(session, T0 + 23 * DAY, 7)
        assert (due.customer_id, due.owner_login, due.release_at, due.release_on, due.rule) == (
            by_follow_up,
            "alice",
            T0 + 30 * DAY,
            (T0 + 30 * DAY).date(),
            "no-follow-up",
        )
        later = await protection.due_for_release(session, T0 + 90 * DAY, 0)
        assert [(d.customer_id, d.rule, d.release_at) for d in later] == [
            (by_follow_up, "no-follow-up", T0 + 30 * DAY),
            (by_deal, "no-deal", T0 + 90 * DAY),
        ]
        only_bob = await protection.due_for_release(
            session, T0 + 90 * DAY, 0, owner_ids=[world["bob"].user_id or 0]
        )
        assert [d.customer_id for d in only_bob] == [by_deal]


async def test_release_job_summary(world: World, protection: ProtectionService) -> None:
    customer = await world.customer("Job", owner="alice")
    async with world.sessions() as session, session.begin():
        summary = await protection.release_job(session, T0 + 30 * DAY)
    assert summary == {"released": 1, "customer_ids": [customer], "more": False}
    assert Actor.system("protection.release").login == "protection.release"
