"""CustomerService phones and contacts; protection caps on new customers (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from crm_access_kit import PEPPER, REGION, Office, add_customer, add_grant, make_office
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.customers.directory import CustomerDirectory
from crm_core.customers.schemas import ContactInput, CustomerCreate, PhoneInput
from crm_core.customers.service import CustomerService
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import AuditLog as AuditRow
from crm_core.parameters.store import ParameterStore

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def office(sessions: Sessions) -> Office:
    return await make_office(sessions)


@pytest.fixture
def service(sessions: Sessions) -> CustomerService:
    return CustomerService(sessions, PEPPER, REGION)


async def test_phones_added_and_removed_keep_one_primary(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    customer = await add_customer(sessions, "Phones", office.alice)
    first = await service.add_phone(office.alice, customer, PhoneInput(number="13800000001"))
    assert (first.e164, first.is_primary) == ("+8613800000001", True)  # the first phone is primary
    second = await service.add_phone(
        office.alice, customer, PhoneInput(number="010 6552 9988", type="landline")
    )
    assert second.is_primary is False
    third = await service.add_phone(office.alice, customer, PhoneInput(number="13800000003", is_primary=True))
    detail = await service.get(office.alice, customer)
    assert [(p.id, p.is_primary) for p in detail.phones] == [
        (first.id, False),
        (second.id, False),
        (third.id, True),
    ]
    # The call flow finds the customer by the new number at once.
    cards = await CustomerDirectory(sessions).lookup_by_caller_id("13800000003", REGION)
    assert [c.id for c in cards] == [customer]

    await service.remove_phone(office.alice, customer, third.id)
    detail = await service.get(office.alice, customer)
    assert [(p.id, p.is_primary) for p in detail.phones] == [(first.id, True), (second.id, False)]
    with pytest.raises(NotFound):
        await service.remove_phone(office.alice, customer, third.id)
    other = await add_customer(sessions, "Other", office.alice, phone="13800000099")
    [other_phone] = (await service.get(office.alice, other)).phones
    with pytest.raises(NotFound):  # a phone of another customer
        await service.remove_phone(office.alice, customer, other_phone.id)
    with pytest.raises(InvalidInput) as raised:
        await service.add_phone(office.alice, customer, PhoneInput(number="not a phone"))
    assert raised.value.field == "number"
    async with sessions() as session:
        updates = (await session.scalars(select(AuditRow.detail).where(AuditRow.action == "update"))).all()
    assert [sorted(d) for d in updates if d] == [["e164", "phone_added"]] * 3 + [["e164", "phone_removed"]]


async def test_contacts_added_and_removed(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    company = await service.create(office.alice, CustomerCreate(name="Acme Trading Co", kind="company"))
    boss = await service.add_contact(
        office.alice,
        company.id,
        ContactInput(name="Zhou Min", title="CFO", phone="13811110000", is_primary=True),
    )
    assert (boss.phone_e164, boss.title, boss.is_primary) == ("+8613811110000", "CFO", True)
    clerk = await service.add_contact(
        office.alice, company.id, ContactInput(name="Qian Li", email="qian@acme.example", is_primary=True)
    )
    contacts = (await service.get(office.alice, company.id)).contacts
    assert [(c.id, c.is_primary) for c in contacts] == [(boss.id, False), (clerk.id, True)]
    await service.remove_contact(office.alice, company.id, boss.id)
    assert [c.id for c in (await service.get(office.alice, company.id)).contacts] == [clerk.id]
    with pytest.raises(NotFound):
        await service.remove_contact(office.alice, company.id, boss.id)
    with pytest.raises(InvalidInput) as raised:
        await service.add_contact(office.alice, company.id, ContactInput(name="X", phone="123"))
    assert raised.value.field == "phone"


async def test_parts_need_write_access(sessions: Sessions, office: Office, service: CustomerService) -> None:
    customer = await add_customer(sessions, "Guarded", office.alice, phone="13800000001")
    await add_grant(sessions, customer, user=office.bob, access="read")
    await add_grant(sessions, customer, user=office.carol, access="write")
    [phone] = (await service.get(office.alice, customer)).phones
    for attempt in (
        service.add_phone(office.bob, customer, PhoneInput(number="13800000002")),
        service.remove_phone(office.bob, customer, phone.id),
        service.add_contact(office.bob, customer, ContactInput(name="X")),
    ):
        with pytest.raises(AccessDenied):
            await attempt
    with pytest.raises(AccessDenied):  # exists, not visible to him
        await service.add_phone(office.dan, customer, PhoneInput(number="13800000002"))
    assert (
        await service.add_phone(office.carol, customer, PhoneInput(number="13800000002"))
    ).is_primary is False
    pooled = await add_customer(sessions, "Pool", None)
    with pytest.raises(AccessDenied):
        await service.add_contact(office.dan, pooled, ContactInput(name="X"))


async def test_new_customers_respect_the_protection_caps(
    sessions: Sessions, office: Office, service: CustomerService
) -> None:
    parameters = ParameterStore(sessions)
    await parameters.set(office.root, "protection.max_owned_customers", 2, "test")
    await parameters.set(office.root, "protection.max_locked_customers", 1, "test")
    capped = CustomerService(sessions, PEPPER, REGION)  # reads the parameters fresh
    await capped.create(office.alice, CustomerCreate(name="One"))
    await capped.create(office.alice, CustomerCreate(name="Two", deal_status="won"))  # deals do not count
    await capped.create(office.alice, CustomerCreate(name="Three"))
    with pytest.raises(Conflict):
        await capped.create(office.alice, CustomerCreate(name="Four"))
    assert (await capped.list(office.alice, mine=True)).total == 3
    await capped.create(office.sam, CustomerCreate(name="Locked", owner_login="bob", status="locked"))
    with pytest.raises(Conflict):
        await capped.create(office.sam, CustomerCreate(name="Locked too", owner_login="bob", status="locked"))
    assert (await capped.create(office.sam, CustomerCreate(name="Pool", status="public"))).status == "public"
