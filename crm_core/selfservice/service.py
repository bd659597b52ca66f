"""Phone-banking self-service for the IVR: PIN checks, balances, recent transactions, lost cards, callbacks.

:class:`SelfService` acts as the system (``Actor.system("ivr")``): the IVR
has identified the caller itself (account number + PIN through
:meth:`SelfService.verify`) and calls the other methods with the
``customer_id`` that proved.  Every action is audited and written to the
customer's follow-up history (see :mod:`crm_core.selfservice.history`)::

    service = SelfService(sessions, pepper, ParameterStore(sessions))
    result = await service.verify(account_number=digits, pin=pin, caller_customer_id=popped, call_id=linkedid)
    if result.status == "verified":
        for account in await service.balances(result.customer_id, call_id=linkedid):
            ...

A PIN or a full account number never reaches a log line, an exception
message, an audit entry or a database column: numbers are matched by their
peppered hash (:mod:`crm_core.customers.accounts`), PINs by a salted, peppered hash
(:mod:`crm_core.selfservice.pins`), and only last four digits are shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.errors import InvalidInput, NotFound
from crm_core.models import Account, Customer, Transaction
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore
from crm_core.selfservice.callbacks import Callbacks
from crm_core.selfservice.cards import LostCards
from crm_core.selfservice.history import check_call_id, ivr_follow_up
from crm_core.selfservice.schemas import (
    AccountBalance,
    CallbackRef,
    CallbackView,
    LostCardResult,
    TransactionLine,
    VerifyResult,
)
from crm_core.selfservice.verify import Pins

__all__ = [
    "MAX_TRANSACTIONS",
    "AccountBalance",
    "CallbackRef",
    "CallbackView",
    "LostCardResult",
    "SelfService",
    "TransactionLine",
    "VerifyResult",
]

log = logging.getLogger(__name__)

#: The most transactions one :meth:`SelfService.recent_transactions` call returns.
MAX_TRANSACTIONS = 20
_TYPE_ORDER = {"deposit": 0, "card": 1, "wealth": 2, "loan": 3}


class SelfService:
    """Everything the IVR's self-service needs from the CRM (see the module docstring).

    ``pepper`` is the install's pepper (:func:`crm_core.customers.accounts.load_or_create_pepper`);
    ``parameters`` supplies ``ivr.pin_max_failures`` and ``ivr.pin_lockout_minutes``;
    ``clock`` returns aware UTC time.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pepper: bytes,
        parameters: ParameterStore,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._actor = Actor.system("ivr")
        self._pins = Pins(sessions, pepper, parameters, self._actor, clock)
        self._cards = LostCards(sessions, self._actor, clock)
        self._callbacks = Callbacks(sessions, self._actor, clock)

    async def set_pin(self, account_id: int, pin: str) -> None:
        """Give deposit or card account ``account_id`` the PIN ``pin`` (4–6 digits); clears any lockout.

        :class:`InvalidInput` (field ``pin`` — the PIN is never echoed — or
        ``account_id`` for another account type); :class:`NotFound` for an
        unknown account or a deleted customer's.  Audited and written to the
        customer's history ("phone-banking PIN set for **** 1234").
        """
        await self._pins.set_pin(account_id, pin)

    async def verify(
        self, *, account_number: str, pin: str, caller_customer_id: int | None, call_id: str | None
    ) -> VerifyResult:
        """Check ``pin`` against the account (or card) numbered ``account_number``.

        See :class:`~crm_core.selfservice.schemas.VerifyResult` for the
        statuses.  ``ivr.pin_max_failures`` wrong PINs within
        ``ivr.pin_lockout_minutes`` lock PIN entry for that many minutes; a
        right PIN resets the count.  A malformed number is an
        ``unknown_account``, as is a card reported lost; a malformed PIN
        counts as a wrong one.  ``caller_customer_id`` (the caller-ID match,
        if any) is only recorded: a customer may call from any phone.  On
        success the call ``call_id`` is linked to the customer.  Every
        attempt is audited (action ``verify``); attempts on a known account
        also go to the customer's history, except tries while locked.
        Raises only :class:`InvalidInput` for a bad ``call_id``.
        """
        return await self._pins.verify(
            account_number=account_number, pin=pin, caller_customer_id=caller_customer_id, call_id=call_id
        )

    async def balances(self, customer_id: int, *, call_id: str | None = None) -> list[AccountBalance]:
        """Every account of the customer: deposits first, then cards, wealth, loans (:class:`NotFound`)."""
        check_call_id(call_id)
        rank = case(_TYPE_ORDER, value=Account.type, else_=len(_TYPE_ORDER))
        async with self._sessions() as session:
            await _live_customer(session, customer_id)
            accounts = (
                await session.scalars(
                    select(Account).where(Account.customer_id == customer_id).order_by(rank, Account.id)
                )
            ).all()
        await self._heard(customer_id, "balances", call_id, len(accounts))
        return [
            AccountBalance(
                account_id=a.id,
                type=a.type,
                last4=a.number_last4,
                balance=a.balance,
                currency=a.currency,
                status=a.status,
            )
            for a in accounts
        ]

    async def recent_transactions(
        self, customer_id: int, limit: int = 3, *, call_id: str | None = None
    ) -> list[TransactionLine]:
        """The customer's latest ``limit`` (1–20) transactions, newest first (:class:`NotFound`)."""
        if not 1 <= limit <= MAX_TRANSACTIONS:
            raise InvalidInput("limit", f"must be 1 to {MAX_TRANSACTIONS}")
        check_call_id(call_id)
        async with self._sessions() as session:
            await _live_customer(session, customer_id)
            rows = (
                await session.execute(
                    select(Transaction, Account.number_last4)
                    .join(Account, Account.id == Transaction.account_id)
                    .where(Transaction.customer_id == customer_id)
                    .order_by(Transaction.occurred_at.desc(), Transaction.id.desc())
                    .limit(limit)
                )
            ).all()
        await self._heard(customer_id, "transactions", call_id, len(rows))
        return [
            TransactionLine(
                amount=t.amount,
                occurred_on=t.occurred_at.date(),
                description=t.description,
                account_last4=last4,
            )
            for t, last4 in rows
        ]

    async def _heard(self, customer_id: int, what: str, call_id: str | None, count: int) -> None:
        # A transaction of its own whose first statement writes (see crm_core.selfservice.cards).
        async with self._sessions() as session, session.begin():
            await audit(
                session, self._actor, "view", "customer", customer_id,
                {"view": what, "via": "ivr", "call_id": call_id},
            )  # fmt: skip
            await ivr_follow_up(
                session,
                customer_id,
                f"{what} heard by phone ({count})",
                outcome=f"ivr-{what}",
                now=self._clock(),
            )

    async def report_card_lost(
        self, customer_id: int, account_id: int | None = None, call_id: str | None = None
    ) -> LostCardResult:
        """Mark a card of the customer ``lost`` and return the report's reference.

        ``account_id`` names the card; without it — or when it names another
        account of the customer, such as the deposit account the caller
        verified with — the most recently used active card is taken.
        Creates an urgent follow-up "card **** 1234 reported lost by phone"
        due today (it heads the owner's reminders) and audits the change.
        Idempotent per ``call_id``: reporting again in the same call returns
        the same reference (``already_reported``).  A card reported lost
        before gets its earlier reference back.
        :class:`NotFound` for an unknown customer, an account not theirs, or no
        active card to choose.
        """
        return await self._cards.report(customer_id, account_id, call_id)

    async def request_callback(
        self,
        customer_id: int | None,
        *,
        number_e164: str,
        window_start: datetime,
        window_end: datetime,
        reason: str,
        call_id: str | None,
    ) -> CallbackRef:
        """Store a pending callback request (``customer_id`` ``None``: an unidentified caller).

        :class:`InvalidInput` names the field for a number not in valid
        E.164 form, a window that is empty, longer than 7 days, over, or
        starting more than 30 days ahead (naive times are UTC), an empty or
        overlong (> 255) reason; :class:`NotFound` for an unknown customer.
        Idempotent per ``call_id`` (``created`` false on a repeat).
        """
        return await self._callbacks.request(
            customer_id,
            number_e164=number_e164,
            window_start=window_start,
            window_end=window_end,
            reason=reason,
            call_id=call_id,
        )

    async def pending_callbacks(
        self, limit: int = 50, *, due_by: datetime | None = None
    ) -> list[CallbackView]:
        """Pending requests, earliest window first (only windows opening by ``due_by`` if given)."""
        return await self._callbacks.pending(limit, due_by=due_by)

    async def mark_callback(self, callback_id: int, status: str, result: str | None = None) -> CallbackView:
        """Move a request to ``status`` (see :data:`crm_core.selfservice.callbacks.TRANSITIONS`).

        :class:`NotFound` for an unknown id, :class:`Conflict` for a move
        its current status does not allow (e.g. taken by another instance),
        :class:`InvalidInput` for an unknown status or a ``result`` over 255
        characters.  Final statuses are written to the customer's history.
        """
        return await self._callbacks.mark(callback_id, status, result)


async def _live_customer(session: AsyncSession, customer_id: int) -> None:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise NotFound(f"no customer {customer_id}")
