"""A small CRM world for the protection, follow-up, reminder and job tests.

Agents, teams and customers are written straight into the database (no
password hashing) so that each test states exactly the columns it depends
on; a :class:`FakeClock` moves time for the day and period boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.models import Agent, AuditLog, Contract, Customer, OwnershipHistory, SharingGrant, Team
from crm_core.parameters.store import ParameterStore

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """A settable clock: ``clock()`` is ``now``."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class World:
    """Builds agents, teams and customers, and reads back what services wrote."""

    sessions: async_sessionmaker[AsyncSession]
    clock: FakeClock = field(default_factory=FakeClock)
    actors: dict[str, Actor] = field(default_factory=dict)
    admin: Actor = field(init=False)
    parameters: ParameterStore = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = ParameterStore(self.sessions)

    async def setup(self) -> World:
        self.admin = await self.agent("admin1", role="admin")
        return self

    async def agent(self, login: str, *, role: str = "agent", team: int | None = None) -> Actor:
        async with self.sessions() as session, session.begin():
            agent = Agent(
                login=login,
                name=login.title(),
                password_hash="x",
                extension=str(1000 + len(self.actors)),
                device=f"PJSIP/{login}",
                role=role,
                team_id=team,
            )
            session.add(agent)
            await session.flush()
            agent_id = agent.id
        actor = Actor(user_id=agent_id, login=login, role=role, team_ids=frozenset({team} if team else ()))
        self.actors[login] = actor
        return actor

    async def team(self, name: str, supervisor: str) -> int:
        """A team supervised by a new supervisor ``supervisor`` (whose actor then lists the team)."""
        sup = await self.agent(supervisor, role="supervisor")
        async with self.sessions() as session, session.begin():
            team = Team(name=name, supervisor_id=sup.user_id)
            session.add(team)
            await session.flush()
            team_id = team.id
        self.actors[supervisor] = Actor(
            user_id=sup.user_id, login=supervisor, role="supervisor", team_ids=frozenset({team_id})
        )
        return team_id

    def __getitem__(self, login: str) -> Actor:
        return self.actors[login]

    async def customer(self, name: str, owner: str | None = None, **columns: Any) -> int:
        """A customer; with ``owner`` it is owned since ``clock.now`` unless ``columns`` say otherwise."""
        values: dict[str, Any] = {"name": name, "status": "public"}
        if owner is not None:
            values.update(
                status="owned", owner_agent_id=self.actors[owner].user_id, owned_since=self.clock.now
            )
        values.setdefault("created_at", self.clock.now)
        values.update(columns)
        async with self.sessions() as session, session.begin():
            customer = Customer(**values)
            session.add(customer)
            await session.flush()
            return customer.id

    async def get(self, customer_id: int) -> Customer:
        async with self.sessions() as session:
            customer = await session.get(Customer, customer_id)
            assert customer is not None
            return customer

    async def update(self, customer_id: int, **columns: Any) -> None:
        async with self.sessions() as session, session.begin():
            customer = await session.get(Customer, customer_id)
            assert customer is not None
            for name, value in columns.items():
                setattr(customer, name, value)

    async def history(self, customer_id: int) -> list[OwnershipHistory]:
        async with self.sessions() as session:
            return list(
                (
                    await session.scalars(
                        select(OwnershipHistory)
                        .where(OwnershipHistory.customer_id == customer_id)
                        .order_by(OwnershipHistory.id)
                    )
                ).all()
            )

    async def audits(self, action: str, entity_id: int | None = None) -> list[AuditLog]:
        query = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        if entity_id is not None:
            query = query.where(AuditLog.entity_id == str(entity_id))
        async with self.sessions() as session:
            return list((await session.scalars(query)).all())

    async def count(self, model: type[Any]) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def set(self, key: str, value: Any) -> None:
        await self.parameters.set(self.admin, key, value, "test")

    async def share(
        self, customer_id: int, *, user: str | None = None, team: int | None = None, access: str = "read"
    ) -> None:
        async with self.sessions() as session, session.begin():
            session.add(
                SharingGrant(
                    customer_id=customer_id,
                    grantee_user_id=self.actors[user].user_id if user else None,
                    grantee_team_id=team,
                    access=access,
                    granted_by_id=self.admin.user_id,
                )
            )

    async def contract(
        self, customer_id: int, owner: str, *, end_on: date, status: str = "active", number: str = ""
    ) -> int:
        async with self.sessions() as session, session.begin():
            contract = Contract(
                number=number or f"C-{customer_id}-{end_on.isoformat()}-{status}",
                customer_id=customer_id,
                owner_id=self.actors[owner].user_id,
                title="Term deposit",
                product_type="deposit",
                amount=Decimal("100000.00"),
                currency="CNY",
                start_on=end_on - timedelta(days=365),
                end_on=end_on,
                status=status,
            )
            session.add(contract)
            await session.flush()
            return contract.id
