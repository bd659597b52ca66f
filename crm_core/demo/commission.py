"""Commission for the demo bank: one rule per kind of business and the statements of the demo month.

The demo month is the last complete month before the demo's clock (its
payments are all in), plus the running month so far; both statements stay
open, so a supervisor can try the approve button.  Rules are dated far
back so that every demo contract falls under them.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.commission.schemas import RuleCreate
from crm_core.commission.service import CommissionService
from crm_core.models import CommissionRule

__all__ = ["DEMO_RULES", "demo_periods", "seed_demo_commission"]

log = logging.getLogger(__name__)

_SINCE = "2000-01-01"
#: The demo's rules (rates in percent), one per product key.
DEMO_RULES: tuple[dict[str, object], ...] = (
    {"product_key": "*", "basis": "collected", "date_basis": "paid", "tier_method": "slice",
     "tiers": [{"from": "0", "rate": "1"}, {"from": "50000", "rate": "1.5"}, {"from": "200000", "rate": "2"}],
     "note": "Collections, each slice at its own rate"},
    {"product_key": "loan", "basis": "collected", "date_basis": "paid", "tier_method": "whole",
     "tiers": [{"from": "0", "rate": "0.8"}, {"from": "100000", "rate": "1.2"}], "renewal_rate": "0.5",
     "note": "Loan collections, whole amount at the tier reached; renewals 0.5 %"},
    {"product_key": "deposit", "basis": "contract_amount", "date_basis": "signed", "tier_method": "whole",
     "tiers": [{"from": "0", "rate": "0.3"}, {"from": "500000", "rate": "0.5"}], "renewal_rate": "0.2",
     "note": "Deposits on signing; renewals 0.2 %"},
    {"product_key": "wealth", "basis": "margin", "date_basis": "paid", "tier_method": "whole",
     "tiers": [{"from": "0", "rate": "5"}, {"from": "100000", "rate": "8"}], "margin_ratio": "30",
     "note": "Wealth: 30 % margin on collections"},
)  # fmt: skip


def demo_periods(now: datetime) -> list[str]:
    """The last complete month and the running one, as ``YYYY-MM``."""
    last = now.date().replace(day=1) - timedelta(days=1)
    return [f"{last:%Y-%m}", f"{now:%Y-%m}"]


async def seed_demo_commission(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[str]:
    """Add the demo rules (once) and run the demo periods; returns the periods run."""
    admin = Actor.system("demo")
    service = CommissionService(sessions, clock=lambda: now)
    async with sessions() as session:
        has_rules = bool(await session.scalar(select(func.count()).select_from(CommissionRule)))
    if not has_rules:
        for terms in DEMO_RULES:
            await service.rules.create_rule(
                admin, RuleCreate.model_validate(terms | {"effective_from": date.fromisoformat(_SINCE)})
            )
    periods = demo_periods(now)
    for period in periods:
        result = await service.run(admin, period)
        log.info("demo.commission", extra={"period": period, "statements": len(result.rows)})
    return periods
