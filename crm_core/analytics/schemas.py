"""What the analytics services take and return: run settings, run summaries, overviews, values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from crm_core.parameters.store import ParameterStore, tier_thresholds

__all__ = [
    "BASE_TIER",
    "CustomerValue",
    "ParetoPoint",
    "RfmCell",
    "RunSummary",
    "SegmentOverview",
    "SegmentSettings",
    "TierCount",
]

#: The tier below every threshold of ``tiers.thresholds``.
BASE_TIER = "standard"


@dataclass(frozen=True)
class SegmentSettings:
    """The parameters of one segmentation run, read once at its start (see the ``analytics.*`` keys)."""

    thresholds: list[tuple[str, Decimal]]
    margin_rates: dict[str, Decimal]
    card_fee_rate: Decimal
    contact_costs: dict[str, Decimal]
    call_minute_cost: Decimal
    vip_tiers: tuple[str, ...]
    segment_a_tier: str
    update_service_tier: bool
    dormant_days: int
    balance_drop_percent: int
    complaint_days: int
    complaint_dispositions: tuple[str, ...]

    @classmethod
    async def load(cls, parameters: ParameterStore) -> SegmentSettings:
        async def get(key: str) -> Any:
            return await parameters.get(key)

        return cls(
            thresholds=tier_thresholds(await get("tiers.thresholds")),
            margin_rates={k: Decimal(v) for k, v in (await get("analytics.margin_rates")).items()},
            card_fee_rate=Decimal(await get("analytics.card_fee_rate")),
            contact_costs={k: Decimal(v) for k, v in (await get("analytics.contact_costs")).items()},
            call_minute_cost=Decimal(await get("analytics.call_minute_cost")),
            vip_tiers=tuple(await get("analytics.vip_tiers")),
            segment_a_tier=str(await get("analytics.segment_a_tier")),
            update_service_tier=bool(await get("analytics.update_service_tier")),
            dormant_days=int(await get("analytics.dormant_days")),
            balance_drop_percent=int(await get("analytics.balance_drop_percent")),
            complaint_days=int(await get("analytics.complaint_days")),
            complaint_dispositions=tuple(await get("analytics.complaint_dispositions")),
        )

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON, stored with the run (what its numbers were computed with)."""
        return {
            "thresholds": {tier: str(amount) for tier, amount in self.thresholds},
            "margin_rates": {k: str(v) for k, v in self.margin_rates.items()},
            "card_fee_rate": str(self.card_fee_rate),
            "contact_costs": {k: str(v) for k, v in self.contact_costs.items()},
            "call_minute_cost": str(self.call_minute_cost),
            "vip_tiers": list(self.vip_tiers),
            "segment_a_tier": self.segment_a_tier,
            "update_service_tier": self.update_service_tier,
            "dormant_days": self.dormant_days,
            "balance_drop_percent": self.balance_drop_percent,
            "complaint_days": self.complaint_days,
            "complaint_dispositions": list(self.complaint_dispositions),
        }


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunSummary(_Frozen):
    """A segmentation run and its headline numbers."""

    id: int
    computed_on: date
    as_of: datetime
    started_at: datetime
    finished_at: datetime | None
    status: str
    trigger: str
    customers: int
    transactions: int
    a_share_contribution: float | None
    a_share_aum: float | None
    abc_contribution: dict[str, int]
    abc_aum: dict[str, int]
    tiers: dict[str, int]
    churn: dict[str, int]
    contribution_total: Decimal
    error: str | None = None


class ParetoPoint(_Frozen):
    """One point of the Pareto curve: share of customers (best first) → share of contribution."""

    customer_share: float
    value_share: float


class TierCount(_Frozen):
    tier: str
    customers: int
    avg_daily_balance: Decimal


class RfmCell(_Frozen):
    """Customers with recency score ``r`` and frequency score ``f`` (the R×F heat map)."""

    r: int
    f: int
    customers: int


class SegmentOverview(_Frozen):
    """The latest run as the segmentation page shows it (``run`` is ``None`` before the first run)."""

    run: RunSummary | None
    pareto_contribution: list[ParetoPoint]
    pareto_aum: list[ParetoPoint]
    tiers: list[TierCount]
    rfm: list[RfmCell]


class CustomerValue(_Frozen):
    """A customer's current value as the IVR and the ACD read it.

    ``vip`` is the VIP treatment flag: the tier is one of the
    ``analytics.vip_tiers`` or the customer is in segment A by contribution.
    """

    customer_id: int
    tier: str
    segment: str | None
    aum_tier: str | None
    rfm_score: str | None
    contribution: Decimal | None
    computed_at: datetime | None
    vip: bool
