"""Pydantic schemas of contracts: what callers send in, what the service hands back.

Amounts are :class:`~decimal.Decimal` with at most two decimals and travel
as strings in JSON (``"1234.50"``).  A binary float is refused outright
rather than converted: ``0.1`` as a float is not one tenth, and a contract
amount must never pass through one.  Every constraint sits on the field it
concerns, so a validation error names that field.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

__all__ = [
    "CONTRACT_ACTIONS",
    "CONTRACT_STATUSES",
    "INSTALLMENT_STATUSES",
    "PAYMENT_METHODS",
    "PRODUCT_TYPES",
    "ContractAction",
    "ContractCreate",
    "ContractLineIn",
    "ContractLineView",
    "ContractPage",
    "ContractStatus",
    "ContractSummary",
    "ContractUpdate",
    "ContractView",
    "InstallmentIn",
    "InstallmentStatus",
    "InstallmentView",
    "MoneyIn",
    "PaymentIn",
    "PaymentMethod",
    "PaymentView",
    "PositiveMoneyIn",
    "ProductType",
    "UnsignedMoneyIn",
]

ProductType = Literal["deposit", "loan", "card", "wealth", "insurance"]
ContractStatus = Literal["draft", "pending", "approved", "rejected", "active", "expired", "terminated"]
ContractAction = Literal["submit", "approve", "reject", "rework", "sign", "terminate"]
InstallmentStatus = Literal["paid", "partial", "due", "overdue"]
PaymentMethod = Literal["transfer", "cash", "card", "cheque", "direct-debit"]

PRODUCT_TYPES: tuple[str, ...] = get_args(ProductType)
CONTRACT_STATUSES: tuple[str, ...] = get_args(ContractStatus)
CONTRACT_ACTIONS: tuple[str, ...] = get_args(ContractAction)
INSTALLMENT_STATUSES: tuple[str, ...] = get_args(InstallmentStatus)
PAYMENT_METHODS: tuple[str, ...] = get_args(PaymentMethod)

_CENT = Decimal("0.01")
_SIGNED_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"
_UNSIGNED_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('amounts are exact: send a string such as "12.30", not a binary float')
    return value


def _to_cents(value: Decimal) -> Decimal:
    # "1.5" and "1.50" are the same amount; views show two decimals.
    return value.quantize(_CENT)


#: An exact signed amount as input: string, int or Decimal; at most 16 + 2 digits.
MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(max_digits=18, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_to_cents),
    WithJsonSchema({"type": "string", "pattern": _SIGNED_PATTERN, "examples": ["1250.00", "-20.00"]}),
]


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


# The sign is checked by validators, not by ``Field(gt=…)``: the JSON schema of
# a string amount must not carry numeric keywords that apply only to numbers.
_UNSIGNED_SCHEMA = WithJsonSchema({"type": "string", "pattern": _UNSIGNED_PATTERN, "examples": ["1250.00"]})
#: A price: an exact amount of zero or more.
UnsignedMoneyIn = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(max_digits=18, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_to_cents),
    AfterValidator(_not_negative),
    _UNSIGNED_SCHEMA,
]
#: A contract or instalment amount: an exact amount above zero.
PositiveMoneyIn = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(max_digits=18, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_to_cents),
    AfterValidator(_positive),
    _UNSIGNED_SCHEMA,
]
_Text64 = Annotated[str, Field(min_length=1, max_length=64)]


class ContractLineIn(BaseModel):
    """One product line; ``amount``, if given, must equal ``quantity × unit_price``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product: _Text64
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: UnsignedMoneyIn
    amount: UnsignedMoneyIn | None = None

    @field_validator("amount")
    @classmethod
    def _amount_is_product(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        quantity, unit_price = info.data.get("quantity"), info.data.get("unit_price")
        if value is None or quantity is None or unit_price is None:
            return value
        expected = quantity * unit_price
        if value != expected:
            raise ValueError(f"must be quantity × unit_price = {expected}")
        return value

    @property
    def line_amount(self) -> Decimal:
        return self.quantity * self.unit_price


class InstallmentIn(BaseModel):
    """One instalment of the payment plan."""

    model_config = ConfigDict(extra="forbid")

    due_on: date
    amount: PositiveMoneyIn


class PaymentIn(BaseModel):
    """A payment received (positive) or refunded (negative)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount: MoneyIn
    received_on: date
    method: PaymentMethod
    reference: str | None = Field(default=None, max_length=64)

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValueError("must not be zero (positive: received, negative: refund)")
        return value


class ContractCreate(BaseModel):
    """A new contract.

    With ``lines`` the amount may be omitted (it is their sum) and, if given,
    must equal that sum; without lines it is required.  ``installments``, if
    given, must add up to the amount.  ``renewed_from_id`` makes this a
    renewal of an active or expired contract of the same customer.
    ``owner_login`` defaults to the acting user.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    product_type: ProductType
    amount: PositiveMoneyIn | None = None
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    start_on: date
    end_on: date
    lines: list[ContractLineIn] = Field(default_factory=list, max_length=200)
    installments: list[InstallmentIn] = Field(default_factory=list, max_length=600)
    renewed_from_id: int | None = Field(default=None, ge=1)
    owner_login: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("end_on")
    @classmethod
    def _ends_after_start(cls, value: date, info: ValidationInfo) -> date:
        start_on = info.data.get("start_on")
        if start_on is not None and value < start_on:
            raise ValueError(f"must not be before start_on ({start_on.isoformat()})")
        return value


class ContractUpdate(BaseModel):
    """Changes to a draft or rejected contract; omitted fields stay as they are.

    ``lines`` and ``installments`` replace the stored lists when given (an
    empty list removes them).  Giving ``lines`` without ``amount`` sets the
    amount to their sum.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    product_type: ProductType | None = None
    amount: PositiveMoneyIn | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    start_on: date | None = None
    end_on: date | None = None
    lines: list[ContractLineIn] | None = Field(default=None, max_length=200)
    installments: list[InstallmentIn] | None = Field(default=None, max_length=600)


class ContractLineView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    product: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class InstallmentView(BaseModel):
    """An instalment with what has been paid against it (oldest due first)."""

    model_config = ConfigDict(frozen=True)

    id: int
    due_on: date
    amount: Decimal
    paid: Decimal
    remaining: Decimal
    status: InstallmentStatus


class PaymentView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    amount: Decimal
    received_on: date
    method: str
    reference: str | None
    recorded_by: str | None
    created_at: datetime


class ContractSummary(BaseModel):
    """A contract in a list or a reminder: no lines, plan or payments."""

    model_config = ConfigDict(frozen=True)

    id: int
    number: str
    customer_id: int
    customer_name: str
    owner_id: int | None
    owner_login: str | None
    title: str
    product_type: str
    amount: Decimal
    currency: str
    start_on: date
    end_on: date
    status: ContractStatus
    is_renewal: bool
    renewed_from_id: int | None
    signed_on: date | None


class ContractView(ContractSummary):
    """One contract in full, with received and outstanding amounts."""

    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[ContractLineView]
    installments: list[InstallmentView]
    payments: list[PaymentView]
    received: Decimal
    outstanding: Decimal


class ContractPage(BaseModel):
    """One page of a contract list; ``total`` counts every match."""

    model_config = ConfigDict(frozen=True)

    items: list[ContractSummary]
    total: int
    page: int
    page_size: int
