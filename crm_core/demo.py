"""Seed a demo bank: agents, a supervisor, customers with phones, accounts and history.

Idempotent: agents are keyed by login, customers by (name, primary number),
past contacts by call id, so seeding twice adds nothing.  Full account
numbers exist only in memory here; the database gets last 4 + hash.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.accounts import AccountBook
from crm_core.agents import AgentDirectory, AgentExistsError
from crm_core.coltypes import utcnow
from crm_core.demo_data import DemoCustomer, demo_agent_names, demo_customers
from crm_core.interactions import call_durations
from crm_core.models import Account, Agent, Customer, Interaction, PhoneNumber

__all__ = ["DEMO_PASSWORD", "DEMO_QUEUES", "SUPERVISOR_LOGIN", "DemoSummary", "seed_demo"]

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo"
DEMO_QUEUES = ("accounts", "cards", "general")
SUPERVISOR_LOGIN = "super1"
SUPERVISOR_EXTENSION = "1900"
_KNOWN_NUMBERS = 8


class DemoSummary(BaseModel):
    """What :func:`seed_demo` did, and what a demo needs to know."""

    model_config = ConfigDict(frozen=True)

    customers_created: int
    customers_total: int
    agents_created: int
    agents_total: int
    agent_logins: list[str]
    supervisor_login: str
    password: str
    known_numbers: list[str]  # E.164 numbers of demo customers, for the demo caller generator
    shared_number: str | None  # one landline of two customers (the several-matches screen-pop)
    message: str


def _agent_queues(index: int) -> list[str]:
    # Every agent takes "general" plus one or two specialities, so each queue has staff.
    special = [DEMO_QUEUES[index % 2], DEMO_QUEUES[(index + 1) % 2]][: 1 + index % 2]
    return [*special, "general"]


async def _seed_agents(
    sessions: async_sessionmaker[AsyncSession], count: int, seed: int
) -> tuple[int, list[str]]:
    directory = AgentDirectory(sessions)
    existing = {a.login for a in await directory.list_agents(include_inactive=True)}
    names = demo_agent_names(count + 1, seed)
    wanted = [(f"agent{i + 1}", names[i], str(1001 + i), "agent", _agent_queues(i)) for i in range(count)]
    wanted.append((SUPERVISOR_LOGIN, names[count], SUPERVISOR_EXTENSION, "supervisor", list(DEMO_QUEUES)))
    created = 0
    for login, name, extension, role, queues in wanted:
        if login in existing:
            continue
        try:
            await directory.create_agent(
                login, name, DEMO_PASSWORD, extension=extension, role=role, queues=queues
            )
        except AgentExistsError:
            continue  # a concurrent seeding got there first
        created += 1
    return created, [w[0] for w in wanted[:-1]]


def _customer_row(person: DemoCustomer, book: AccountBook, owner_id: int | None) -> Customer:
    customer = Customer(
        name=person.name, kind=person.kind, tier=person.tier, status=person.status, owner_agent_id=owner_id
    )
    customer.phones = [
        PhoneNumber(raw=p.raw, e164=p.e164, type=p.type, is_primary=p.is_primary) for p in person.phones
    ]
    customer.accounts = [
        Account(
            type=a.type,
            number_last4=a.number[-4:],
            number_hash=book.number_hash(a.number),
            balance=a.balance,
            currency="CNY",
            status="active",
        )
        for a in person.accounts
    ]
    return customer


def _contacts(
    person: DemoCustomer, customer: Customer, owner_id: int | None, skip: set[str]
) -> list[Interaction]:
    now = utcnow()
    primary = next(p for p in person.phones if p.is_primary)
    rows = []
    for contact in person.contacts:
        if contact.call_id in skip:
            continue
        arrived = now - contact.days_ago
        queued = arrived + timedelta(seconds=12)
        answered = queued + timedelta(seconds=8)
        ended = answered + timedelta(seconds=contact.talk_seconds)
        wait, talk = call_durations(queued, answered, ended)
        rows.append(
            Interaction(
                call_id=contact.call_id,
                channel="phone",
                direction="inbound",
                customer=customer,
                agent_id=owner_id,
                queue="cards" if "card" in contact.disposition else "accounts",
                caller_number=primary.raw,
                caller_e164=primary.e164,
                arrived_at=arrived,
                queued_at=queued,
                offered_at=queued + timedelta(seconds=2),
                answered_at=answered,
                ended_at=ended,
                wait_seconds=wait,
                talk_seconds=talk,
                outcome="answered",
                disposition=contact.disposition,
                notes=f"Demo: {contact.disposition}.",
            )
        )
    return rows


def _known_numbers(people: list[DemoCustomer]) -> list[str]:
    # Valuable customers first: they make the most telling screen-pops.
    rank = {"private": 0, "vip": 1, "gold": 2}
    ordered = sorted(people, key=lambda p: rank.get(p.tier, 3))
    numbers: list[str] = []
    for person in ordered:
        if person.primary_e164 not in numbers:
            numbers.append(person.primary_e164)
        if len(numbers) >= _KNOWN_NUMBERS:
            break
    return numbers


async def seed_demo(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    customers: int = 60,
    agents: int = 6,
    seed: int = 7,
    pepper: bytes | None = None,
) -> DemoSummary:
    """Fill the database with a deterministic demo bank and return a summary.

    Creates agents ``agent1``..``agent<agents>`` (extensions 1001.., devices
    ``Local/1001@agents``.., queues among accounts/cards/general) and the
    supervisor ``super1``, all with password ``demo``, then ``customers``
    customers generated from ``seed``.  ``pepper`` is the install's account
    number pepper (see :func:`crm_core.accounts.load_or_create_pepper`);
    without it a throw-away one is used and demo account numbers cannot be
    found by number later.  Raises :class:`ValueError` for negative counts.
    """
    if customers < 0 or agents < 1:
        raise ValueError("customers must be >= 0 and agents >= 1")
    agents_created, logins = await _seed_agents(session_factory, agents, seed)
    book = AccountBook(session_factory, pepper or secrets.token_bytes(32))
    people = demo_customers(customers, agents, seed)
    created = 0
    async with session_factory() as session, session.begin():
        agent_ids = {login: id_ for login, id_ in await session.execute(select(Agent.login, Agent.id))}
        primaries = await session.execute(
            select(Customer.name, PhoneNumber.e164)
            .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
            .where(PhoneNumber.is_primary.is_(True))
        )
        known = {(name, e164) for name, e164 in primaries}
        call_ids = [c.call_id for p in people for c in p.contacts]
        skip = set(
            (
                await session.scalars(select(Interaction.call_id).where(Interaction.call_id.in_(call_ids)))
            ).all()
        )
        for person in people:
            if (person.name, person.primary_e164) in known:
                continue
            owner_id = None if person.owner_index is None else agent_ids.get(logins[person.owner_index])
            customer = _customer_row(person, book, owner_id)
            session.add(customer)
            session.add_all(_contacts(person, customer, owner_id, skip))
            created += 1
    async with session_factory() as session:
        customers_total = int(
            await session.scalar(
                select(func.count()).select_from(Customer).where(Customer.deleted_at.is_(None))
            )
            or 0
        )
        agents_total = int(await session.scalar(select(func.count()).select_from(Agent)) or 0)
    shared = next((p.e164 for p in people[0].phones if not p.is_primary), None) if len(people) > 1 else None
    summary = DemoSummary(
        customers_created=created,
        customers_total=customers_total,
        agents_created=agents_created,
        agents_total=agents_total,
        agent_logins=logins,
        supervisor_login=SUPERVISOR_LOGIN,
        password=DEMO_PASSWORD,
        known_numbers=_known_numbers(people),
        shared_number=shared,
        message=(
            f"demo agents {logins[0]}..{logins[-1]} and supervisor {SUPERVISOR_LOGIN} "
            f"have password '{DEMO_PASSWORD}'"
        ),
    )
    log.info(
        "demo.seeded",
        extra={
            "customers_created": created,
            "customers_total": customers_total,
            "agents_created": agents_created,
        },
    )
    return summary
