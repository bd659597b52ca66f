"""The declared parameters: key, pydantic type, default, description.

Values are JSON: integers, booleans, lists of names, and tier thresholds as
decimal *strings* (money is never a float).  Every default is validated at
import, so a bad declaration fails the service's start, not a request.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from crm_core.errors import InvalidInput

__all__ = ["REGISTRY", "ParameterSpec", "tier_thresholds"]

_MAX_DAYS = 3650
_MAX_CAP = 1_000_000
_DECIMAL = re.compile(r"\d{1,16}(\.\d{1,2})?")

Days = Annotated[StrictInt, Field(ge=1, le=_MAX_DAYS)]
DaysOrZero = Annotated[StrictInt, Field(ge=0, le=_MAX_DAYS)]
Minutes = Annotated[StrictInt, Field(ge=1, le=7 * 24 * 60)]
Cap = Annotated[StrictInt, Field(ge=1, le=_MAX_CAP)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _unique(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError("names must be unique")
    return names


def _descending(thresholds: dict[str, str]) -> dict[str, str]:
    for tier, amount in thresholds.items():
        if not _DECIMAL.fullmatch(amount):
            raise ValueError(f'threshold of {tier!r} must be a decimal string like "200000" or "99.50"')
    amounts = [Decimal(amount) for amount in thresholds.values()]
    if any(a <= b for a, b in itertools.pairwise(amounts)) or amounts[-1] <= 0:
        raise ValueError("thresholds must be positive and strictly descending, highest tier first")
    return thresholds


Names = Annotated[list[Name], Field(min_length=1, max_length=50), AfterValidator(_unique)]
_RATE = re.compile(r"\d{1,3}(\.\d{1,6})?")


def _amounts(values: dict[str, str]) -> dict[str, str]:
    for name, amount in values.items():
        if not _DECIMAL.fullmatch(amount):
            raise ValueError(f'amount of {name!r} must be a decimal string like "4" or "0.50"')
    return values


def _rates(values: dict[str, str]) -> dict[str, str]:
    for name, rate in values.items():
        if not _RATE.fullmatch(rate):
            raise ValueError(f'rate of {name!r} must be a decimal string like "0.015"')
    return values


def _amount(value: str) -> str:
    return _amounts({"value": value})["value"]


def _rate(value: str) -> str:
    return _rates({"value": value})["value"]


Amounts = Annotated[dict[Name, str], Field(min_length=1, max_length=20), AfterValidator(_amounts)]
Rates = Annotated[dict[Name, str], Field(min_length=1, max_length=20), AfterValidator(_rates)]
Amount = Annotated[str, AfterValidator(_amount)]
Rate = Annotated[str, AfterValidator(_rate)]
Percent = Annotated[StrictInt, Field(ge=1, le=100)]
Thresholds = Annotated[dict[Name, str], Field(min_length=1, max_length=20), AfterValidator(_descending)]


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: its key, its validator, its default, and what it means."""

    key: str
    adapter: TypeAdapter[Any]
    default: Any
    type: str
    description: str

    def validate(self, value: Any) -> Any:
        """``value`` in canonical form (names stripped); :class:`InvalidInput` naming the key if wrong."""
        try:
            return self.adapter.validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            message = f"{where}: {first['msg']}" if where else first["msg"]
            raise InvalidInput(self.key, f"{message} (expected {self.type})") from None


_NAMES = "non-empty list of unique names"
_DECLARED: tuple[tuple[str, Any, Any, str, str], ...] = (
    ("protection.max_owned_customers", Cap, 200, "integer ≥ 1",
     "Most customers one agent may own (deal customers counted or not: see count_deal_customers)."),
    ("protection.count_deal_customers", StrictBool, False, "boolean",
     "Whether customers with a deal count towards the owned-customers cap."),
    ("protection.max_locked_customers", Cap, 20, "integer ≥ 1",
     "Most customers one agent may lock (locked customers are never released to the pool)."),
    ("protection.release_after_days_without_follow_up", Days, 30, "days ≥ 1",
     "An owned customer goes back to the public pool after this many days without a follow-up."),
    ("protection.release_after_days_without_deal", Days, 90, "days ≥ 1",
     "An owned customer goes back to the public pool after this many days without a deal."),
    ("protection.release_warning_days", DaysOrZero, 7, "days ≥ 0",
     "The owner is warned this many days before a customer is released."),
    ("protection.previous_owner_bar_days", DaysOrZero, 30, "days ≥ 0",
     "A released customer's previous owner may not claim it back for this many days."),
    ("protection.daily_claim_cap", Cap, 10, "integer ≥ 1",
     "Most customers one agent may claim from the public pool per day."),
    ("recycle.purge_after_days", Days, 30, "days ≥ 1",
     "Deleted customers are purged for good this many days after deletion."),
    ("followup.types", Names, ["phone", "visit", "email", "sms", "web", "ivr"], _NAMES,
     "Channels of follow-up an agent may record (among phone, visit, email, sms, web, ivr)."),
    ("followup.dispositions", Names, ["resolved", "follow-up", "complaint", "sale", "wrong-number"], _NAMES,
     "Dispositions an agent may choose for a follow-up."),
    ("contracts.expiry_reminder_days", DaysOrZero, 30, "days ≥ 0",
     "Owners are reminded of a contract this many days before it ends."),
    ("tiers.thresholds", Thresholds, {"private": "5000000", "vip": "1000000", "gold": "200000"},
     "object: tier → decimal string (CNY), strictly descending",
     "Assets under management from which a customer reaches each tier; below the last: standard."),
    ("ivr.pin_max_failures", Cap, 3, "integer ≥ 1",
     "Wrong PINs in a row before the IVR locks PIN entry."),
    ("ivr.pin_lockout_minutes", Minutes, 15, "minutes ≥ 1",
     "How long PIN entry stays locked after too many wrong PINs."),
    ("analytics.margin_rates", Rates,
     {"deposit": "0.015", "wealth": "0.008", "loan": "0.025", "card": "0.12"},
     "object: account type → yearly rate as a decimal string",
     "Yearly margin the bank earns on a 12-month average balance of each account type (income)."),
    ("analytics.card_fee_rate", Rate, "0.006", "decimal string",
     "Fee income per unit of customer-initiated card spending (interchange)."),
    ("analytics.contact_costs", Amounts,
     {"phone": "4.00", "ivr": "0.50", "email": "2.00", "web": "0.30", "visit": "25.00", "sms": "0.10"},
     "object: channel → decimal string (CNY)",
     "Cost to serve of one contact (follow-up or call) on each channel; channels not listed cost 0."),
    ("analytics.call_minute_cost", Amount, "1.50", "decimal string (CNY)",
     "Cost to serve of each minute of talk time on a call, on top of the contact cost."),
    ("analytics.vip_tiers", Names, ["private", "vip"], _NAMES,
     "Tiers the IVR and the ACD treat as VIP (segment A by contribution is VIP too)."),
    ("analytics.segment_a_tier", Name, "vip", "tier name",
     "Service tier given to a segment-A customer whose AUM tier ranks lower."),
    ("analytics.update_service_tier", StrictBool, True, "boolean",
     "Whether a segmentation run sets each customer's tier from its AUM tier and segment."),
    ("analytics.dormant_days", Days, 180, "days ≥ 1",
     "Churn flag: no customer-initiated transaction for this many days."),
    ("analytics.balance_drop_percent", Percent, 30, "percent 1..100",
     "Churn flag: AUM balance this many percent below its 3-month average."),
    ("analytics.complaint_days", Days, 90, "days ≥ 1",
     "Churn flag: a follow-up with a complaint disposition within this many days."),
    ("analytics.complaint_dispositions", Names, ["complaint"], _NAMES,
     "Follow-up dispositions that count as a complaint."),
    ("console.pause_reasons", Names, ["break", "lunch", "training", "meeting", "after-call-work"], _NAMES,
     "Reasons an agent may give for pausing."),
)  # fmt: skip


def _build() -> dict[str, ParameterSpec]:
    registry = {}
    for key, annotation, default, type_, description in _DECLARED:
        spec = ParameterSpec(key, TypeAdapter(annotation), default, type_, description)
        spec.validate(default)
        registry[key] = spec
    return registry


#: Every parameter, by key.
REGISTRY: dict[str, ParameterSpec] = _build()


def tier_thresholds(value: dict[str, str]) -> list[tuple[str, Decimal]]:
    """The ``tiers.thresholds`` value as ``[(tier, minimum AUM)]``, highest first."""
    return [(tier, Decimal(amount)) for tier, amount in value.items()]
