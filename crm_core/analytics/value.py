"""A customer's current value for the IVR and the ACD, and the VIP-treatment rule.

The IVR greets VIPs and the ACD gives them priority points; both read the
customer's *service tier* (``Customer.tier``) and ABC segment
(``Customer.segment_abc``), which each segmentation run updates (see
:mod:`crm_core.analytics.runner`).  A customer gets VIP treatment when its
tier is one of the parameter ``analytics.vip_tiers`` (private and vip
unless an administrator changed it; read at each lookup, never assumed) or
it is in segment A by contribution.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.analytics.schemas import CustomerValue
from crm_core.models import Customer
from crm_core.parameters.store import ParameterStore

__all__ = ["VIP_SEGMENT", "CustomerValues", "vip_treatment"]

#: The ABC segment (by contribution) treated as VIP whatever the tier.
VIP_SEGMENT = "A"


def vip_treatment(tier: str | None, segment: str | None, vip_tiers: Iterable[str]) -> bool:
    """Whether a customer of ``tier`` and ``segment`` is treated as a VIP (case-insensitive tier).

    ``vip_tiers`` is the value of ``analytics.vip_tiers``.
    """
    tiers = {t.casefold() for t in vip_tiers}
    return segment == VIP_SEGMENT or (tier is not None and tier.casefold() in tiers)


class CustomerValues:
    """Reads customers' current value (a small port for the IVR and ACD side).

    ``parameters`` is the store ``analytics.vip_tiers`` is read from (a store
    of its own when not given).
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], parameters: ParameterStore | None = None
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters if parameters is not None else ParameterStore(sessions)

    async def value(self, customer_id: int) -> CustomerValue | None:
        """The current value of a live customer (``None`` if unknown or deleted)."""
        vip_tiers = await self._parameters.get("analytics.vip_tiers")
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
            vip=vip_treatment(customer.tier, customer.segment_abc, vip_tiers),
        )
