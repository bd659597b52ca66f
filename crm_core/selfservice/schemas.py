"""What :class:`crm_core.selfservice.service.SelfService` returns to the IVR.

Nothing here carries a full account number or a PIN: accounts appear by id
and last four digits only.  Amounts are exact ``Decimal`` (JSON: strings).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "PIN_ACCOUNT_TYPES",
    "VERIFY_STATUSES",
    "AccountBalance",
    "CallbackRef",
    "CallbackView",
    "LostCardResult",
    "TransactionLine",
    "VerifyResult",
    "VerifyStatus",
]

#: Account types that carry a phone-banking PIN.
PIN_ACCOUNT_TYPES = ("deposit", "card")

VerifyStatus = Literal["verified", "wrong_pin", "locked", "unknown_account", "no_pin"]
VERIFY_STATUSES: tuple[VerifyStatus, ...] = ("verified", "wrong_pin", "locked", "unknown_account", "no_pin")


class VerifyResult(BaseModel):
    """The outcome of one PIN check.

    * ``verified``: ``customer_id``/``account_id`` are the caller's;
      ``attempts_left`` is the full allowance again.
    * ``wrong_pin``: ``attempts_left`` (≥ 1) more tries before the lock.
    * ``locked``: PIN entry for this account is locked until ``locked_until``
      (this attempt may be the one that locked it); the PIN was not checked
      if the lock was already in place.
    * ``unknown_account``: no such number (or its card is reported lost, or
      its customer deleted); nothing else is said.
    * ``no_pin``: the account exists but has no PIN (``customer_id`` is not
      given out: the caller has proved nothing).
    """

    model_config = ConfigDict(frozen=True)

    status: VerifyStatus
    customer_id: int | None = None
    account_id: int | None = None
    attempts_left: int | None = None
    locked_until: datetime | None = None


class AccountBalance(BaseModel):
    """One account as the IVR reads it out."""

    model_config = ConfigDict(frozen=True)

    account_id: int
    type: str
    last4: str
    balance: Decimal
    currency: str
    status: str


class TransactionLine(BaseModel):
    """One movement: ``amount`` signed (+ credit, − debit)."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    occurred_on: date
    description: str
    account_last4: str


class LostCardResult(BaseModel):
    """A lost-card report: ``reference`` (``LC-20261129-000042``) is what the caller is told.

    ``already_reported`` is true when this report existed before the call
    (a repeat in the same call, or the card had been reported already).
    """

    model_config = ConfigDict(frozen=True)

    reference: str
    account_id: int
    last4: str
    already_reported: bool
    follow_up_id: int | None


class CallbackRef(BaseModel):
    """A stored callback request; ``created`` is false when the call had already asked."""

    model_config = ConfigDict(frozen=True)

    id: int
    reference: str
    status: str
    window_start: datetime
    window_end: datetime
    created: bool


class CallbackView(BaseModel):
    """A callback request as the ACD works through them."""

    model_config = ConfigDict(frozen=True)

    id: int
    reference: str
    customer_id: int | None
    number_e164: str
    window_start: datetime
    window_end: datetime
    reason: str
    status: str
    result: str | None
    call_id: str | None
    created_at: datetime
    updated_at: datetime
