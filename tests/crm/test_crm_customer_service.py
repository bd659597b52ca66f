"""CustomerService: create, get (audited), update, with access enforced (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from crm_access_kit import PEPPER, REGION, Office, add_customer, add_grant, customer_row, make_office
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.customers.schemas import ContactInput, CustomerCreate, CustomerUpdate, PhoneInput
from crm_core.customers.service import CustomerService
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import AuditLog as AuditRow
from crm_core.models import OwnershipHistory

Sessions = async_sessionmaker[AsyncSession]
ID_NUMBER = "11010119900307123X"


@pytest.fixture
async def office(sessions: Sessions) -> Office:
    return await make_office(sessions)


@pytest.fixture
def service(sessions: Sessions) -> CustomerService:
    return CustomerService(sessions, PEPPER, REGION)


async def _audit(sessions: Sessions, action: str | None = None) -> list[AuditRow]:
    query = select(AuditRow).order_by(AuditRow.id)
    if action is not None:
        query = query.where(AuditRow.action == action)
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def test_agent_creates_a_customer_they_own(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    detail = await service.create(
        office.alice,
        CustomerCreate(
            name="  Wang Fang ",
            id_number=SecretStr(ID_NUMBER),
            source="referral",
            phones=[PhoneInput(number="138 1234 5678"), PhoneInput(number="010-6552-9988", type="landline")],
        ),
    )
    assert (detail.name, detail.owner_login, detail.status, detail.source) == (
        "Wang Fang",
        "alice",
        "owned",
        "referral",
    )
    assert (detail.access, detail.limited) == ("write", False)
    assert detail.id_number_masked == "**************123X"
    assert [(p.e164, p.is_primary) for p in detail.phones] == [
        ("+8613812345678", True),
        ("+861065529988", False),
    ]
    assert detail.owned_since is not None
    row = await customer_row(sessions, detail.id)
    assert row is not None and row.id_number_last4 == "123X"
    assert (
        row.id_number_hash is not None
        and ID_NUMBER not in row.id_number_hash
        and len(row.id_number_hash) == 64
    )
    async with sessions() as session:
        [history] = (await session.scalars(select(OwnershipHistory))).all()
    assert (history.action, history.to_owner_id, history.actor_id) == (
        "create",
        office.alice.user_id,
        office.alice.user_id,
    )
    [created] = await _audit(sessions, "create")
    assert (created.actor_login, created.entity_id) == ("alice", str(detail.id))
    assert "id_number" not in (created.detail or {})


async def test_agent_cannot_give_a_new_customer_away(office: Office, service: CustomerService) -> None:
    with pytest.raises(AccessDenied):
        await service.create(office.alice, CustomerCreate(name="X", owner_login="bob"))
    with pytest.raises(InvalidInput) as raised:
        await service.create(office.alice, CustomerCreate(name="X", status="public"))
    assert raised.value.field == "status"
    assert (
        await service.create(office.alice, CustomerCreate(name="X", owner_login="alice"))
    ).owner_login == "alice"


async def test_supervisor_and_admin_choose_the_owner(office: Office, service: CustomerService) -> None:
    assigned = await service.create(
        office.sam, CustomerCreate(name="For Bob", owner_login="bob", status="locked")
    )
    assert (assigned.owner_login, assigned.status) == ("bob", "locked")
    pooled = await service.create(office.sam, CustomerCreate(name="Pool", status="public"))
    assert (pooled.owner_login, pooled.status) == (None, "public")
    assert (await service.create(office.sam, CustomerCreate(name="Mine"))).owner_login == "sam"
    with pytest.raises(AccessDenied):
        await service.create(office.sam, CustomerCreate(name="For Carol", owner_login="carol"))
    assert (
        await service.create(office.root, CustomerCreate(name="C", owner_login="carol"))
    ).owner_login == "carol"
    for data, field in (
        (CustomerCreate(name="?", owner_login="nobody"), "owner_login"),
        (CustomerCreate(name="?", owner_login="bob", status="public"), "status"),
    ):
        with pytest.raises(InvalidInput) as raised:
            await service.create(office.root, data)
        assert raised.value.field == field
    system = await service.create(Actor.system("import"), CustomerCreate(name="Imported"))
    assert (system.owner_login, system.status) == (None, "public")


async def test_bad_input_names_the_field(office: Office, service: CustomerService) -> None:
    cases = [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "kind": "robot"}, "kind"),
        ({"name": "ok", "tier": "gold; DROP"}, "tier"),
        ({"name": "ok", "id_number": "12-3"}, "id_number"),
        ({"name": "ok", "deal_status": "maybe"}, "deal_status"),
        ({"name": "ok", "phones": [{"number": ""}]}, "phones"),
        ({"name": "ok", "contacts": [{"name": "A", "email": "not-an-email"}]}, "contacts"),
        ({"name": "ok", "owner_id": 3}, "owner_id"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as raised:
            CustomerCreate.model_validate(data)
        assert raised.value.errors()[0]["loc"][0] == field, data
    with pytest.raises(ValidationError) as raised:
        CustomerCreate(name="ok", id_number=SecretStr("12-3"))
    assert "12-3" not in raised.value.errors()[0]["msg"]
    with pytest.raises(InvalidInput) as bad_phone:
        await service.create(office.alice, CustomerCreate(name="ok", phones=[PhoneInput(number="12345")]))
    assert bad_phone.value.field == "phones[0].number"
    with pytest.raises(InvalidInput) as two_primaries:
        await service.create(
            office.alice,
            CustomerCreate(
                name="ok",
                phones=[
                    PhoneInput(number="13812345678", is_primary=True),
                    PhoneInput(number="13812345679", is_primary=True),
                ],
            ),
        )
    assert two_primaries.value.field == "phones"
    for data, field in (
        ({"owner_login": "bob"}, "owner_login"),
        ({"name": None}, "name"),
        ({"status": "public"}, "status"),
    ):
        with pytest.raises(ValidationError) as raised:
            CustomerUpdate.model_validate(data)
        assert raised.value.errors()[0]["loc"][0] == field


async def test_duplicate_id_number_is_refused(office: Office, service: CustomerService) -> None:
    first = await service.create(office.alice, CustomerCreate(name="First", id_number=SecretStr(ID_NUMBER)))
    with pytest.raises(Conflict):
        # Same number typed differently: spaces and a lower-case check letter.
        await service.create(
            office.carol, CustomerCreate(name="Second", id_number=SecretStr("110101 19900307 123x"))
        )
    second = await service.create(office.carol, CustomerCreate(name="Second"))
    with pytest.raises(Conflict):
        await service.update(office.carol, second.id, CustomerUpdate(id_number=SecretStr(ID_NUMBER)))
    assert (
        await service.update(office.alice, first.id, CustomerUpdate(id_number=SecretStr(ID_NUMBER)))
    ).id_number_masked


async def test_get_writes_a_view_audit_row_every_time(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    customer = await add_customer(sessions, "Viewed", office.alice, phone="13800001111")
    viewer = Actor(
        user_id=office.alice.user_id,
        login="alice",
        role="agent",
        team_ids=office.alice.team_ids,
        remote_addr="192.0.2.9",
    )
    for _ in range(2):
        assert (await service.get(viewer, customer)).name == "Viewed"
    await service.get(office.sam, customer)
    views = await _audit(sessions, "view")
    assert [(v.actor_login, v.entity, v.entity_id) for v in views] == [
        ("alice", "customer", str(customer)),
        ("alice", "customer", str(customer)),
        ("sam", "customer", str(customer)),
    ]
    assert views[0].remote_addr == "192.0.2.9"
    for actor in (office.bob, office.carol):
        with pytest.raises(AccessDenied):  # it exists, but is not theirs to see
            await service.get(actor, customer)
    with pytest.raises(NotFound):
        await service.get(office.root, 999_999)
    assert len(await _audit(sessions, "view")) == 3


async def test_pool_customer_is_limited_for_agents(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    pooled = await service.create(
        office.root,
        CustomerCreate(
            name="Pooled",
            status="public",
            id_number=SecretStr(ID_NUMBER),
            phones=[PhoneInput(number="13912345678")],
            contacts=[ContactInput(name="Li Ming", phone="13912340000")],
        ),
    )
    seen = await service.get(office.dan, pooled.id)
    assert (seen.access, seen.limited) == ("read", True)
    assert [p.e164 for p in seen.phones] == ["*******5678"] and seen.phones[0].raw is None
    assert (seen.contacts, seen.grants, seen.segment) == ([], [], None)
    assert seen.id_number_masked == "**************123X"
    full = await service.get(office.sam, pooled.id)
    assert (
        full.limited is False
        and full.phones[0].e164 == "+8613912345678"
        and full.contacts[0].name == "Li Ming"
    )


async def test_update_needs_write_access(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    customer = await add_customer(sessions, "Shared", office.alice)
    await add_grant(sessions, customer, user=office.bob, access="read")
    await add_grant(sessions, customer, user=office.carol, access="write")
    assert (await service.get(office.bob, customer)).access == "read"
    with pytest.raises(AccessDenied):
        await service.update(office.bob, customer, CustomerUpdate(name="Hijacked"))
    with pytest.raises(AccessDenied):
        await service.update(office.dan, customer, CustomerUpdate(name="Hijacked"))
    pooled = await add_customer(sessions, "Pool", None)
    with pytest.raises(AccessDenied):
        await service.update(office.dan, pooled, CustomerUpdate(name="Mine now"))
    updated = await service.update(
        office.carol, customer, CustomerUpdate(name="Renamed", deal_status="negotiating")
    )
    assert (updated.name, updated.deal_status, updated.tier, updated.access) == (
        "Renamed",
        "negotiating",
        "standard",
        "write",
    )
    assert updated.grants == []  # a grantee does not see the other grants
    assert len((await service.get(office.alice, customer)).grants) == 2  # the owner does
    [change] = await _audit(sessions, "update")
    assert change.detail == {
        "changes": {"name": ["Shared", "Renamed"], "deal_status": ["none", "negotiating"]}
    }


async def test_update_rehashes_or_removes_the_id_number(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    created = await service.create(office.alice, CustomerCreate(name="Doc", id_number=SecretStr("A1234567")))
    before = await customer_row(sessions, created.id)
    updated = await service.update(office.alice, created.id, CustomerUpdate(id_number=SecretStr("B7654321")))
    after = await customer_row(sessions, created.id)
    assert updated.id_number_masked == "**************4321"
    assert before is not None and after is not None and before.id_number_hash != after.id_number_hash
    untouched = await service.update(office.alice, created.id, CustomerUpdate(tier="gold"))
    assert (untouched.id_number_masked, untouched.tier) == ("**************4321", "gold")
    removed = await service.update(office.alice, created.id, CustomerUpdate(id_number=None))
    assert removed.id_number_masked is None
    row = await customer_row(sessions, created.id)
    assert row is not None and (row.id_number_hash, row.id_number_last4) == (None, None)
    details = [a.detail for a in await _audit(sessions, "update")]
    assert details == [
        {"changes": {"identity_document": "changed"}}, {"changes": {"tier": ["standard", "gold"]}},
        {"changes": {"identity_document": "removed"}},
    ]  # fmt: skip
    assert not any("4321" in str(d) or "7654321" in str(d) for d in details)
