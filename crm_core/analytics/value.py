"""A customer's current value for the IVR and the ACD, and the VIP-treatment rule.

The IVR greets VIPs and the ACD gives them priority points; both read the
customer's *service tier* (``Customer.tier``) and ABC segment
(``Customer.segment_abc``), which each segmentation run updates (see
:mod:`crm_core.analytics.runner`).  A customer gets VIP treatment when its
tier is a VIP tier (``analytics.vip_tiers``: private, vip) or it is in
segment A by contribution.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.analytics.schemas import CustomerValue
from crm_core.models import Customer

__all__ = ["DEFAULT_VIP_TIERS", "VIP_SEGMENT", "CustomerValues", "vip_treatment"]

#: The default of ``analytics.vip_tiers``: the tiers treated as VIP.
DEFAULT_VIP_TIERS = ("private", "vip")
#: The ABC segment (by contribution) treated as VIP whatever the tier.
VIP_SEGMENT = "A"


def vip_treatment(
    tier: str | None, segment: str | None, vip_tiers: Iterable[str] = DEFAULT_VIP_TIERS
) -> bool:
    """Whether a customer of ``tier`` and ``segment`` is treated as a VIP (case-insensitive tier)."""
    tiers = {t.casefold() for t in vip_tiers}
    return segment == VIP_SEGMENT or (tier is not None and tier.casefold() in tiers)


class CustomerValues:
    """Reads customers' current value (a small port for the IVR and ACD side)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def value(self, customer_id: int) -> CustomerValue | None:
        """The current value of a live customer (``None`` if unknown or deleted)."""
        async with self._sessions() as session:
            customer = await session.scalar(
                select(Customer).where(Customer.id == customer_id, Customer.deleted_at.is_(None))
            )
        if customer is None:
            return None
        return CustomerValue(
            customer_id=customer.id,
            tier=customer.tier,
            segment=customer.segment_abc,
            aum_tier=customer.aum_tier,
            rfm_score=customer.rfm_score,
            contribution=customer.contribution,
            computed_at=customer.segment_computed_at,
            vip=vip_treatment(customer.tier, customer.segment_abc),
        )
