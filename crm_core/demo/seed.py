"""Seed a demo bank: teams, agents, a supervisor, and customers with everything a CRM holds.

Each customer comes with phones, accounts and 12 months of transactions, an
ID number, ownership history, follow-ups (some due today, some overdue),
contracts in every status with plans and payments, and a few shares; some
sit in the public pool, some are locked, some in the recycle bin.

Idempotent: teams are keyed by name, agents by login, customers by (name,
primary number), past calls by call id, and everything else is created only
with its customer, so seeding twice adds nothing.  Full account and ID
numbers exist only in memory here; the database gets last 4 + hash.  Every
deposit and card account has the IVR PIN :data:`DEMO_PIN`; the summary
lists a few full numbers (``demo_accounts``) to try the IVR with.
"""

from __future__ import annotations

import logging
import secrets

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contact_center.agents import AgentDirectory, AgentExistsError
from crm_core.customers.accounts import AccountBook
from crm_core.demo.commission import seed_demo_commission
from crm_core.demo.data import DemoCustomer, demo_agent_names, demo_customers
from crm_core.demo.rows import (
    DEMO_PIN,
    DemoClock,
    DemoIds,
    contract_rows,
    customer_row,
    follow_up_rows,
    history_rows,
    transaction_rows,
)
from crm_core.demo.story import DEMO_TEAMS, team_of
from crm_core.models import Agent, Customer, Interaction, PhoneNumber, Team, Transaction
from crm_core.models.coltypes import utcnow
from crm_core.selfservice.schemas import PIN_ACCOUNT_TYPES

__all__ = [
    "ADMIN_LOGIN",
    "DEMO_PASSWORD",
    "DEMO_PIN",
    "DEMO_QUEUES",
    "DEMO_TEAMS",
    "SUPERVISOR_LOGIN",
    "DemoSummary",
    "seed_demo",
]

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo"
DEMO_QUEUES = ("accounts", "cards", "general", "priority")
SUPERVISOR_LOGIN = "super1"
SUPERVISOR_EXTENSION = "1900"
#: The demo's administrator: manages agent accounts at /admin; takes no calls (no queues, not in the ACD).
ADMIN_LOGIN = "admin1"
ADMIN_NAME = "Demo Admin"
ADMIN_EXTENSION = "1901"
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
    admin_login: str = ADMIN_LOGIN
    known_numbers: list[str]  # E.164 numbers of demo customers, for the demo caller generator
    shared_number: str | None  # one landline of two customers (the several-matches screen-pop)
    teams: list[str]
    message: str
    demo_pin: str = DEMO_PIN  # the IVR PIN of every demo deposit and card account
    # (customer name, full account or card number) to try the IVR with; full numbers
    # live only here, in memory, never in the database.
    demo_accounts: list[tuple[str, str]] = []


def _agent_queues(index: int) -> list[str]:
    # Every agent takes "general" and the VIP "priority" queue, plus one or two
    # specialities, so each queue of the bank menu has staff.
    special = [DEMO_QUEUES[index % 2], DEMO_QUEUES[(index + 1) % 2]][: 1 + index % 2]
    return [*special, "general", "priority"]


def _agent_skills(index: int, queues: list[str]) -> dict[str, int]:
    # Specialities at 3-5, wealth advice spread from expert (agent1) to beginner, so the
    # bullseye widening and the skills order of the ACD have something to show in the demo.
    skills = {queue: 5 - (index % 3) for queue in queues if queue in DEMO_QUEUES}
    skills["wealth"] = max(1, 5 - index)
    return skills


async def _seed_agents(
    sessions: async_sessionmaker[AsyncSession], count: int, seed: int
) -> tuple[int, list[str]]:
    directory = AgentDirectory(sessions)
    existing = {a.login for a in await directory.list_agents(include_inactive=True)}
    names = demo_agent_names(count + 1, seed)
    wanted = [(f"agent{i + 1}", names[i], str(1001 + i), "agent", _agent_queues(i)) for i in range(count)]
    wanted.append((SUPERVISOR_LOGIN, names[count], SUPERVISOR_EXTENSION, "supervisor", list(DEMO_QUEUES)))
    wanted.append((ADMIN_LOGIN, ADMIN_NAME, ADMIN_EXTENSION, "admin", []))
    created = 0
    for login, name, extension, role, queues in wanted:
        if login in existing:
            continue
        try:
            index = int(login.removeprefix("agent")) - 1 if role == "agent" else 0
            skills = _agent_skills(index, queues) if role == "agent" else {}
            await directory.create_agent(
                login, name, DEMO_PASSWORD, extension=extension, role=role, queues=queues, skills=skills
            )
        except AgentExistsError:
            continue  # a concurrent seeding got there first
        created += 1
    return created, [login for login, _, _, role, _ in wanted if role == "agent"]


async def _seed_teams(session: AsyncSession, logins: list[str]) -> list[int]:
    """Create the demo teams if missing and put demo agents without a team in theirs."""
    supervisor = await session.scalar(select(Agent.id).where(Agent.login == SUPERVISOR_LOGIN))
    existing = {name: id_ for name, id_ in await session.execute(select(Team.name, Team.id))}
    for name in DEMO_TEAMS:
        if name not in existing:
            team = Team(name=name, supervisor_id=supervisor)
            session.add(team)
            await session.flush()
            existing[name] = team.id
    team_ids = [existing[name] for name in DEMO_TEAMS]
    for index, login in enumerate(logins):
        await session.execute(
            update(Agent)
            .where(Agent.login == login, Agent.team_id.is_(None))
            .values(team_id=team_ids[team_of(index)])
        )
    return team_ids


def _demo_accounts(people: list[DemoCustomer], known: list[str]) -> list[tuple[str, str]]:
    # The callers of the demo generator first, so caller ID and account agree.
    live = [p for p in people if p.deleted_ago is None]
    ordered = sorted(
        live,
        key=lambda p: (
            p.primary_e164 not in known,
            known.index(p.primary_e164) if p.primary_e164 in known else 0,
        ),
    )
    accounts = [(p.name, a.number) for p in ordered for a in p.accounts if a.type in PIN_ACCOUNT_TYPES]
    return accounts[:_KNOWN_NUMBERS]


def _known_numbers(people: list[DemoCustomer]) -> list[str]:
    # Valuable customers first: they make the most telling screen-pops.
    rank = {"private": 0, "vip": 1, "gold": 2}
    # Deleted customers never match a caller ID: no point calling as them.
    ordered = sorted((p for p in people if p.deleted_ago is None), key=lambda p: rank.get(p.tier, 3))
    numbers: list[str] = []
    for person in ordered:
        if person.primary_e164 not in numbers:
            numbers.append(person.primary_e164)
        if len(numbers) >= _KNOWN_NUMBERS:
            break
    return numbers


async def _seed_customers(
    session: AsyncSession,
    people: list[DemoCustomer],
    book: AccountBook,
    pepper: bytes,
    ids: DemoIds,
    clock: DemoClock,
) -> int:
    """Add the customers not stored yet, with all their records; return how many."""
    primaries = await session.execute(
        select(Customer.name, PhoneNumber.e164)
        .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
        .where(PhoneNumber.is_primary.is_(True))
    )
    known = {(name, e164) for name, e164 in primaries}
    call_ids = [c.call_id for p in people for c in p.contacts]
    stored = await session.scalars(select(Interaction.call_id).where(Interaction.call_id.in_(call_ids)))
    skip = {call_id for call_id in stored if call_id is not None}
    new = []
    for person in people:
        if (person.name, person.primary_e164) in known:
            continue
        customer = customer_row(person, book, pepper, ids, clock)
        session.add(customer)
        session.add_all(history_rows(person, customer, ids, clock))
        session.add_all(follow_up_rows(person, customer, ids, clock, skip))
        contracts = contract_rows(person, customer, ids, clock)
        session.add_all(contract for contract, _ in contracts)
        new.append((person, customer, contracts))
    await session.flush()
    transactions = []
    for person, customer, contracts in new:
        for contract, demo in contracts:
            if demo.renewal_of is not None:
                contract.renewed_from_id = contracts[demo.renewal_of][0].id
        transactions.extend(transaction_rows(person, customer, clock))
    if transactions:
        await session.execute(insert(Transaction), transactions)
    return len(new)


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
    supervisor ``super1`` and the admin ``admin1``, all with password ``demo``, then ``customers``
    customers generated from ``seed`` (see :func:`crm_core.demo.data.demo_customers`;
    ``customers_total`` counts live ones, the recycle bin aside).  Agents
    are spread over :data:`DEMO_TEAMS`, both supervised by ``super1``.
    ``pepper`` is the install's pepper for account and ID numbers (see
    :func:`crm_core.customers.accounts.load_or_create_pepper`); without it a
    throw-away one is used and demo numbers cannot be found later.  Raises
    :class:`ValueError` for negative counts.
    """
    if customers < 0 or agents < 1:
        raise ValueError("customers must be >= 0 and agents >= 1")
    agents_created, logins = await _seed_agents(session_factory, agents, seed)
    pepper = pepper or secrets.token_bytes(32)
    book = AccountBook(session_factory, pepper)
    people = demo_customers(customers, agents, seed)
    clock = DemoClock(utcnow())
    async with session_factory() as session, session.begin():
        team_ids = await _seed_teams(session, logins)
        agent_ids = {login: id_ for login, id_ in await session.execute(select(Agent.login, Agent.id))}
        ids = DemoIds([agent_ids.get(login) for login in logins], agent_ids.get(SUPERVISOR_LOGIN), team_ids)
        created = await _seed_customers(session, people, book, pepper, ids, clock)
    await seed_demo_commission(session_factory, clock.now)
    async with session_factory() as session:
        customers_total = int(
            await session.scalar(
                select(func.count()).select_from(Customer).where(Customer.deleted_at.is_(None))
            )
            or 0
        )
        agents_total = int(await session.scalar(select(func.count()).select_from(Agent)) or 0)
    shared = next((p.e164 for p in people[0].phones if not p.is_primary), None) if len(people) > 1 else None
    known = _known_numbers(people)
    summary = DemoSummary(
        customers_created=created,
        customers_total=customers_total,
        agents_created=agents_created,
        agents_total=agents_total,
        agent_logins=logins,
        supervisor_login=SUPERVISOR_LOGIN,
        password=DEMO_PASSWORD,
        known_numbers=known,
        shared_number=shared,
        teams=list(DEMO_TEAMS),
        message=(
            f"demo agents {logins[0]}..{logins[-1]}, supervisor {SUPERVISOR_LOGIN} and admin {ADMIN_LOGIN} "
            f"have password '{DEMO_PASSWORD}'; IVR PIN of every demo account: {DEMO_PIN}"
        ),
        demo_pin=DEMO_PIN,
        demo_accounts=_demo_accounts(people, known),
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
