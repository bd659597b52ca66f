"""Pydantic schemas of commission accounting: rules in, statements and lines out, the period string.

Rates are percent as decimal strings (``"1.5"`` is 1.5 %), amounts are
:class:`~decimal.Decimal` travelling as strings; a JSON number is refused
(a binary float is not exact).  Every constraint sits on its field, so an
error names it, and the JSON schema states it as a pattern — the bounds and
decimal places a client must meet, exactly what the service accepts.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    model_validator,
)

from crm_core.errors import InvalidInput

__all__ = [
    "LOGIN_PATTERN",
    "PERIOD_PATTERN",
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
#: A period as the API states it: a month ``YYYY-MM`` of the years 2000 to 2999 (:func:`check_period`).
PERIOD_PATTERN = r"^2[0-9]{3}-(0[1-9]|1[0-2])$"
#: A login as :mod:`crm_core.contact_center.agents` accepts it.
LOGIN_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

# Exact decimal strings, written so that the pattern alone states the bounds a client must meet:
#: a rate in percent, 0 to 100, at most four decimals;
RATE_PATTERN = r"^(100(\.0{1,4})?|[1-9]?[0-9](\.[0-9]{1,4})?)$"
#: a share of a split in percent, more than 0 up to 100, at most two decimals;
PERCENT_PATTERN = r"^(100(\.0{1,2})?|[1-9][0-9]?(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"
#: a tier threshold in CNY, 0 or more, at most 16 integer digits and two decimals.
THRESHOLD_PATTERN = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$"


def _exact(pattern: str, what: str) -> BeforeValidator:
    """Accept a decimal string matching ``pattern`` (or a :class:`Decimal` the service built itself)."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, Decimal):
            return value  # from the database or the service's own code, not from a client
        if not isinstance(value, str):
            raise ValueError(f'{what} is exact: send a string such as "1.5", not a JSON number')
        if compiled.fullmatch(value) is None:
            raise ValueError(f"{what} must be a decimal string matching {pattern}")
        return value

    return BeforeValidator(check)


#: A rate in percent, 0 to 100, at most four decimals.
Rate = Annotated[
    Decimal,
    _exact(RATE_PATTERN, "a rate"),
    Field(ge=0, le=100, max_digits=7, decimal_places=4),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN, "examples": ["1.5"]}),
]
#: A share of a credit split in percent, more than 0 up to 100, at most two decimals.
Percent = Annotated[
    Decimal,
    _exact(PERCENT_PATTERN, "a share"),
    Field(gt=0, le=100, max_digits=5, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": PERCENT_PATTERN, "examples": ["33.33"]}),
]
#: A day written ``YYYY-MM-DD`` (years 1000 to 9999).
DAY_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def _iso_day(value: object) -> object:
    """A day as ``YYYY-MM-DD`` text (or a :class:`date` from the service itself), never a number."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or re.fullmatch(DAY_PATTERN, value) is None:
        raise ValueError("must be a day written YYYY-MM-DD")
    return value  # parsed by pydantic: an impossible day (2026-02-30) is refused there


Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN, "examples": ["2026-11-01"]}),
]
Threshold = Annotated[
    Decimal,
    _exact(THRESHOLD_PATTERN, "a threshold"),
    Field(ge=0, max_digits=18, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": THRESHOLD_PATTERN, "examples": ["100000"]}),
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

    effective_from: Day
    active: StrictBool = True
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

    login: str = Field(min_length=1, max_length=64, pattern=LOGIN_PATTERN)
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
