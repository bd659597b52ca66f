"""The demo bank: deterministic, idempotent, realistic enough for a screen-pop demo."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.accounts import AccountBook
from crm_core.customers.directory import CustomerDirectory
from crm_core.customers.id_numbers import id_number_hash
from crm_core.customers.phones import normalize
from crm_core.demo.data import demo_customers
from crm_core.demo.seed import DEMO_PASSWORD, DEMO_TEAMS, DemoSummary, seed_demo
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import (
    CONTRACT_STATUSES,
    Account,
    Agent,
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
    Team,
    Transaction,
)
from crm_core.models.coltypes import utcnow

PEPPER = b"d" * 32

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


TABLE_MODELS = (
    Team, Agent, Customer, PhoneNumber, Account, Transaction, CustomerContact, Interaction, OwnershipHistory,
    SharingGrant, Contract, ContractLine, ContractInstallment, Payment,
)  # fmt: skip


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> tuple[tuple[int, ...], object, object]:
    async with sessions() as session:
        counts = [int(await session.scalar(select(func.count()).select_from(m)) or 0) for m in TABLE_MODELS]
        customers = (
            await session.execute(
                select(Customer.id, Customer.status, Customer.owner_agent_id, Customer.updated_at).order_by(
                    Customer.id
                )
            )
        ).all()
        teams = (await session.execute(select(Agent.login, Agent.team_id).order_by(Agent.id))).all()
    return tuple(counts), customers, teams


async def test_seed_twice_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    first = await seed_demo(sessions, pepper=PEPPER)
    before = await _snapshot(sessions)
    interactions = await InteractionWriter(sessions).count()
    second = await seed_demo(sessions, pepper=PEPPER)
    deleted = sum(1 for p in demo_customers(60, 6, 7) if p.deleted_ago is not None)
    assert deleted > 0
    assert (first.customers_created, first.agents_created) == (60, 8)  # 6 agents, super1, admin1
    assert (second.customers_created, second.agents_created) == (0, 0)
    assert second.customers_total == first.customers_total == 60 - deleted  # the recycle bin aside
    assert second.agents_total == first.agents_total == 8
    assert await _snapshot(sessions) == before
    assert all(count > 0 for count in before[0])  # every table has demo rows
    assert await InteractionWriter(sessions).count() == interactions > 0
    assert first.known_numbers == second.known_numbers


async def test_demo_agents_log_in_with_demo(sessions: async_sessionmaker[AsyncSession]) -> None:
    summary = await seed_demo(sessions, customers=50, agents=5, pepper=PEPPER)
    assert summary.customers_total >= 45
    assert summary.agent_logins == ["agent1", "agent2", "agent3", "agent4", "agent5"]
    assert summary.password == DEMO_PASSWORD == "demo" and "demo" in summary.message
    directory = AgentDirectory(sessions)
    profiles = await directory.list_agents()
    assert len(profiles) >= 5
    agent1 = await directory.authenticate("agent1", "demo")
    assert agent1 is not None
    assert (agent1.extension, agent1.device) == ("1001", "Local/1001@agents")
    assert "general" in agent1.queues
    super1 = await directory.authenticate(summary.supervisor_login, "demo")
    assert super1 is not None and super1.role == "supervisor"
    assert {q for p in profiles for q in p.queues} == {"accounts", "cards", "general", "priority"}


async def test_known_numbers_pop_demo_customers(sessions: async_sessionmaker[AsyncSession]) -> None:
    summary = await seed_demo(sessions, pepper=PEPPER)
    directory = CustomerDirectory(sessions)
    assert len(summary.known_numbers) >= 5
    for number in summary.known_numbers:
        cards = await directory.lookup_by_caller_id(number, "CN")
        assert cards, number
        for card in cards:
            assert card.accounts and all(a.masked_number.startswith("**** ") for a in card.accounts)
    assert summary.shared_number is not None
    assert len(await directory.lookup_by_caller_id(summary.shared_number, "CN")) == 2
    first = (await directory.lookup_by_caller_id(summary.known_numbers[0], "CN"))[0]
    assert first.tier in {"private", "vip"}  # the most valuable customers come first


async def test_demo_account_numbers_are_hashed_with_the_pepper(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=10, pepper=PEPPER)
    person = demo_customers(10, 6, 7)[3]
    found = await AccountBook(sessions, PEPPER).customer_for_number(person.accounts[0].number)
    cards = await CustomerDirectory(sessions).lookup_by_caller_id(person.primary_e164, "CN")
    assert found is not None and found in {c.id for c in cards}


def test_demo_data_is_deterministic_and_realistic() -> None:
    people = demo_customers(200, 6, 7)
    assert people == demo_customers(200, 6, 7)
    assert people != demo_customers(200, 6, 8)
    assert demo_customers(60, 6, 7) == people[:60]
    assert len({(p.name, p.primary_e164) for p in people}) == 200
    for person in people:
        for phone in person.phones:
            assert normalize(phone.raw, "CN") == phone.e164
        assert 1 <= len(person.accounts) <= 3
    assert any(len(p.phones) == 2 for p in people[2:])
    assert any(p.kind == "company" for p in people)
    assert any(ord(p.name[0]) > 0x3000 for p in people) and any(p.name[0].isascii() for p in people)
    assert any(
        ph.type == "landline" and ph.e164.startswith(("+8610", "+8621")) for p in people for ph in p.phones
    )
    # Pareto: the top fifth of customers hold most of the assets; standard is the largest tier.
    assets = sorted(
        (sum((a.balance for a in p.accounts if a.type in {"deposit", "wealth"}), Decimal(0)) for p in people),
        reverse=True,
    )
    assert sum(assets[:40]) / sum(assets) > Decimal("0.7")
    tiers = [p.tier for p in people]
    assert tiers.count("standard") > len(people) / 2
    assert 0 < tiers.count("private") + tiers.count("vip") < len(people) / 4


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession]) -> DemoSummary:
    return await seed_demo(sessions, pepper=PEPPER)


async def _all(sessions: async_sessionmaker[AsyncSession], model: type[Any]) -> list[Any]:
    async with sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_teams_are_supervised_by_super1(
    sessions: async_sessionmaker[AsyncSession], seeded: DemoSummary
) -> None:
    teams = await _all(sessions, Team)
    agents = {a.login: a for a in await _all(sessions, Agent)}
    assert [t.name for t in teams] == seeded.teams == list(DEMO_TEAMS)
    assert {t.supervisor_id for t in teams} == {agents[seeded.supervisor_login].id}
    members = {t.id: {a.login for a in agents.values() if a.team_id == t.id} for t in teams}
    assert members == {
        teams[0].id: {"agent1", "agent3", "agent5"},
        teams[1].id: {"agent2", "agent4", "agent6"},
    }


async def test_ownership_pool_locks_shares_and_recycle_bin(
    sessions: async_sessionmaker[AsyncSession], seeded: DemoSummary
) -> None:
    customers = await _all(sessions, Customer)
    history = await _all(sessions, OwnershipHistory)
    live = [c for c in customers if c.deleted_at is None]
    public = [c for c in live if c.status == "public"]
    assert 0.08 < len(public) / len(live) < 0.25
    assert all(c.owner_agent_id is None and c.owned_since is None for c in public)
    released = [c for c in public if c.previous_owner_id is not None]
    assert released and all(c.released_at is not None for c in released)
    owned = [c for c in customers if c.status in {"owned", "locked"}]
    assert all(c.owner_agent_id is not None and c.owned_since is not None for c in owned)
    assert any(c.status == "locked" for c in live)
    # The history replays to the current owner; every change names an action the schema knows.
    for customer in customers:
        events = sorted((h for h in history if h.customer_id == customer.id), key=lambda h: (h.at, h.id))
        assert events and events[0].action in {"create", "import"} and events[0].from_owner_id is None
        assert events[-1].to_owner_id == customer.owner_agent_id, customer.name
        for earlier, later in itertools.pairwise(events):
            assert later.from_owner_id == earlier.to_owner_id
        if customer.status == "locked":
            assert events[-1].action == "lock"
        if customer.released_at is not None:
            assert (events[-1].action, events[-1].from_owner_id) == ("release", customer.previous_owner_id)
    assert {h.action for h in history} >= {"create", "claim", "assign", "release", "lock"}
    # Shares: read and write, to a user and to a team, one already expired.
    grants = await _all(sessions, SharingGrant)
    now = utcnow()
    assert {g.access for g in grants} == {"read", "write"}
    assert any(g.grantee_team_id is not None for g in grants)
    assert any(g.expires_at is not None and g.expires_at < now for g in grants)
    assert any(g.grantee_user_id is not None and (g.expires_at is None or g.expires_at > now) for g in grants)
    by_id = {c.id: c for c in customers}
    assert all(g.granted_by_id == by_id[g.customer_id].owner_agent_id for g in grants)
    # The recycle bin: deleted, by whom, purge date; never popped on a call.
    deleted = [c for c in customers if c.deleted_at is not None]
    assert deleted and all(c.deleted_by_id is not None for c in deleted)
    assert all(c.purge_after == c.deleted_at + timedelta(days=30) for c in deleted)  # type: ignore[operator]
    directory = CustomerDirectory(sessions)
    async with sessions() as session:
        for customer in deleted:
            e164 = await session.scalar(
                select(PhoneNumber.e164).where(PhoneNumber.customer_id == customer.id, PhoneNumber.is_primary)
            )
            assert await directory.lookup_by_caller_id(e164, "CN") == []
    assert not {n for n in seeded.known_numbers} & {
        p.primary_e164 for p in demo_customers(60, 6, 7) if p.deleted_ago
    }


async def test_contracts_cover_every_status_with_exact_money(
    sessions: async_sessionmaker[AsyncSession], seeded: DemoSummary
) -> None:
    contracts = await _all(sessions, Contract)
    lines = await _all(sessions, ContractLine)
    plan = await _all(sessions, ContractInstallment)
    payments = await _all(sessions, Payment)
    assert {c.status for c in contracts} == set(CONTRACT_STATUSES)
    received: dict[int, Decimal] = {}
    for p in payments:
        assert isinstance(p.amount, Decimal) and p.amount.as_tuple().exponent == -2
        received[p.contract_id] = received.get(p.contract_id, Decimal(0)) + p.amount
    for contract in contracts:
        own_lines = [line for line in lines if line.contract_id == contract.id]
        assert own_lines and all(line.amount == line.quantity * line.unit_price for line in own_lines)
        assert sum(line.amount for line in own_lines) == contract.amount  # exact to the cent
        assert sum(i.amount for i in plan if i.contract_id == contract.id) == contract.amount
        assert contract.start_on < contract.end_on
        paid = received.get(contract.id, Decimal(0))
        if contract.status in {"draft", "pending", "approved", "rejected"}:
            assert paid == 0 and contract.signed_on is None
        else:
            assert contract.signed_on == contract.start_on and contract.approved_by_id is not None
    fully = [c for c in contracts if received.get(c.id) == c.amount]
    partly = [c for c in contracts if 0 < received.get(c.id, Decimal(0)) < c.amount]
    assert fully and partly
    assert len([p for p in payments if p.amount < 0]) == 1
    today = utcnow().date()
    assert all(p.received_on <= today for p in payments)
    active = [c for c in contracts if c.status == "active"]
    assert all(c.start_on <= today < c.end_on for c in active)
    assert any(c.end_on <= today + timedelta(days=30) for c in active)  # an expiry reminder to show
    assert all(c.end_on < today for c in contracts if c.status == "expired")
    renewals = [c for c in contracts if c.is_renewal]
    assert all(c.renewed_from_id is not None for c in renewals)
    customers = {c.id: c for c in await _all(sessions, Customer)}
    won = {c.customer_id for c in contracts if c.status in {"active", "expired", "terminated"}}
    assert all(customers[i].deal_status == "won" and customers[i].last_deal_at is not None for i in won)


async def test_follow_ups_transactions_and_id_numbers(
    sessions: async_sessionmaker[AsyncSession], seeded: DemoSummary
) -> None:
    interactions = await _all(sessions, Interaction)
    today, now = utcnow().date(), utcnow()
    assert {i.channel for i in interactions} >= {"visit", "phone", "email", "sms"}
    due = [i.next_contact_on for i in interactions if i.next_contact_on is not None]
    assert today in due and any(d < today for d in due) and any(d > today for d in due)
    assert all(i.content for i in interactions)
    customers = await _all(sessions, Customer)
    for customer in customers:
        moments = [i.arrived_at for i in interactions if i.customer_id == customer.id]
        assert customer.last_follow_up_at == (max(moments) if moments else None)
    # Fresh demo data sits inside the default protection limits: the release job has nothing to do today.
    for c in customers:
        if c.status == "owned" and c.deleted_at is None:
            assert c.owned_since is not None
            assert now - max(c.owned_since, c.last_follow_up_at or c.owned_since) < timedelta(days=30)
            assert now - max(c.owned_since, c.last_deal_at or c.owned_since) < timedelta(days=90)
    transactions = await _all(sessions, Transaction)
    accounts = {a.id: a for a in await _all(sessions, Account)}
    assert len(transactions) > 20 * len(customers)
    assert all(accounts[t.account_id].customer_id == t.customer_id for t in transactions)
    assert all(now - timedelta(days=366) < t.occurred_at <= now for t in transactions)
    assert {t.customer_initiated for t in transactions} == {True, False}
    assert {t.channel for t in transactions} >= {"transfer", "pos", "mobile", "online", "atm"}
    assert all(isinstance(t.amount, Decimal) and t.amount != 0 for t in transactions)
    # ID numbers: peppered hash and last four only; companies have contacts.
    people = {p.name: p for p in demo_customers(60, 6, 7)}
    for customer in customers:
        digest, last4 = id_number_hash(PEPPER, people[customer.name].id_number)
        assert (customer.id_number_hash, customer.id_number_last4) == (digest, last4)
    contacts = await _all(sessions, CustomerContact)
    companies = {c.id for c in customers if c.kind == "company"}
    assert contacts and {c.customer_id for c in contacts} == companies
    assert {c.deal_status for c in customers} >= {"none", "won", "negotiating"}
    assert len({c.source for c in customers}) >= 4
