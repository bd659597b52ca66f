"""The scratch database of ``bankcti bench pop``: agents, and customers whose calls pop a full record.

The customers are the demo bank's (:func:`crm_core.demo.seed.seed_demo`, the
seeding ``make demo`` runs): phones, accounts with 12 months of
transactions, contracts, follow-ups and past calls, written through the same
code.  The benchmark's callers call from the numbers of the customers a pop
shows in full: the number belongs to exactly one live customer, who has
accounts, a contract and at least one follow-up, so the caller-ID
identification of the IVR finds them and every ``call.offered`` carries the
card with accounts and recent follow-ups.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select

from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.accounts import load_or_create_pepper
from crm_core.db import create_engine, session_factory
from crm_core.demo.seed import seed_demo
from crm_core.models import Account, Customer, Interaction, PhoneNumber
from crm_core.models.contracts import Contract

__all__ = ["BENCH_PASSWORD", "agent_device", "seed_bench_agents", "seed_bench_customers"]

BENCH_PASSWORD = "bench-password"


def agent_device(index: int) -> str:
    """The phone of the ``index``-th bench agent (``bench0000`` rings ``PJSIP/5000``)."""
    return f"PJSIP/{5000 + index}"


async def seed_bench_agents(url: str, count: int) -> list[str]:
    """``count`` agents ``bench0000``.. in queue ``general``, password :data:`BENCH_PASSWORD`."""
    engine = create_engine(url)
    try:
        directory = AgentDirectory(session_factory(engine))
        logins = []
        for n in range(count):
            login = f"bench{n:04d}"
            await directory.create_agent(
                login,
                f"Bench Agent {n}",
                BENCH_PASSWORD,
                extension=f"{5000 + n}",
                device=agent_device(n),
                queues=["general"],
            )
            logins.append(login)
        return logins
    finally:
        await engine.dispose()


async def seed_bench_customers(url: str, data_dir: Path, customers: int) -> list[str]:
    """Seed ``customers`` demo customers; return the E.164 numbers that identify a full record.

    The pepper is the service's (``<data_dir>/account-pepper``), as ``make
    demo`` does, so the seeded accounts are the ones the service can find.
    """
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        pepper = load_or_create_pepper(data_dir / "account-pepper")
        crm_log = logging.getLogger("crm_core")
        level = crm_log.level
        crm_log.setLevel(max(level, logging.WARNING))  # the demo's seeding steps are noise in a benchmark
        try:
            await seed_demo(sessions, customers=customers, agents=1, pepper=pepper)
        finally:
            crm_log.setLevel(level)
        live = Customer.deleted_at.is_(None)
        async with sessions() as session:
            # Numbers of exactly one live customer: the IVR identifies that customer by caller ID.
            single = (
                select(PhoneNumber.e164)
                .join(Customer, Customer.id == PhoneNumber.customer_id)
                .where(live)
                .group_by(PhoneNumber.e164)
                .having(func.count(func.distinct(PhoneNumber.customer_id)) == 1)
            )
            numbers = await session.scalars(
                select(PhoneNumber.e164)
                .join(Customer, Customer.id == PhoneNumber.customer_id)
                .where(
                    live,
                    PhoneNumber.is_primary.is_(True),
                    PhoneNumber.e164.in_(single),
                    Customer.id.in_(select(Account.customer_id)),
                    Customer.id.in_(select(Contract.customer_id)),
                    Customer.id.in_(
                        select(Interaction.customer_id).where(Interaction.customer_id.is_not(None))
                    ),
                )
                .order_by(Customer.id)
            )
            return list(dict.fromkeys(numbers.all()))
    finally:
        await engine.dispose()
