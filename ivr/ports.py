"""What the IVR needs from the CRM's self-service and from the ACD's callback desk.

``crm_core.selfservice.service.SelfService`` fits :class:`SelfServicePort`;
``bankcti.callbacks.engine.CallbackEngine`` fits :class:`CallbackHandOff`.  Results are
described by the attributes the IVR reads, so any object with them (a
dataclass, a pydantic model) will do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from crm_core.schemas import CustomerCard

__all__ = [
    "AccountBalanceView",
    "CallbackHandOff",
    "CallbackRefView",
    "CustomerCards",
    "LostCardView",
    "SelfServicePort",
    "TransactionView",
    "VerifyView",
]


class VerifyView(Protocol):
    """Outcome of one PIN check (``status``: verified, wrong_pin, locked, unknown_account, no_pin)."""

    @property
    def status(self) -> str: ...
    @property
    def customer_id(self) -> int | None: ...
    @property
    def account_id(self) -> int | None: ...
    @property
    def attempts_left(self) -> int | None: ...


class AccountBalanceView(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def last4(self) -> str: ...
    @property
    def balance(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...


class TransactionView(Protocol):
    @property
    def amount(self) -> Decimal: ...
    @property
    def occurred_on(self) -> date | datetime: ...


class LostCardView(Protocol):
    @property
    def reference(self) -> str: ...


class CallbackRefView(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def reference(self) -> str: ...


class SelfServicePort(Protocol):
    """Banking operations a caller may run from the IVR; each writes the customer's follow-up history."""

    async def verify(
        self, *, account_number: str, pin: str, caller_customer_id: int | None, call_id: str | None
    ) -> VerifyView: ...

    async def balances(
        self, customer_id: int, *, call_id: str | None = None
    ) -> Sequence[AccountBalanceView]: ...

    async def recent_transactions(
        self, customer_id: int, limit: int = 3, *, call_id: str | None = None
    ) -> Sequence[TransactionView]: ...

    async def report_card_lost(
        self, customer_id: int, *, account_id: int | None, call_id: str | None
    ) -> LostCardView: ...

    async def request_callback(
        self,
        customer_id: int | None,
        *,
        number_e164: str,
        window_start: datetime,
        window_end: datetime,
        reason: str,
        call_id: str | None,
    ) -> CallbackRefView: ...


class CallbackHandOff(Protocol):
    """Where the IVR leaves a callback request for the ACD to dial later."""

    def hand_off(
        self,
        *,
        callback_id: int,
        reference: str,
        customer_id: int | None,
        number_e164: str,
        window_start: datetime,
        window_end: datetime,
        reason: str,
        call_id: str | None,
    ) -> None: ...


@runtime_checkable
class CustomerCards(Protocol):
    """A directory that can also give one customer's card by id (``crm_core``'s does)."""

    async def card(self, customer_id: int) -> CustomerCard | None: ...
