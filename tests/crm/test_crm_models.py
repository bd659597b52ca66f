"""The 0002 schema on both backends: append-only audit log, constraints, upgrade of existing data."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core.db import create_engine, downgrade, session_factory, upgrade
from crm_core.models import (
    Agent,
    AuditLog,
    Base,
    Contract,
    ContractInstallment,
    ContractLine,
    Customer,
    Interaction,
    Payment,
    SharingGrant,
    Team,
)


def _agent(login: str, role: str = "agent") -> Agent:
    return Agent(login=login, name=login, password_hash="x", extension="1", device="PJSIP/1", role=role)


async def _audit_row(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session, session.begin():
        row = AuditLog(actor_login="alice", action="view", entity="customer", entity_id="7", detail={"a": 1})
        session.add(row)
        await session.flush()
        return row.id


async def test_audit_log_rejects_update_and_delete(
    sessions: async_sessionmaker[AsyncSession],
    crm_engine: AsyncEngine,
    clear_crm_tables: Callable[[AsyncEngine], Awaitable[None]],
) -> None:
    row_id = await _audit_row(sessions)
    for statement in (
        update(AuditLog).where(AuditLog.id == row_id).values(action="delete"),
        delete(AuditLog).where(AuditLog.id == row_id),
    ):
        with pytest.raises(DBAPIError, match="audit_log is append-only"):
            async with sessions() as session, session.begin():
                await session.execute(statement)
    async with sessions() as session:
        stored = await session.get_one(AuditLog, row_id)
    assert (stored.action, stored.detail, stored.at.tzinfo is not None) == ("view", {"a": 1}, True)
    # The test helper empties the log and leaves the guard in place.
    await clear_crm_tables(crm_engine)
    row_id = await _audit_row(sessions)
    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        async with sessions() as session, session.begin():
            await session.execute(delete(AuditLog))


async def test_sharing_grant_names_exactly_one_grantee(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        agent, team, customer = _agent("bob"), Team(name="North"), Customer(name="C", status="public")
        session.add_all([agent, team, customer])
        await session.flush()
        ids = (customer.id, agent.id, team.id)
    customer_id, agent_id, team_id = ids
    for user, team_ref in ((agent_id, team_id), (None, None)):
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                session.add(
                    SharingGrant(
                        customer_id=customer_id, grantee_user_id=user, grantee_team_id=team_ref, access="read"
                    )
                )
    async with sessions() as session, session.begin():
        session.add(SharingGrant(customer_id=customer_id, grantee_team_id=team_id, access="write"))
        session.add(SharingGrant(customer_id=customer_id, grantee_user_id=agent_id, access="read"))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(SharingGrant(customer_id=customer_id, grantee_user_id=agent_id, access="admin"))


async def test_customer_value_sets_are_enforced(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        customer = Customer(name="C", status="public")
        session.add(customer)
    assert (customer.deal_status, customer.source) == ("none", "branch")
    for bad in ({"deal_status": "maybe"}, {"source": "pigeon"}, {"status": "gone"}):
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                session.add(Customer(name="D", **bad))


async def test_follow_ups_without_a_call_do_not_collide(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        session.add_all(
            [
                Interaction(channel="visit", content="met at branch", next_contact_on=date(2026, 1, 5)),
                Interaction(channel="email", content="sent rates"),
                Interaction(call_id="1700000000.1"),
            ]
        )
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(Interaction(call_id="1700000000.1"))
    async with sessions() as session:
        rows = (await session.scalars(select(Interaction).order_by(Interaction.id))).all()
    assert [(r.call_id, r.urgent) for r in rows] == [(None, False), (None, False), ("1700000000.1", False)]
    assert rows[0].next_contact_on == date(2026, 1, 5)


async def test_contract_money_is_exact_and_children_cascade(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        customer = Customer(name="C", status="public")
        contract = Contract(
            number="C-1", customer=customer, title="Loan", product_type="loan", amount=Decimal("100000.10"),
            start_on=date(2025, 1, 1), end_on=date(2026, 1, 1), status="active",
        )  # fmt: skip
        contract.lines = [
            ContractLine(
                product="loan", quantity=1, unit_price=Decimal("100000.10"), amount=Decimal("100000.10")
            )
        ]
        contract.installments = [ContractInstallment(due_on=date(2025, 2, 1), amount=Decimal("0.10"))]
        contract.payments = [
            Payment(received_on=date(2025, 2, 1), amount=Decimal("0.30"), method="transfer"),
            Payment(received_on=date(2025, 2, 2), amount=Decimal("-0.20"), method="refund"),
        ]
        session.add(contract)
    async with sessions() as session:
        amounts = (await session.scalars(select(Payment.amount).order_by(Payment.id))).all()
    assert amounts == [Decimal("0.30"), Decimal("-0.20")] and sum(amounts) == Decimal("0.10")
    async with sessions() as session, session.begin():
        await session.execute(delete(Customer))  # a purge: contracts and their rows go with it
    async with sessions() as session:
        for model in (Contract, ContractLine, ContractInstallment, Payment):
            assert (await session.scalars(select(model))).all() == []


async def test_team_and_agent_reference_each_other(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        boss = _agent("super1", "supervisor")
        session.add(boss)
        await session.flush()
        team = Team(name="South", supervisor_id=boss.id)
        session.add(team)
        await session.flush()
        carol = _agent("carol")
        carol.team_id = team.id
        session.add(carol)
    async with sessions() as session, session.begin():
        await session.execute(delete(Team))  # members stay, without a team
    async with sessions() as session:
        assert (await session.scalars(select(Agent.team_id).where(Agent.login == "carol"))).one() is None


async def test_upgrade_keeps_existing_data(fresh_db_url: str) -> None:
    await upgrade(fresh_db_url, "0001")
    engine = create_engine(fresh_db_url)
    try:
        async with engine.begin() as connection:
            for statement in (
                "INSERT INTO agents (id, login, name, password_hash, extension, device, role, queues, active)"
                " VALUES (1, 'alice', 'Alice', 'x', '101', 'PJSIP/101', 'agent', '[]', true)",
                "INSERT INTO customers (id, name, kind, tier, owner_agent_id, status)"
                " VALUES (1, '王伟', 'individual', 'vip', 1, 'owned')",
                "INSERT INTO phone_numbers (customer_id, raw, e164, type, is_primary)"
                " VALUES (1, '13800000000', '+8613800000000', 'mobile', true)",
                "INSERT INTO interactions (call_id, channel, direction, customer_id, agent_id)"
                " VALUES ('c1', 'phone', 'inbound', 1, 1)",
            ):
                await connection.execute(text(statement))
        await upgrade(fresh_db_url)
        await _assert_v1_rows_intact(session_factory(engine))
        async with session_factory(engine)() as session:
            customer = await session.get_one(Customer, 1)
        assert (customer.deal_status, customer.source, customer.owner_agent_id) == ("none", "branch", 1)
        await downgrade(fresh_db_url, "0001")
        async with engine.connect() as connection:
            phones = (await connection.execute(text("SELECT count(*) FROM phone_numbers"))).scalar()
            owner = (await connection.execute(text("SELECT owner_agent_id FROM customers"))).scalar()
        assert (phones, owner) == (1, 1)
    finally:
        await engine.dispose()


async def _assert_v1_rows_intact(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        assert (await session.scalars(select(Customer.name))).all() == ["王伟"]
        assert (await session.scalars(select(Interaction.agent_id))).all() == [1]
        count = await session.scalar(text("SELECT count(*) FROM phone_numbers"))
    assert count == 1


def test_metadata_sorts_without_a_cycle_warning() -> None:
    # teams.supervisor_id -> agents and agents.team_id -> teams form a cycle; use_alter on agents.team_id
    # breaks it, so creating, dropping and clearing tables in dependency order needs no guess.
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        order = [table.name for table in Base.metadata.sorted_tables]
    assert order.index("agents") < order.index("customers")
