"""A small sales floor for the commission tests: a team, its supervisor, an admin, signed contracts, payments.

Team Sales: supervisor ``sue``, agents ``alice`` and ``bob``; team Other:
agent ``olga``; ``root`` is an admin.  Customers are owned by alice (with a
read-write share to bob) and by olga.  Contracts and payments are written
straight to the tables (the contract workflow has its own tests); rules go
through :class:`~crm_core.commission.rules.RuleService`, which validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.commission.schemas import RuleCreate, RuleUpdate, RuleView
from crm_core.commission.service import CommissionService
from crm_core.models import Agent, Contract, Customer, Payment, SharingGrant, Team

NOW = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
WHOLE = [{"from": "0", "rate": "1"}, {"from": "100000", "rate": "2"}, {"from": "200000", "rate": "3"}]


@dataclass
class Floor:
    sessions: async_sessionmaker[AsyncSession]
    service: CommissionService
    ids: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    _numbers: int = 0

    def __getitem__(self, login: str) -> Actor:
        return self.actors[login]

    async def rule(self, product_key: str = "*", *, by: str = "root", **terms: Any) -> RuleView:
        body: dict[str, Any] = {
            "effective_from": "2026-01-01",
            "basis": "collected",
            "date_basis": "paid",
            "tier_method": "whole",
            "tiers": WHOLE,
        }
        body.update(terms)
        return await self.service.rules.create_rule(
            self[by], RuleCreate.model_validate(body | {"product_key": product_key})
        )

    async def new_version(self, rule_id: int, **terms: Any) -> RuleView:
        return await self.service.rules.new_version(self["root"], rule_id, RuleUpdate.model_validate(terms))

    async def contract(
        self,
        amount: str,
        *,
        owner: str = "alice",
        product: str = "loan",
        signed_on: date | None = date(2026, 11, 3),
        renewal: bool = False,
        status: str = "active",
    ) -> int:
        self._numbers += 1
        customer = "olga_customer" if owner == "olga" else "alice_customer"
        async with self.sessions() as session, session.begin():
            contract = Contract(
                number=f"C-T-{self._numbers:04d}",
                customer_id=self.ids[customer],
                owner_id=self.ids[owner],
                title="test",
                product_type=product,
                amount=Decimal(amount),
                start_on=date(2026, 1, 1),
                end_on=date(2027, 12, 31),
                status=status,
                is_renewal=renewal,
                signed_on=signed_on,
            )
            session.add(contract)
            await session.flush()
            return contract.id

    async def pay(self, contract_id: int, amount: str, on: date) -> int:
        async with self.sessions() as session, session.begin():
            payment = Payment(
                contract_id=contract_id, received_on=on, amount=Decimal(amount), method="transfer"
            )
            session.add(payment)
            await session.flush()
            return payment.id


async def build_floor(sessions: async_sessionmaker[AsyncSession]) -> Floor:
    floor = Floor(sessions, CommissionService(sessions, clock=lambda: NOW))
    async with sessions() as session, session.begin():
        people = {
            login: Agent(
                login=login, name=login.title(), password_hash="x", extension="1", device="x", role=role
            )
            for login, role in [
                ("sue", "supervisor"),
                ("alice", "agent"),
                ("bob", "agent"),
                ("olga", "agent"),
                ("root", "admin"),
            ]
        }
        session.add_all(people.values())
        await session.flush()
        sales = Team(name="Sales", supervisor_id=people["sue"].id)
        other = Team(name="Other")
        session.add_all([sales, other])
        await session.flush()
        for login in ("sue", "alice", "bob"):
            people[login].team_id = sales.id
        people["olga"].team_id = other.id
        alice_customer = Customer(name="Wang", status="owned", owner_agent_id=people["alice"].id)
        olga_customer = Customer(name="Li", status="owned", owner_agent_id=people["olga"].id)
        session.add_all([alice_customer, olga_customer])
        await session.flush()
        session.add(
            SharingGrant(customer_id=alice_customer.id, grantee_user_id=people["bob"].id, access="write")
        )
        floor.ids = {login: agent.id for login, agent in people.items()}
        floor.ids |= {"alice_customer": alice_customer.id, "olga_customer": olga_customer.id}
        teams = {"sue": sales.id, "alice": sales.id, "bob": sales.id, "olga": other.id}
    floor.actors = {
        login: Actor(
            user_id=floor.ids[login],
            login=login,
            role=agent.role,
            team_ids=frozenset({teams[login]}) if login in teams else frozenset(),
        )
        for login, agent in people.items()
    }
    return floor
