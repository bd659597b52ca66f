"""Customer protection: claims from the pool and their caps, releases, assignments, transfers, locks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from protection_world import T0, World
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import OwnershipHistory
from crm_core.protection.service import ProtectionService


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = await World(sessions).setup()
    sales = await world.team("sales", "sup1")
    other = await world.team("wealth", "sup2")
    await world.agent("alice", team=sales)
    await world.agent("bob", team=sales)
    await world.agent("carol", team=other)
    return world


@pytest.fixture
def protection(world: World) -> ProtectionService:
    return ProtectionService(world.sessions, world.parameters, clock=world.clock)


async def test_claim_takes_a_pool_customer_with_history_and_audit(
    world: World, protection: ProtectionService
) -> None:
    customer = await world.customer("Wang Fang")
    view = await protection.claim(world["alice"], customer)
    assert (view.status, view.owner_login, view.owned_since, view.released_at) == ("owned", "alice", T0, None)
    stored = await world.get(customer)
    assert (stored.status, stored.owner_agent_id, stored.owned_since) == ("owned", world["alice"].user_id, T0)
    [row] = await world.history(customer)
    assert (row.action, row.from_owner_id, row.to_owner_id, row.actor_id, row.at) == (
        "claim",
        None,
        world["alice"].user_id,
        world["alice"].user_id,
        T0,
    )
    [entry] = await world.audits("claim", customer)
    assert (entry.actor_login, entry.entity, entry.detail) == (
        "alice",
        "customer",
        {
            "from_owner_id": None,
            "to_owner_id": world["alice"].user_id,
            "reason": "claimed from the public pool",
        },
    )
    assert await protection.ownership(world["alice"], customer) == view
    assert len(await world.audits("view", customer)) == 1


async def test_claim_refusals(world: World, protection: ProtectionService) -> None:
    owned = await world.customer("Owned", owner="bob")
    with pytest.raises(Conflict, match="not in the public pool"):
        await protection.claim(world["bob"], owned)
    deleted = await world.customer("Gone", deleted_at=T0)
    with pytest.raises(NotFound):
        await protection.claim(world["alice"], deleted)
    with pytest.raises(NotFound):
        await protection.claim(world["alice"], 999_999)
    with pytest.raises(AccessDenied):
        await protection.claim(Actor.system(), await world.customer("Pool"))
    # Another agent's customer is invisible to alice: not found, not "owned by bob".
    with pytest.raises(NotFound):
        await protection.claim(world["alice"], await world.customer("Carol's", owner="carol"))
    assert await world.count(OwnershipHistory) == 0


async def test_daily_claim_cap_counts_the_utc_day(world: World, protection: ProtectionService) -> None:
    await world.set("protection.daily_claim_cap", 2)
    world.clock.now = T0.replace(hour=0, minute=0)
    pool = [await world.customer(f"Pool {i}") for i in range(5)]
    await protection.claim(world["alice"], pool[0])
    world.clock.now = T0.replace(hour=23, minute=59, second=59)
    await protection.claim(world["alice"], pool[1])  # cap - 1 → allowed; now at the cap
    with pytest.raises(Conflict, match="daily claim limit"):
        await protection.claim(world["alice"], pool[2])
    assert (await world.get(pool[2])).status == "public"
    assert len(await world.history(pool[2])) == 0
    await protection.claim(world["bob"], pool[2])  # the cap is per agent
    world.clock.now = T0.replace(hour=0, minute=0) + timedelta(days=1)  # midnight: a new day
    await protection.claim(world["alice"], pool[3])


async def test_previous_owner_is_barred_until_the_period_ends(
    world: World, protection: ProtectionService
) -> None:
    await world.set("protection.previous_owner_bar_days", 30)
    customer = await world.customer("Li Na", owner="alice")
    released = await protection.release(world["alice"], customer, "moved abroad")
    assert released.released_at == T0
    world.clock.now = T0 + timedelta(days=30) - timedelta(seconds=1)
    with pytest.raises(Conflict, match="less than 30 days"):
        await protection.claim(world["alice"], customer)
    world.clock.now = T0 + timedelta(days=30)  # the bar ends exactly now
    view = await protection.claim(world["alice"], customer)
    assert (view.owner_login, view.previous_owner_id) == ("alice", world["alice"].user_id)


async def test_bar_survives_a_later_owner(world: World, protection: ProtectionService) -> None:
    customer = await world.customer("Zhao Lei", owner="alice")
    await protection.release(world["alice"], customer, "no interest")
    await protection.claim(world["bob"], customer)  # others are not barred
    world.clock.advance(days=1)
    await protection.release(world["bob"], customer, "no interest either")
    assert (await world.get(customer)).previous_owner_id == world["bob"].user_id
    with pytest.raises(Conflict):
        await protection.claim(world["alice"], customer)  # still within alice's 30 days
    await world.set("protection.previous_owner_bar_days", 0)
    assert (await protection.claim(world["alice"], customer)).owner_login == "alice"


async def test_max_owned_cap_and_deal_customers(world: World, protection: ProtectionService) -> None:
    await world.set("protection.max_owned_customers", 3)
    await world.customer("Owned", owner="alice")
    await world.customer("Locked", owner="alice", status="locked")
    await world.customer("Won deal", owner="alice", deal_status="won")
    await world.customer("Deleted", owner="alice", deleted_at=T0)  # the recycle bin does not count
    pool = [await world.customer(f"Pool {i}") for i in range(3)]
    # Deal customers do not count by default: 2 counted, cap 3 → one more.
    await protection.claim(world["alice"], pool[0])
    with pytest.raises(Conflict, match="maximum of 3 customers"):
        await protection.claim(world["alice"], pool[1])
    assert (await world.get(pool[1])).status == "public"
    # A won customer never counts, so it can be claimed at the cap.
    await world.update(pool[2], deal_status="won")
    await protection.claim(world["alice"], pool[2])
    await world.set("protection.count_deal_customers", True)
    async with world.sessions() as session:
        with pytest.raises(Conflict):
            await protection.check_can_own(session, world["alice"].user_id or 0)
        await protection.check_can_own(session, world["bob"].user_id or 0)
    with pytest.raises(Conflict):  # now the won customers count: 5 of 3
        await protection.assign(world["sup1"], pool[1], "alice", "busy season")


async def test_check_can_own_boundary(world: World, protection: ProtectionService) -> None:
    await world.set("protection.max_owned_customers", 2)
    first = await world.customer("One", owner="bob")
    bob_id = world["bob"].user_id or 0
    async with world.sessions() as session:
        await protection.check_can_own(session, bob_id)  # 1 of 2
    await world.customer("Two", owner="bob")
    async with world.sessions() as session:
        with pytest.raises(Conflict):
            await protection.check_can_own(session, bob_id)  # 2 of 2: the cap is reached
        await protection.check_can_own(session, bob_id, customer_id=first)  # re-owning one it has


async def test_release_rules(world: World, protection: ProtectionService) -> None:
    customer = await world.customer("Chen Jie", owner="alice")
    with pytest.raises(InvalidInput) as error:
        await protection.release(world["alice"], customer, "  ")
    assert error.value.field == "reason"
    # A read-write share lets bob write follow-ups, not give the customer away.
    await world.share(customer, user="bob", access="write")
    with pytest.raises(AccessDenied):
        await protection.release(world["bob"], customer, "mine now")
    with pytest.raises(NotFound):
        await protection.release(world["sup2"], customer, "not my team")
    world.clock.advance(hours=1)
    view = await protection.release(world["sup1"], customer, "reorganisation")
    assert view.status == "public" and view.owner_id is None and view.owned_since is None
    assert (view.previous_owner_id, view.released_at) == (world["alice"].user_id, world.clock.now)
    [row] = await world.history(customer)
    assert (row.action, row.reason, row.from_owner_id, row.to_owner_id, row.actor_id) == (
        "release",
        "reorganisation",
        world["alice"].user_id,
        None,
        world["sup1"].user_id,
    )
    assert len(await world.audits("release", customer)) == 1
    with pytest.raises(Conflict, match="already in the public pool"):
        await protection.release(world["admin1"], customer, "again")
    locked = await world.customer("Locked", owner="alice", status="locked")
    with pytest.raises(Conflict, match="locked"):
        await protection.release(world["alice"], locked, "try")
    assert (
        await protection.release(world.admin, await world.customer("X", owner="carol"), "admin")
    ).status == ("public")


async def test_assign_from_the_pool(world: World, protection: ProtectionService) -> None:
    customer = await world.customer("Sun Li", released_at=T0 - timedelta(days=3))
    with pytest.raises(InvalidInput) as error:
        await protection.assign(world["sup1"], customer, "nobody", "new hire")
    assert error.value.field == "to_login"
    with pytest.raises(InvalidInput):
        await protection.assign(world["sup1"], customer, "alice", "")
    with pytest.raises(AccessDenied):
        await protection.assign(world["sup1"], customer, "carol", "not my team")
    with pytest.raises(AccessDenied):
        await protection.assign(world["alice"], customer, "bob", "agents do not assign")
    view = await protection.assign(world["sup1"], customer, "bob", "speaks Cantonese")
    assert (view.status, view.owner_login, view.owned_since, view.released_at) == ("owned", "bob", T0, None)
    [row] = await world.history(customer)
    assert (row.action, row.to_owner_id, row.actor_id, row.reason) == (
        "assign",
        world["bob"].user_id,
        world["sup1"].user_id,
        "speaks Cantonese",
    )
    assert len(await world.audits("assign", customer)) == 1
    with pytest.raises(Conflict, match="transfer"):
        await protection.assign(world["sup1"], customer, "alice", "again")


async def test_assign_respects_caps_unless_admin(world: World, protection: ProtectionService) -> None:
    await world.set("protection.max_owned_customers", 1)
    await world.customer("Bob's only", owner="bob")
    first, second = await world.customer("Pool 1"), await world.customer("Pool 2")
    with pytest.raises(Conflict, match="maximum of 1"):
        await protection.assign(world["sup1"], first, "bob", "overflow")
    assert (await world.get(first)).status == "public"
    assert (await protection.assign(world.admin, first, "bob", "exception approved")).owner_login == "bob"
    assert (await protection.assign(world["sup1"], second, "alice", "room left")).owner_login == "alice"


async def test_transfer_between_agents(world: World, protection: ProtectionService) -> None:
    customer = await world.customer("Zhou Xun", owner="alice", status="locked")
    world.clock.advance(days=2)
    with pytest.raises(Conflict, match="already owns"):
        await protection.transfer(world["sup1"], customer, "alice", "no-op")
    with pytest.raises(AccessDenied):
        await protection.transfer(world["sup1"], customer, "carol", "other team")
    with pytest.raises(NotFound):
        await protection.transfer(world["sup2"], customer, "carol", "not visible to sup2")
    view = await protection.transfer(world["sup1"], customer, "bob", "alice on leave")
    assert (view.status, view.owner_login, view.previous_owner_id, view.owned_since) == (
        "locked",
        "bob",
        world["alice"].user_id,
        world.clock.now,
    )
    [row] = await world.history(customer)
    assert (row.action, row.from_owner_id, row.to_owner_id) == (
        "transfer",
        world["alice"].user_id,
        world["bob"].user_id,
    )
    with pytest.raises(Conflict, match="assign it instead"):
        await protection.transfer(world["sup1"], await world.customer("Pool"), "bob", "wrong verb")
    # The admin crosses teams.
    assert (await protection.transfer(world.admin, customer, "carol", "moved team")).owner_login == "carol"


async def test_transfer_of_a_locked_customer_respects_the_locked_cap(
    world: World, protection: ProtectionService
) -> None:
    await world.set("protection.max_locked_customers", 1)
    await world.customer("Bob's locked", owner="bob", status="locked")
    customer = await world.customer("Alice's locked", owner="alice", status="locked")
    with pytest.raises(Conflict, match="locked customers"):
        await protection.transfer(world["sup1"], customer, "bob", "leave")
    assert (await world.get(customer)).owner_agent_id == world["alice"].user_id
    assert len(await world.history(customer)) == 0


async def test_lock_and_unlock(world: World, protection: ProtectionService) -> None:
    await world.set("protection.max_locked_customers", 1)
    first = await world.customer("First", owner="alice")
    second = await world.customer("Second", owner="alice")
    view = await protection.lock(world["alice"], first, "key account")
    assert view.status == "locked" and view.owned_since == T0
    with pytest.raises(Conflict, match="already locked"):
        await protection.lock(world["alice"], first)
    with pytest.raises(Conflict, match="maximum of 1 locked"):
        await protection.lock(world["alice"], second)  # the cap is reached
    with pytest.raises(Conflict, match="maximum of 1 locked"):
        await protection.lock(world["sup1"], second)  # the owner's cap binds a supervisor too
    assert (await protection.lock(world.admin, second)).status == "locked"
    await world.share(first, user="bob", access="write")
    with pytest.raises(AccessDenied):
        await protection.unlock(world["bob"], first)  # a share is not ownership
    assert (await protection.unlock(world["sup1"], second)).status == "owned"
    assert (await protection.unlock(world["alice"], first)).status == "owned"
    with pytest.raises(Conflict, match="already unlocked"):
        await protection.unlock(world["alice"], first)
    with pytest.raises(Conflict, match="public pool"):
        await protection.lock(world["alice"], await world.customer("Pool"))
    actions = [(r.action, r.from_owner_id, r.to_owner_id) for r in await world.history(first)]
    alice = world["alice"].user_id
    assert actions == [("lock", alice, alice), ("unlock", alice, alice)]
    assert len(await world.audits("lock")) == 2 and len(await world.audits("unlock")) == 2


async def test_two_agents_claiming_at_once_one_wins(world: World, protection: ProtectionService) -> None:
    agents = [await world.agent(f"racer{i}") for i in range(6)]
    for round_ in range(3):
        customer = await world.customer(f"Contested {round_}")
        async with asyncio.timeout(20):
            results = await asyncio.gather(
                *(protection.claim(agent, customer) for agent in agents), return_exceptions=True
            )
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert len(winners) == 1, results
        # A loser that read the row after the winner's commit no longer sees it (another
        # agent's customer): NotFound; one that read it before fails the conditional UPDATE.
        assert all(isinstance(r, Conflict | NotFound) for r in losers), losers
        [row] = await world.history(customer)
        assert row.to_owner_id == winners[0].owner_id == (await world.get(customer)).owner_agent_id


async def test_one_agent_claiming_many_at_once_stays_under_the_cap(
    world: World, protection: ProtectionService
) -> None:
    await world.set("protection.max_owned_customers", 3)
    pool = [await world.customer(f"Pool {i}") for i in range(7)]
    async with asyncio.timeout(20):
        results = await asyncio.gather(
            *(protection.claim(world["alice"], c) for c in pool), return_exceptions=True
        )
    assert sum(not isinstance(r, BaseException) for r in results) == 3, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert await world.count(OwnershipHistory) == 3


async def test_history_lists_every_change_for_full_readers(
    world: World, protection: ProtectionService
) -> None:
    customer = await world.customer("Tang Wei")
    await protection.claim(world["alice"], customer)
    world.clock.advance(minutes=1)
    await protection.lock(world["alice"], customer, "VIP")
    world.clock.advance(minutes=1)
    await protection.transfer(world["sup1"], customer, "bob", "alice on leave")
    changes = await protection.history(world["sup1"], customer)
    assert [(c.action, c.from_owner_login, c.to_owner_login, c.actor_login, c.reason) for c in changes] == [
        ("claim", None, "alice", "alice", "claimed from the public pool"),
        ("lock", "alice", "alice", "alice", "VIP"),
        ("transfer", "alice", "bob", "sup1", "alice on leave"),
    ]
    assert [c.at for c in changes] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert [a.detail for a in await world.audits("view", customer)] == [{"view": "ownership-history"}]
    with pytest.raises(NotFound):
        await protection.history(world["carol"], customer)
    pool = await world.customer("Pool")
    with pytest.raises(AccessDenied, match="claim"):
        await protection.history(world["carol"], pool)
    assert (await protection.ownership(world["carol"], pool)).status == "public"
    assert [a.detail for a in await world.audits("view", pool)] == [{"view": "ownership"}]
