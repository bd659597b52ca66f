"""Access rules of crm_core.access.rules on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from crm_access_kit import Office, add_customer, add_grant, make_office, set_grant_expiry
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.rules import NOT_VISIBLE, Access, check, read_level, require, visible_customers_clause
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, NotFound
from crm_core.models import Customer, SharingGrant
from crm_core.models.coltypes import utcnow

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def office(sessions: Sessions) -> Office:
    return await make_office(sessions)


async def _level(sessions: Sessions, actor: Actor, customer_id: int) -> Access:
    async with sessions() as session:
        return await read_level(session, actor, customer_id)


async def _visible(sessions: Sessions, actor: Actor) -> set[int]:
    async with sessions() as session:
        return set((await session.scalars(select(Customer.id).where(visible_customers_clause(actor)))).all())


async def test_owner_supervisor_and_admin_write_others_see_nothing(
    sessions: Sessions, office: Office
) -> None:
    mine = await add_customer(sessions, "Alice's customer", office.alice)
    expected = {
        office.alice: Access.WRITE,  # owner
        office.sam: Access.WRITE,  # supervises alice's team
        office.root: Access.WRITE,  # admin
        Actor.system(): Access.WRITE,
        office.bob: Access.NONE,  # same team, but an agent
        office.sue: Access.NONE,  # supervisor of another team
        office.carol: Access.NONE,
        office.dan: Access.NONE,
    }
    for actor, level in expected.items():
        assert await _level(sessions, actor, mine) is level, actor.login


async def test_supervisor_does_not_reach_other_teams_or_teamless_agents(
    sessions: Sessions, office: Office
) -> None:
    carols = await add_customer(sessions, "Carol's", office.carol)
    dans = await add_customer(sessions, "Dan's", office.dan)
    assert await _level(sessions, office.sam, carols) is Access.NONE
    assert await _level(sessions, office.sam, dans) is Access.NONE
    assert await _level(sessions, office.sue, carols) is Access.WRITE
    assert await _level(sessions, office.sue, dans) is Access.NONE


async def test_public_pool_is_readable_limited_for_agents_full_for_supervisors(
    sessions: Sessions, office: Office
) -> None:
    pooled = await add_customer(sessions, "Pooled", None)
    async with sessions() as session:
        for agent in (office.alice, office.carol, office.dan):
            verdict = await check(session, agent, pooled)
            assert (verdict.access, verdict.limited) == (Access.READ, True), agent.login
        verdict = await check(session, office.sam, pooled)
        assert (verdict.access, verdict.limited) == (Access.READ, False)
        assert (await check(session, office.root, pooled)).access is Access.WRITE


async def test_offered_customer_is_readable_during_the_call(sessions: Sessions, office: Office) -> None:
    customer = await add_customer(sessions, "Caller", office.alice)
    assert await _level(sessions, office.dan, customer) is Access.NONE
    ringing = office.offered(office.dan, customer)
    async with sessions() as session:
        verdict = await check(session, ringing, customer)
    assert (verdict.access, verdict.limited) == (Access.READ, False)
    with pytest.raises(AccessDenied):
        async with sessions() as session:
            await require(session, ringing, customer, Access.WRITE)


async def test_grants_to_users_and_teams(sessions: Sessions, office: Office) -> None:
    customer = await add_customer(sessions, "Shared", office.alice)
    await add_grant(sessions, customer, user=office.dan, access="read")
    await add_grant(sessions, customer, user=office.carol, access="write")
    await add_grant(sessions, customer, team_id=office.north, access="read")
    assert await _level(sessions, office.dan, customer) is Access.READ
    assert await _level(sessions, office.carol, customer) is Access.WRITE
    assert await _level(sessions, office.bob, customer) is Access.READ  # through the north team
    assert await _level(sessions, office.sue, customer) is Access.NONE
    # The strongest active grant wins: a team write grant lifts carol's colleague sue too.
    await add_grant(sessions, customer, team_id=office.south, access="write")
    assert await _level(sessions, office.sue, customer) is Access.WRITE


async def test_expired_or_revoked_grant_stops_working_at_once(sessions: Sessions, office: Office) -> None:
    customer = await add_customer(sessions, "Temporarily shared", office.alice)
    grant = await add_grant(
        sessions, customer, user=office.bob, access="write", expires_in=timedelta(hours=1)
    )
    assert await _level(sessions, office.bob, customer) is Access.WRITE
    assert customer in await _visible(sessions, office.bob)
    # No job runs in between: the database's clock alone ends the grant.
    await set_grant_expiry(sessions, grant, utcnow() - timedelta(seconds=1))
    assert await _level(sessions, office.bob, customer) is Access.NONE
    assert customer not in await _visible(sessions, office.bob)

    other = await add_grant(sessions, customer, user=office.dan, access="read")
    assert await _level(sessions, office.dan, customer) is Access.READ
    async with sessions() as session, session.begin():
        await session.execute(
            update(SharingGrant).where(SharingGrant.id == other).values(revoked_at=utcnow())
        )
    assert await _level(sessions, office.dan, customer) is Access.NONE


async def test_deleted_customer_is_invisible_except_to_admins(sessions: Sessions, office: Office) -> None:
    customer = await add_customer(sessions, "Deleted", office.alice)
    await add_grant(sessions, customer, user=office.bob, access="write")
    async with sessions() as session, session.begin():
        await session.execute(update(Customer).where(Customer.id == customer).values(deleted_at=utcnow()))
    for actor in (office.alice, office.bob, office.sam, office.offered(office.dan, customer)):
        assert await _level(sessions, actor, customer) is Access.NONE, actor.login
        assert customer not in await _visible(sessions, actor)
    assert await _level(sessions, office.root, customer) is Access.WRITE
    assert customer not in await _visible(sessions, office.root)  # lists leave the bin out…
    async with sessions() as session:
        everything = visible_customers_clause(office.root, include_deleted=True)
        assert customer in set((await session.scalars(select(Customer.id).where(everything))).all())


async def test_require_tells_unseen_from_missing_and_refuses_read_only_writes(
    sessions: Sessions, office: Office
) -> None:
    customer = await add_customer(sessions, "Guarded", office.alice)
    await add_grant(sessions, customer, user=office.bob, access="read")
    async with sessions() as session:
        assert (await require(session, office.alice, customer, "write")).id == customer
        assert (await require(session, office.bob, customer, Access.READ)).id == customer
        with pytest.raises(AccessDenied):
            await require(session, office.bob, customer, Access.WRITE)
        # A customer that exists but is not hers to see is refused (403), one that does not is missing (404).
        with pytest.raises(AccessDenied) as denied:
            await require(session, office.carol, customer, Access.READ)
        assert str(denied.value) == NOT_VISIBLE
        with pytest.raises(NotFound) as raised:
            await require(session, office.carol, 987_654, Access.READ)
        assert str(raised.value) == "no customer 987654"


async def test_list_clause_agrees_with_read_level_for_everyone(sessions: Sessions, office: Office) -> None:
    customers = [
        await add_customer(sessions, "a", office.alice),
        await add_customer(sessions, "b", office.bob),
        await add_customer(sessions, "c", office.carol),
        await add_customer(sessions, "d", office.dan),
        await add_customer(sessions, "pool", None),
        await add_customer(sessions, "locked", office.carol, status="locked"),
    ]
    await add_grant(sessions, customers[2], user=office.alice, access="read")
    await add_grant(sessions, customers[3], team_id=office.south, access="write")
    expired = await add_grant(sessions, customers[0], user=office.dan, access="write")
    await set_grant_expiry(sessions, expired, utcnow() - timedelta(minutes=5))
    actors = [
        office.root, office.sam, office.sue, office.alice, office.bob, office.carol, office.dan,
        office.offered(office.bob, customers[5]),
    ]  # fmt: skip
    for actor in actors:
        by_level = {c for c in customers if await _level(sessions, actor, c) is not Access.NONE}
        assert await _visible(sessions, actor) & set(customers) == by_level, actor.login
    assert await _visible(sessions, office.dan) & set(customers) == {customers[3], customers[4]}
