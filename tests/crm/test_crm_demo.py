"""The demo bank: deterministic, idempotent, realistic enough for a screen-pop demo."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.accounts import AccountBook
from crm_core.agents import AgentDirectory
from crm_core.customers import CustomerDirectory
from crm_core.demo import DEMO_PASSWORD, seed_demo
from crm_core.demo_data import demo_customers
from crm_core.interactions import InteractionWriter
from crm_core.models import Account, Customer, PhoneNumber
from crm_core.phones import normalize

PEPPER = b"d" * 32

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, ...]:
    async with sessions() as session:
        return tuple(
            [
                int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Customer, PhoneNumber, Account)
            ]
        )


async def test_seed_twice_gives_the_same_counts(sessions: async_sessionmaker[AsyncSession]) -> None:
    first = await seed_demo(sessions, pepper=PEPPER)
    counts = await _counts(sessions)
    interactions = await InteractionWriter(sessions).count()
    second = await seed_demo(sessions, pepper=PEPPER)
    assert (first.customers_created, first.agents_created) == (60, 7)
    assert (second.customers_created, second.agents_created) == (0, 0)
    assert second.customers_total == first.customers_total == 60
    assert second.agents_total == first.agents_total == 7
    assert await _counts(sessions) == counts
    assert await InteractionWriter(sessions).count() == interactions > 0
    assert first.known_numbers == second.known_numbers


async def test_demo_agents_log_in_with_demo(sessions: async_sessionmaker[AsyncSession]) -> None:
    summary = await seed_demo(sessions, customers=50, agents=5, pepper=PEPPER)
    assert summary.customers_total >= 50
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
    assert {q for p in profiles for q in p.queues} == {"accounts", "cards", "general"}


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
