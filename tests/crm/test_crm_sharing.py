"""SharingService and the grant-expiry job (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from crm_access_kit import PEPPER, REGION, Office, add_customer, make_office, set_grant_expiry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.rules import Access, read_level
from crm_core.actor import Actor
from crm_core.customers.recycle import RecycleBin
from crm_core.customers.schemas import CustomerUpdate
from crm_core.customers.service import CustomerService
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import AuditLog as AuditRow
from crm_core.models.coltypes import utcnow
from crm_core.sharing.service import SharingService, expire_grants

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def office(sessions: Sessions) -> Office:
    return await make_office(sessions)


@pytest.fixture
def sharing(sessions: Sessions) -> SharingService:
    return SharingService(sessions)


async def _level(sessions: Sessions, actor: Actor, customer_id: int) -> Access:
    async with sessions() as session:
        return await read_level(session, actor, customer_id)


async def _audit(sessions: Sessions, *actions: str) -> list[AuditRow]:
    async with sessions() as session:
        query = select(AuditRow).where(AuditRow.action.in_(actions)).order_by(AuditRow.id)
        return list((await session.scalars(query)).all())


async def test_owner_shares_read_only_then_read_write(
    sessions: Sessions, office: Office, sharing: SharingService
) -> None:
    customer = await add_customer(sessions, "Shared", office.alice)
    service = CustomerService(sessions, PEPPER, REGION)
    grant = await sharing.share(office.alice, customer, user_login="bob", access="read")
    assert (grant.grantee_login, grant.access, grant.granted_by_login, grant.active) == (
        "bob",
        "read",
        "alice",
        True,
    )
    assert (grant.expires_at, grant.revoked_at, grant.customer_id) == (None, None, customer)
    assert (await service.get(office.bob, customer)).access == "read"
    with pytest.raises(AccessDenied):  # read-only is enforced on every write
        await service.update(office.bob, customer, CustomerUpdate(tier="vip"))

    upgraded = await sharing.share(office.alice, customer, user_login="bob", access="write")
    assert (await service.update(office.bob, customer, CustomerUpdate(tier="vip"))).tier == "vip"
    history = await sharing.grants(office.alice, customer, include_inactive=True)
    assert [(g.id, g.access, g.active, g.revoked_at is not None) for g in history] == [
        (grant.id, "read", False, True), (upgraded.id, "write", True, False),
    ]  # fmt: skip
    assert [g.id for g in await sharing.grants(office.alice, customer)] == [upgraded.id]
    shares = await _audit(sessions, "share")
    assert [(a.entity, a.entity_id, a.actor_login) for a in shares] == [
        ("grant", str(grant.id), "alice"), ("grant", str(upgraded.id), "alice"),
    ]  # fmt: skip
    assert shares[1].detail is not None and shares[1].detail["replaced"] == [grant.id]
    assert shares[1].detail["customer_id"] == customer


async def test_team_grant_with_expiry(sessions: Sessions, office: Office, sharing: SharingService) -> None:
    customer = await add_customer(sessions, "Team shared", office.alice)
    naive_tomorrow = (utcnow() + timedelta(days=1)).replace(tzinfo=None)
    grant = await sharing.share(
        office.alice, customer, team_id=office.south, access="write", expires_at=naive_tomorrow
    )
    assert (grant.grantee_team_id, grant.grantee_team_name) == (office.south, "south")
    assert grant.expires_at == naive_tomorrow.replace(tzinfo=UTC)
    assert await _level(sessions, office.carol, customer) is Access.WRITE
    assert await _level(sessions, office.sue, customer) is Access.WRITE
    assert await _level(sessions, office.bob, customer) is Access.NONE
    await set_grant_expiry(sessions, grant.id, utcnow() - timedelta(seconds=1))
    assert await _level(sessions, office.carol, customer) is Access.NONE
    [expired] = await sharing.grants(office.alice, customer, include_inactive=True)
    assert (expired.active, expired.revoked_at) == (False, None)


async def test_who_may_share(sessions: Sessions, office: Office, sharing: SharingService) -> None:
    customer = await add_customer(sessions, "Alice's", office.alice)
    await sharing.share(office.alice, customer, user_login="carol", access="write")
    with pytest.raises(AccessDenied):  # a write grantee is not the owner
        await sharing.share(office.carol, customer, user_login="dan")
    with pytest.raises(NotFound):  # another team's supervisor does not even see it
        await sharing.share(office.sue, customer, user_login="dan")
    with pytest.raises(NotFound):
        await sharing.grants(office.dan, customer)
    assert (await sharing.share(office.sam, customer, user_login="dan")).granted_by_login == "sam"
    assert (await sharing.share(office.root, customer, user_login="bob")).granted_by_login == "root"
    with pytest.raises(AccessDenied):
        await sharing.grants(office.carol, customer)
    pooled = await add_customer(sessions, "Pool", None)
    with pytest.raises(Conflict):
        await sharing.share(office.root, pooled, user_login="bob")
    with pytest.raises(AccessDenied):
        await sharing.share(office.dan, pooled, user_login="bob")


async def test_bad_grants_name_the_field(sessions: Sessions, office: Office, sharing: SharingService) -> None:
    customer = await add_customer(sessions, "Alice's", office.alice)
    cases = [
        ({"user_login": "alice"}, "user_login", office.alice),  # no self-grant
        ({"user_login": "alice"}, "user_login", office.sam),  # the owner has full access already
        ({"user_login": "ghost"}, "user_login", office.alice),
        ({"team_id": 999}, "team_id", office.alice),
        ({}, "grantee", office.alice),
        ({"user_login": "bob", "team_id": office.north}, "grantee", office.alice),
        ({"user_login": "bob", "access": "admin"}, "access", office.alice),
        ({"user_login": "bob", "expires_at": utcnow() - timedelta(minutes=1)}, "expires_at", office.alice),
    ]
    for kwargs, field, actor in cases:
        with pytest.raises(InvalidInput) as raised:
            await sharing.share(actor, customer, **kwargs)  # type: ignore[arg-type]
        assert raised.value.field == field, kwargs
    assert await sharing.grants(office.alice, customer, include_inactive=True) == []


async def test_unshare(sessions: Sessions, office: Office, sharing: SharingService) -> None:
    customer = await add_customer(sessions, "Alice's", office.alice)
    grant = await sharing.share(office.alice, customer, user_login="bob", access="write")
    with pytest.raises(AccessDenied):
        await sharing.unshare(office.bob, grant.id)
    with pytest.raises(NotFound):
        await sharing.unshare(office.alice, 424_242)
    revoked = await sharing.unshare(office.alice, grant.id)
    assert (revoked.active, revoked.revoked_at is not None) == (False, True)
    assert await _level(sessions, office.bob, customer) is Access.NONE
    again = await sharing.unshare(office.alice, grant.id)  # nothing left to change
    assert again.revoked_at == revoked.revoked_at
    [unshared] = await _audit(sessions, "unshare")
    assert (unshared.entity_id, unshared.detail) == (
        str(grant.id),
        {"customer_id": customer, "reason": "revoked"},
    )


async def test_deleted_customer_cannot_be_shared(
    sessions: Sessions, office: Office, sharing: SharingService
) -> None:
    customer = await add_customer(sessions, "Gone", office.alice)
    grant = await sharing.share(office.alice, customer, user_login="bob")
    await RecycleBin(sessions).delete(office.alice, customer)
    with pytest.raises(NotFound):
        await sharing.share(office.alice, customer, user_login="carol")
    with pytest.raises(Conflict):
        await sharing.share(office.root, customer, user_login="carol")
    with pytest.raises(NotFound):
        await sharing.unshare(office.alice, grant.id)
    assert await _level(sessions, office.bob, customer) is Access.NONE


async def test_expiry_job_records_each_expired_grant_once(
    sessions: Sessions, office: Office, sharing: SharingService
) -> None:
    customer = await add_customer(sessions, "Shared", office.alice)
    soon = utcnow() + timedelta(hours=1)
    expiring = await sharing.share(office.alice, customer, user_login="bob", expires_at=soon)
    lasting = await sharing.share(
        office.alice, customer, user_login="carol", expires_at=soon + timedelta(days=30)
    )
    revoked = await sharing.share(office.alice, customer, user_login="dan", expires_at=soon)
    await sharing.unshare(office.alice, revoked.id)
    forever = await sharing.share(office.alice, customer, team_id=office.south)

    async def run(now_offset: timedelta) -> int:
        async with sessions() as session, session.begin():
            return await expire_grants(session, utcnow() + now_offset)

    assert await run(timedelta()) == 0
    assert await run(timedelta(hours=2)) == 1
    assert await run(timedelta(hours=2)) == 0  # idempotent
    assert await run(timedelta(days=40)) == 1  # carol's grant now
    assert await run(timedelta(days=40)) == 0
    records = [a for a in await _audit(sessions, "unshare") if a.detail and a.detail["reason"] == "expired"]
    assert [(a.entity_id, a.actor_login, a.actor_id) for a in records] == [
        (str(expiring.id), "grant-expiry", None), (str(lasting.id), "grant-expiry", None),
    ]  # fmt: skip
    # The job changed no grant: it only bookkeeps.
    grants = {g.id: g for g in await sharing.grants(office.alice, customer, include_inactive=True)}
    assert grants[expiring.id].revoked_at is None and grants[forever.id].active is True
