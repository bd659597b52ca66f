"""A small bank for the analytics tests: customers with accounts, transactions and contacts at set times."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from protection_world import T0
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import Account, Customer, Interaction, Transaction

__all__ = ["AS_OF", "Bank"]

AS_OF = T0


@dataclass
class Bank:
    sessions: async_sessionmaker[AsyncSession]

    async def customer(self, name: str, **columns: object) -> int:
        async with self.sessions() as session, session.begin():
            customer = Customer(name=name, status="public", **columns)
            session.add(customer)
            await session.flush()
            return customer.id

    async def account(self, customer_id: int, type: str, balance: str) -> int:
        async with self.sessions() as session, session.begin():
            account = Account(
                customer_id=customer_id,
                type=type,
                number_last4="1234",
                number_hash=secrets.token_hex(16),
                balance=Decimal(balance),
            )
            session.add(account)
            await session.flush()
            return account.id

    async def move(
        self,
        account_id: int,
        customer_id: int,
        amount: str,
        days_ago: float,
        *,
        initiated: bool,
        channel: str = "mobile",
    ) -> None:
        async with self.sessions() as session, session.begin():
            session.add(
                Transaction(
                    account_id=account_id,
                    customer_id=customer_id,
                    occurred_at=AS_OF - timedelta(days=days_ago),
                    amount=Decimal(amount),
                    channel=channel,
                    customer_initiated=initiated,
                )
            )

    async def contact(
        self,
        customer_id: int,
        channel: str,
        days_ago: float,
        *,
        talk_seconds: float | None = None,
        disposition: str | None = None,
        agent_id: int | None = None,
        at: datetime | None = None,
    ) -> None:
        async with self.sessions() as session, session.begin():
            session.add(
                Interaction(
                    channel=channel,
                    direction="inbound",
                    customer_id=customer_id,
                    agent_id=agent_id,
                    arrived_at=at or AS_OF - timedelta(days=days_ago),
                    talk_seconds=talk_seconds,
                    disposition=disposition,
                )
            )
