"""Pydantic schemas of commission accounting: rules in, statements and lines out, the period string.

Rates are percent as decimal strings (``"1.5"`` is 1.5 %), amounts are
:class:`~decimal.Decimal` travelling as strings; a binary float is refused
(see :mod:`crm_core.contracts.schemas`).  Every constraint sits on its field,
so an error names it.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from crm_core.errors import InvalidInput

__all__ = [
    "Basis",
    "DateBasis",
    "LineView",
    "Percent",
    "ProductKey",
    "Rate",
    "RuleCreate",
    "RuleUpdate",
    "RuleView",
    "RunResult",
    "RunRow",
    "SplitShare",
    "SplitView",
    "StatementSummary",
    "StatementView",
    "TierIn",
    "TierMethod",
    "check_period",
    "period_bounds",
]

Basis = Literal["contract_amount", "collected", "margin"]
DateBasis = Literal["signed", "paid"]
TierMethod = Literal["whole", "slice"]
ProductKey = Literal["*", "deposit", "loan", "card", "wealth", "insurance"]

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError('rates and amounts are exact: send a string such as "1.5", not a binary float')
    return value


_STRING_SCHEMA = WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,4})?$"})
#: A rate in percent, 0 to 100, at most four decimals.
Rate = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(ge=0, le=100, max_digits=7, decimal_places=4),
    _STRING_SCHEMA,
]
#: A share of a credit split in percent, more than 0 up to 100, at most two decimals.
Percent = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(gt=0, le=100, max_digits=5, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,2})?$"}),
]
Threshold = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(ge=0, max_digits=18, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,16}(\.[0-9]{1,2})?$"}),
]


def check_period(period: str) -> str:
    """``period`` if it is a month ``YYYY-MM`` (2000-01 … 2999-12); :class:`InvalidInput` otherwise."""
    match = _PERIOD.fullmatch(period.strip()) if isinstance(period, str) else None
    if match is None or not 2000 <= int(match[1]) <= 2999 or not 1 <= int(match[2]) <= 12:
        raise InvalidInput("period", f"must be a month as YYYY-MM, e.g. 2026-11 (got {str(period)[:20]!r})")
    return period.strip()


def period_bounds(period: str) -> tuple[date, date]:
    """First day of ``period`` and first day of the next month."""
    year, month = (int(part) for part in check_period(period).split("-"))
    start = date(year, month, 1)
    return start, date(year + month // 12, month % 12 + 1, 1)


class TierIn(BaseModel):
    """From ``start`` of the agent's period volume on, ``rate`` percent."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: Threshold = Field(alias="from")
    rate: Rate


class _RuleTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    effective_from: date
    active: bool = True
    basis: Basis
    date_basis: DateBasis
    tier_method: TierMethod = "whole"
    tiers: list[TierIn] = Field(min_length=1, max_length=20)
    renewal_rate: Rate | None = None
    margin_ratio: Rate | None = None
    note: str = Field(default="", max_length=255)

    @model_validator(mode="after")
    def _consistent(self) -> _RuleTerms:
        if self.tiers[0].start != 0:
            raise ValueError("tiers: the first tier must start at 0")
        starts = [t.start for t in self.tiers]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError("tiers: thresholds must be strictly ascending")
        if self.basis == "contract_amount" and self.date_basis != "signed":
            raise ValueError("date_basis: the contract amount is earned on signing ('signed')")
        if self.basis == "collected" and self.date_basis != "paid":
            raise ValueError("date_basis: the collected amount is earned on payment ('paid')")
        if (self.basis == "margin") != (self.margin_ratio is not None):
            raise ValueError("margin_ratio: required with the margin basis, and only with it")
        return self


class RuleCreate(_RuleTerms):
    """The first version of the rule of a product key (``*``: every product without its own rule)."""

    product_key: ProductKey


class RuleUpdate(_RuleTerms):
    """A new version of an existing rule, in force from ``effective_from``."""


class RuleView(BaseModel):
    """One rule version as stored; ``tiers`` as ``{"from", "rate"}`` strings."""

    model_config = ConfigDict(frozen=True)

    id: int
    product_key: str
    version: int
    effective_from: date
    active: bool
    basis: str
    date_basis: str
    tier_method: str
    tiers: list[dict[str, str]]
    renewal_rate: str | None
    margin_ratio: str | None
    note: str
    created_by: str | None
    created_at: datetime


class SplitShare(BaseModel):
    """One shared owner's percentage of a contract's credit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str = Field(min_length=1, max_length=64)
    percent: Percent


class SplitView(BaseModel):
    """A contract's credit split (the owner at 100 % when none is set)."""

    model_config = ConfigDict(frozen=True)

    contract_id: int
    contract_number: str
    shares: list[SplitShare]
    explicit: bool


class StatementSummary(BaseModel):
    """One agent's statement for one period; ``total`` = ``commission`` + ``adjustments``."""

    model_config = ConfigDict(frozen=True)

    id: int
    period: str
    agent_login: str
    agent_name: str
    status: str
    lines: int
    commission: Decimal
    adjustments: Decimal
    total: Decimal
    calculated_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    #: Whether the user asking may approve it now (open, and theirs to approve).
    may_approve: bool = False


class LineView(BaseModel):
    """One statement line, traceable to its contract and payment."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    for_period: str
    event: str
    event_on: date
    contract_id: int | None
    contract_number: str
    payment_id: int | None
    rule_id: int | None
    base: Decimal
    share_percent: Decimal
    credited: Decimal
    commission: Decimal
    rate: str


class StatementView(StatementSummary):
    """A statement with its lines (oldest event first, adjustments last)."""

    items: list[LineView]


class RunRow(BaseModel):
    """What a run did to one agent's statement."""

    model_config = ConfigDict(frozen=True)

    agent_login: str
    statement_id: int
    status: str
    lines: int
    commission: Decimal
    adjustments: Decimal
    total: Decimal


class RunResult(BaseModel):
    """The statements of a period after a run (approved ones untouched: frozen)."""

    model_config = ConfigDict(frozen=True)

    period: str
    rows: list[RunRow]
    total: Decimal
