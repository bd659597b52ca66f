"""The recycle bin: delete, restore, list, purge, automatic purge (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from crm_access_kit import PEPPER, REGION, Office, add_customer, add_grant, customer_row, make_office
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.customers.accounts import AccountBook
from crm_core.customers.directory import CustomerDirectory
from crm_core.customers.recycle import RecycleBin, purge_expired
from crm_core.customers.service import CustomerService
from crm_core.errors import AccessDenied, Conflict, NotFound
from crm_core.models import (
    Account,
    Contract,
    ContractInstallment,
    ContractLine,
    Customer,
    CustomerContact,
    Interaction,
    OwnershipHistory,
    Payment,
    PhoneNumber,
    SharingGrant,
    Transaction,
)
from crm_core.models import AuditLog as AuditRow
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore

Sessions = async_sessionmaker[AsyncSession]
CARD = "6225881234567890"


@pytest.fixture
async def office(sessions: Sessions) -> Office:
    return await make_office(sessions)


@pytest.fixture
def recycle(sessions: Sessions) -> RecycleBin:
    return RecycleBin(sessions)


async def _audit(sessions: Sessions, action: str) -> list[AuditRow]:
    async with sessions() as session:
        query = select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id)
        return list((await session.scalars(query)).all())


async def test_deleted_customer_never_pops_and_comes_back_on_restore(
    sessions: Sessions, office: Office, recycle: RecycleBin
) -> None:
    customer = await add_customer(sessions, "Binned", office.alice, phone="13812345678")
    await AccountBook(sessions, PEPPER).open_account(customer, type="card", number=CARD)
    directory = CustomerDirectory(sessions)
    assert [c.id for c in await directory.lookup_by_caller_id("13812345678", REGION)] == [customer]

    entry = await recycle.delete(office.alice, customer)
    assert (entry.id, entry.name, entry.owner_login, entry.deleted_by_login) == (
        customer,
        "Binned",
        "alice",
        "alice",
    )
    assert entry.purge_after is not None and entry.purge_after - entry.deleted_at == timedelta(days=30)
    assert await directory.lookup_by_caller_id("+86 138 1234 5678", REGION) == []
    assert await directory.card(customer) is None
    assert await AccountBook(sessions, PEPPER).customer_for_number(CARD) is None
    service = CustomerService(sessions, PEPPER, REGION)
    with pytest.raises(NotFound):
        await service.get(office.alice, customer)
    assert (await service.list(office.alice)).total == 0
    seen_by_admin = await service.get(office.root, customer)  # admins see into the bin
    assert (seen_by_admin.name, seen_by_admin.deleted_at) == ("Binned", entry.deleted_at)

    restored = await recycle.restore(office.alice, customer)
    assert (restored.id, restored.owner_login, restored.phone_masked) == (customer, "alice", "*******5678")
    row = await customer_row(sessions, customer)
    assert row is not None and (row.deleted_at, row.deleted_by_id, row.purge_after) == (None, None, None)
    assert [c.id for c in await directory.lookup_by_caller_id("13812345678", REGION)] == [customer]
    assert [(a.actor_login, a.entity_id) for a in await _audit(sessions, "delete")] == [
        ("alice", str(customer))
    ]
    assert [(a.actor_login, a.entity_id) for a in await _audit(sessions, "restore")] == [
        ("alice", str(customer))
    ]


async def test_delete_needs_write_access(sessions: Sessions, office: Office, recycle: RecycleBin) -> None:
    customer = await add_customer(sessions, "Guarded", office.alice)
    await add_grant(sessions, customer, user=office.bob, access="read")
    await add_grant(sessions, customer, user=office.carol, access="write")
    with pytest.raises(AccessDenied):
        await recycle.delete(office.bob, customer)
    with pytest.raises(AccessDenied):  # exists, not visible to him
        await recycle.delete(office.dan, customer)
    pooled = await add_customer(sessions, "Pool", None)
    with pytest.raises(AccessDenied):  # the pool is readable, not writable
        await recycle.delete(office.dan, pooled)
    assert (await recycle.delete(office.carol, customer)).deleted_by_login == "carol"
    with pytest.raises(NotFound):
        await recycle.delete(office.carol, customer)
    with pytest.raises(Conflict):
        await recycle.delete(office.root, customer)
    with pytest.raises(NotFound):  # a write grantee may delete, but only owner, supervisor, admin restore
        await recycle.restore(office.carol, customer)


async def test_purge_delay_comes_from_the_parameter(sessions: Sessions, office: Office) -> None:
    parameters = ParameterStore(sessions)
    await parameters.set(office.root, "recycle.purge_after_days", 7, "shorter retention")
    customer = await add_customer(sessions, "Short stay", office.alice)
    entry = await RecycleBin(sessions, parameters).delete(office.alice, customer)
    assert entry.purge_after is not None and entry.purge_after - entry.deleted_at == timedelta(days=7)
    [deleted] = await _audit(sessions, "delete")
    assert deleted.detail is not None and "purge_after" in deleted.detail


async def test_who_sees_and_restores_what(sessions: Sessions, office: Office, recycle: RecycleBin) -> None:
    alices = await add_customer(sessions, "Alice's", office.alice)
    bobs = await add_customer(sessions, "Bob's", office.bob)
    carols = await add_customer(sessions, "Carol's", office.carol)
    pooled = await add_customer(sessions, "Pool", None)
    for actor, customer in (
        (office.alice, alices),
        (office.bob, bobs),
        (office.carol, carols),
        (office.root, pooled),
    ):
        await recycle.delete(actor, customer)

    async def names(actor: object) -> set[str]:
        return {e.name for e in (await recycle.list_deleted(actor)).items}  # type: ignore[arg-type]

    assert await names(office.alice) == {"Alice's"}
    assert await names(office.sam) == {"Alice's", "Bob's"}
    assert await names(office.sue) == {"Carol's"}
    assert await names(office.dan) == set()
    assert await names(office.root) == {"Alice's", "Bob's", "Carol's", "Pool"}
    page = await recycle.list_deleted(office.root, page=2, page_size=3)
    assert (page.total, len(page.items)) == (4, 1)

    for actor, customer in (
        (office.bob, alices),
        (office.sue, bobs),
        (office.sam, carols),
        (office.alice, pooled),
    ):
        with pytest.raises(NotFound):
            await recycle.restore(actor, customer)
    assert (await recycle.restore(office.sam, bobs)).name == "Bob's"
    assert (await recycle.restore(office.root, pooled)).status == "public"
    with pytest.raises(Conflict):
        await recycle.restore(office.root, pooled)
    with pytest.raises(NotFound):
        await recycle.restore(office.root, 999_999)


async def _dependents(sessions: Sessions, office: Office, customer: int) -> None:
    async with sessions() as session, session.begin():
        account = await session.scalar(select(Account).where(Account.customer_id == customer))
        assert account is not None
        session.add(
            Transaction(
                account_id=account.id,
                customer_id=customer,
                occurred_at=utcnow(),
                amount=Decimal("-12.30"),
                channel="pos",
            )
        )
        contract = Contract(
            number="C-1",
            customer_id=customer,
            title="Loan",
            product_type="loan",
            amount=Decimal("1000.00"),
            start_on=date(2026, 1, 1),
            end_on=date(2027, 1, 1),
        )
        session.add(contract)
        await session.flush()
        money = Decimal("1000.00")
        session.add_all(
            [
                ContractLine(contract_id=contract.id, product="loan", unit_price=money, amount=money),
                ContractInstallment(contract_id=contract.id, due_on=date(2026, 6, 1), amount=money / 2),
                Payment(
                    contract_id=contract.id, received_on=date(2026, 2, 1), amount=money, method="transfer"
                ),
                CustomerContact(customer_id=customer, name="Spouse"),
                OwnershipHistory(customer_id=customer, to_owner_id=office.alice.user_id, action="create"),
                Interaction(call_id=None, channel="visit", customer_id=customer, content="Visited at home"),
                Interaction(
                    call_id="1700000000.1",
                    customer_id=customer,
                    content="Asked about the loan",
                    talk_seconds=61.0,
                ),
            ]
        )
    await add_grant(sessions, customer, user=office.bob, access="read")


async def _count(sessions: Sessions, model: type, customer: int | None = None) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(model)
        if customer is not None:
            query = query.where(model.customer_id == customer)  # type: ignore[attr-defined]
        return int(await session.scalar(query) or 0)


async def test_admin_purges_the_customer_and_everything_it_owns(
    sessions: Sessions, office: Office, recycle: RecycleBin
) -> None:
    customer = await add_customer(sessions, "Purged Pan", office.alice, phone="13812345678")
    kept = await add_customer(sessions, "Kept", office.alice, phone="13812345678")
    await AccountBook(sessions, PEPPER).open_account(customer, type="card", number=CARD)
    await _dependents(sessions, office, customer)
    with pytest.raises(Conflict):
        await recycle.purge(office.root, customer)  # not in the bin yet
    await recycle.delete(office.alice, customer)
    for actor in (office.alice, office.sam):
        with pytest.raises(AccessDenied):
            await recycle.purge(actor, customer)
    await recycle.purge(office.root, customer)
    assert await customer_row(sessions, customer) is None
    for model in (
        PhoneNumber,
        Account,
        Transaction,
        CustomerContact,
        SharingGrant,
        OwnershipHistory,
        Contract,
    ):
        assert await _count(sessions, model, customer) == 0, model.__name__
    for child in (ContractLine, ContractInstallment, Payment):
        assert await _count(sessions, child) == 0, child.__name__
    async with sessions() as session:
        [call] = (await session.scalars(select(Interaction))).all()
    assert (call.call_id, call.customer_id, call.content, call.talk_seconds) == (
        "1700000000.1",
        None,
        None,
        61.0,
    )
    assert [c.id for c in await CustomerDirectory(sessions).lookup_by_caller_id("13812345678", REGION)] == [
        kept
    ]
    [purge] = await _audit(sessions, "purge")
    assert (purge.actor_login, purge.entity, purge.entity_id) == ("root", "customer", str(customer))
    assert (
        purge.detail is not None
        and purge.detail["name"] == "Purged Pan"
        and purge.detail["owner_login"] == "alice"
    )
    assert "7890" not in str(purge.detail) and CARD not in str(purge.detail)
    with pytest.raises(NotFound):
        await recycle.purge(office.root, customer)


async def test_automatic_purge_is_due_only_and_idempotent(
    sessions: Sessions, office: Office, recycle: RecycleBin
) -> None:
    old = await add_customer(sessions, "Old", office.alice)
    recent = await add_customer(sessions, "Recent", office.alice)
    live = await add_customer(sessions, "Live", office.alice)
    await recycle.delete(office.alice, old)
    await recycle.delete(office.alice, recent)
    async with sessions() as session, session.begin():
        row = await session.get(Customer, old)
        assert row is not None
        row.purge_after = utcnow() - timedelta(minutes=1)

    async def run() -> int:
        async with sessions() as session, session.begin():
            return await purge_expired(session, utcnow())

    assert await run() == 1
    assert await run() == 0
    assert await customer_row(sessions, old) is None
    assert await customer_row(sessions, recent) is not None and await customer_row(sessions, live) is not None
    [purge] = await _audit(sessions, "purge")
    assert (purge.actor_login, purge.actor_id, purge.entity_id) == ("recycle-purge", None, str(old))
    async with sessions() as session, session.begin():
        assert await purge_expired(session, utcnow() + timedelta(days=31)) == 1  # "Recent", 30 days on
    assert await customer_row(sessions, live) is not None


async def test_directory_soft_delete_goes_through_the_bin(sessions: Sessions, office: Office) -> None:
    customer = await add_customer(sessions, "Legacy", office.alice)
    directory = CustomerDirectory(sessions)
    assert await directory.soft_delete(customer) is True
    assert await directory.soft_delete(customer) is False
    assert await directory.soft_delete(123_456) is False
    row = await customer_row(sessions, customer)
    assert row is not None and row.deleted_at is not None and row.purge_after is not None
    [deleted] = await _audit(sessions, "delete")
    assert (deleted.actor_login, deleted.actor_id) == ("system", None)
