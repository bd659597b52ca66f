"""A small bank for the contract tests: two teams, their supervisors, an admin, customers, a clock.

Team A: supervisor ``sup_a``, agents ``alice`` (owns customer Wang) and
``bob`` (owns nothing).  Team B: supervisor ``sup_b``, agent ``carol`` (owns
customer Li).  Customer Pool sits in the public pool.  ``root`` is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.contracts.schemas import ContractCreate
from crm_core.contracts.service import ContractService
from crm_core.models import Agent, AuditLog, Customer, SharingGrant, Team

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@dataclass
class Clock:
    """The service's clock, moved by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    @property
    def today(self) -> date:
        return self.now.date()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    ids: dict[str, int]
    actors: dict[str, Actor]
    clock: Clock
    contracts: ContractService
    sessions: async_sessionmaker[AsyncSession]
    extra: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Actor:
        try:
            return self.actors[name]
        except KeyError:
            raise AttributeError(name) from None


def _agent(login: str, role: str = "agent", team_id: int | None = None) -> Agent:
    return Agent(
        login=login,
        name=login.title(),
        password_hash="x",
        extension="100",
        device=f"PJSIP/{login}",
        role=role,
        team_id=team_id,
    )


async def build_world(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, contracts: ContractService
) -> World:
    async with sessions() as session, session.begin():
        people = {
            login: _agent(login, role)
            for login, role in [
                ("sup_a", "supervisor"),
                ("sup_b", "supervisor"),
                ("alice", "agent"),
                ("bob", "agent"),
                ("carol", "agent"),
                ("root", "admin"),
            ]
        }
        session.add_all(people.values())
        await session.flush()
        team_a = Team(name="Team A", supervisor_id=people["sup_a"].id)
        team_b = Team(name="Team B", supervisor_id=people["sup_b"].id)
        session.add_all([team_a, team_b])
        await session.flush()
        for login, team in [("sup_a", team_a), ("alice", team_a), ("bob", team_a)]:
            people[login].team_id = team.id
        for login in ("sup_b", "carol"):
            people[login].team_id = team_b.id
        customers = {
            "wang": Customer(name="Wang Wei", status="owned", owner_agent_id=people["alice"].id),
            "li": Customer(name="Li Na", status="owned", owner_agent_id=people["carol"].id),
            "pool": Customer(name="Pool Zhao", status="public"),
            "sup_own": Customer(name="Sup Own", status="owned", owner_agent_id=people["sup_a"].id),
        }
        session.add_all(customers.values())
        await session.flush()
        ids = {login: agent.id for login, agent in people.items()}
        ids |= {"team_a": team_a.id, "team_b": team_b.id}
        ids |= {name: customer.id for name, customer in customers.items()}
    teams = {"sup_a": team_a.id, "alice": team_a.id, "bob": team_a.id, "sup_b": team_b.id, "carol": team_b.id}
    actors = {
        login: Actor(
            user_id=ids[login],
            login=login,
            role=agent.role,
            team_ids=frozenset({teams[login]}) if login in teams else frozenset(),
            remote_addr="10.0.0.7",
        )
        for login, agent in people.items()
    }
    return World(ids=ids, actors=actors, clock=clock, contracts=contracts, sessions=sessions)


def terms(**overrides: Any) -> ContractCreate:
    """A one-year term deposit starting at the clock's month, amount 120000.00, with lines."""
    data: dict[str, Any] = {
        "title": "Term deposit 12M",
        "product_type": "deposit",
        "start_on": "2026-03-01",
        "end_on": "2027-02-28",
        "lines": [{"product": "12M deposit", "quantity": 1, "unit_price": "120000.00"}],
    }
    data.update(overrides)
    return ContractCreate.model_validate(data)


async def grant(world: World, customer: str, grantee: str, access: str) -> None:
    async with world.sessions() as session, session.begin():
        session.add(
            SharingGrant(
                customer_id=world.ids[customer],
                grantee_user_id=world.ids[grantee],
                access=access,
                granted_by_id=world.ids["root"],
            )
        )


async def audit_rows(world: World, entity: str, entity_id: int) -> list[AuditLog]:
    async with world.sessions() as session:
        rows = await session.scalars(
            select(AuditLog)
            .where(AuditLog.entity == entity, AuditLog.entity_id == str(entity_id))
            .order_by(AuditLog.id)
        )
        return list(rows)


async def drive(
    world: World, contract_id: int, status: str, *, owner: str = "alice", supervisor: str = "sup_a"
) -> None:
    """Move a fresh draft along legal transitions to ``status`` (actions by its owner and supervisor)."""
    submit, approve, sign = [(owner, "submit"), (supervisor, "approve"), (owner, "sign")]
    steps = {
        "draft": [],
        "pending": [submit],
        "rejected": [submit, (supervisor, "reject")],
        "approved": [submit, approve],
        "active": [submit, approve, sign],
        "terminated": [submit, approve, sign, (supervisor, "terminate")],
        "expired": [submit, approve, sign, ("job", "expire")],
    }[status]
    for who, action in steps:
        if action == "expire":
            async with world.sessions() as session, session.begin():
                later = world.clock.now + timedelta(days=400)
                assert await world.contracts.expire_due(session, later) >= 1
        else:
            reason = "customer breached terms" if action in {"terminate", "reject"} else None
            await world.contracts.transition(world.actors[who], contract_id, action, reason)
