"""Reading what a period's commission is computed from: rule versions, events and credit splits.

Every read is in the caller's session, so a run prices one consistent
snapshot.  Signed contracts are those that reached ``active`` (also when
later expired or terminated); a deleted contract earns nothing.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.commission.calc import Credit, Event, RuleTerms, Tier, price_events
from crm_core.commission.schemas import period_bounds
from crm_core.models import CommissionRule, CommissionSplit, Contract, Payment

__all__ = ["SIGNED_STATUSES", "entitlement", "load_rules", "load_shares", "rule_terms"]

SIGNED_STATUSES = ("active", "expired", "terminated")
_FULL = Decimal(100)


def rule_terms(row: CommissionRule) -> RuleTerms:
    """The pricing view of a stored rule version."""
    return RuleTerms(
        id=row.id,
        product_key=row.product_key,
        version=row.version,
        effective_from=row.effective_from,
        active=row.active,
        basis=row.basis,
        date_basis=row.date_basis,
        tier_method=row.tier_method,
        tiers=tuple(Tier(Decimal(t["from"]), Decimal(t["rate"])) for t in row.tiers),
        renewal_rate=None if row.renewal_rate is None else Decimal(row.renewal_rate),
        margin_ratio=None if row.margin_ratio is None else Decimal(row.margin_ratio),
    )


async def load_rules(session: AsyncSession) -> list[RuleTerms]:
    """Every rule version (there are few: a handful of products times their changes)."""
    rows = await session.scalars(select(CommissionRule).order_by(CommissionRule.id))
    return [rule_terms(row) for row in rows]


async def load_shares(
    session: AsyncSession, contracts: dict[int, Contract]
) -> dict[int, tuple[tuple[int, Decimal], ...]]:
    """Each contract's ``(agent_id, percent)`` shares: its split, else its owner at 100 %."""
    splits: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    if contracts:
        rows = await session.scalars(
            select(CommissionSplit)
            .where(CommissionSplit.contract_id.in_(sorted(contracts)))
            .order_by(CommissionSplit.contract_id, CommissionSplit.agent_id)
        )
        for row in rows:
            splits[row.contract_id].append((row.agent_id, row.percent))
    shares: dict[int, tuple[tuple[int, Decimal], ...]] = {}
    for contract_id, contract in contracts.items():
        if splits.get(contract_id):
            shares[contract_id] = tuple(splits[contract_id])
        elif contract.owner_id is not None:
            shares[contract_id] = ((contract.owner_id, _FULL),)
        else:
            shares[contract_id] = ()
    return shares


async def _events(session: AsyncSession, period: str) -> list[Event]:
    start, end = period_bounds(period)
    signed = list(
        await session.scalars(
            select(Contract).where(
                Contract.signed_on >= start,
                Contract.signed_on < end,
                Contract.status.in_(SIGNED_STATUSES),
                Contract.deleted_at.is_(None),
            )
        )
    )
    paid = list(
        await session.execute(
            select(Payment, Contract)
            .join(Contract, Contract.id == Payment.contract_id)
            .where(Payment.received_on >= start, Payment.received_on < end, Contract.deleted_at.is_(None))
        )
    )
    contracts = {c.id: c for c in signed} | {c.id: c for _, c in paid}
    shares = await load_shares(session, contracts)
    events = [
        Event("signed", c.signed_on, c.id, c.number, c.product_type, c.amount, c.is_renewal, shares[c.id])
        for c in signed
        if c.signed_on is not None
    ]
    events += [
        Event(
            "paid", p.received_on, c.id, c.number, c.product_type, p.amount, c.is_renewal, shares[c.id], p.id
        )
        for p, c in paid
    ]
    return events


async def entitlement(session: AsyncSession, period: str, rules: list[RuleTerms]) -> list[Credit]:
    """What every agent has earned in ``period`` by today's data and rules."""
    return price_events(await _events(session, period), rules)
