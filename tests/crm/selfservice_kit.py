"""A bank for the IVR self-service tests: customers with real accounts, the service, a fake clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from protection_world import World
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.customers.accounts import AccountBook
from crm_core.models import Account, AuditLog, Interaction, Transaction
from crm_core.selfservice.service import SelfService

PEPPER = b"selfservice-test-pepper-0123456789"
# Digit strings that occur nowhere else in a test: a scan for them finds only leaks.
PIN = "739164"
DEPOSIT = "6222 0217 3840 5512 907"
CARD = "6225 8896 4410 2731"
CARD2 = "6225 8896 5521 8846"
LOAN = "7100 3388 2266 4412"
WEALTH = "8800 1357 2468 9753"


def digits(number: str) -> str:
    return number.replace(" ", "")


@dataclass
class Bank:
    """The world of the protection tests plus accounts and a :class:`SelfService` on its clock."""

    world: World
    book: AccountBook
    service: SelfService

    @classmethod
    async def open(cls, sessions: async_sessionmaker[AsyncSession]) -> Bank:
        world = await World(sessions).setup()
        await world.agent("alice")
        service = SelfService(sessions, PEPPER, world.parameters, clock=world.clock)
        return cls(world, AccountBook(sessions, PEPPER), service)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.world.sessions

    async def customer(self, name: str = "Wang Fang", **accounts: str) -> tuple[int, dict[str, int]]:
        """A customer owned by alice with ``accounts`` (label → number; the label's prefix is the type)."""
        customer_id = await self.world.customer(name, owner="alice")
        ids = {}
        for label, number in accounts.items():
            kind = label.rstrip("0123456789")
            ids[label] = await self.book.open_account(
                customer_id, type=kind, number=number, balance=Decimal("1000.50")
            )
        return customer_id, ids

    async def transaction(self, account_id: int, at: datetime, amount: str, description: str) -> None:
        async with self.sessions() as session, session.begin():
            account = await session.get(Account, account_id)
            assert account is not None
            session.add(
                Transaction(
                    account_id=account_id,
                    customer_id=account.customer_id,
                    occurred_at=at,
                    amount=Decimal(amount),
                    channel="pos",
                    customer_initiated=True,
                    description=description,
                )
            )

    async def account(self, account_id: int) -> Account:
        async with self.sessions() as session:
            account = await session.get(Account, account_id)
            assert account is not None
            return account

    async def ivr_rows(self, customer_id: int) -> list[Interaction]:
        """The customer's IVR follow-ups, oldest first."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Interaction)
                .where(Interaction.customer_id == customer_id, Interaction.channel == "ivr")
                .order_by(Interaction.id)
            )
            return list(rows.all())

    async def audits(self, action: str) -> list[AuditLog]:
        return await self.world.audits(action)
