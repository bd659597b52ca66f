"""PIN handling of the IVR self-service: setting a PIN and checking one, with lockout.

Used through :class:`crm_core.selfservice.service.SelfService` (``set_pin``,
``verify``).  Reads happen in a session of their own and every write
transaction starts with its conditional ``UPDATE`` (see
:mod:`crm_core.selfservice.pins`), so concurrent attempts never trip over
SQLite's read-snapshot upgrade and are each counted once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.customers.accounts import AccountBook, mask
from crm_core.errors import InvalidInput, NotFound
from crm_core.models import Account, Customer
from crm_core.parameters.store import ParameterStore
from crm_core.selfservice.history import check_call_id, ivr_follow_up, link_call
from crm_core.selfservice.pins import check_pin_format, hash_pin, pin_matches, record_failure, record_success
from crm_core.selfservice.schemas import PIN_ACCOUNT_TYPES, VerifyResult, VerifyStatus

__all__ = ["Pins"]

log = logging.getLogger(__name__)

# A PIN changed between reading and counting makes the attempt start over; more is a bug.
_VERIFY_ROUNDS = 3


class Pins:
    """Sets and checks phone-banking PINs for :class:`crm_core.selfservice.service.SelfService`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pepper: bytes,
        parameters: ParameterStore,
        actor: Actor,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._book = AccountBook(sessions, pepper)  # checks the pepper's length
        self._pepper = pepper
        self._parameters = parameters
        self._actor = actor
        self._clock = clock

    async def set_pin(self, account_id: int, pin: str) -> None:
        """Give deposit or card account ``account_id`` the PIN ``pin`` (4–6 digits); clears any lockout.

        :class:`InvalidInput` (field ``pin`` — the PIN is never echoed — or
        ``account_id`` for another account type); :class:`NotFound` for an
        unknown account or a deleted customer's.
        """
        stored = hash_pin(self._pepper, check_pin_format(pin))
        now = self._clock()
        live = select(Customer.id).where(Customer.id == Account.customer_id, Customer.deleted_at.is_(None))
        async with self._sessions() as session, session.begin():
            # The write comes first: SQLite then takes its write lock before reading anything.
            row = (
                await session.execute(
                    update(Account)
                    .where(Account.id == account_id, Account.type.in_(PIN_ACCOUNT_TYPES), live.exists())
                    .values(pin_hash=stored, pin_failures=0, pin_first_failure_at=None, pin_locked_until=None)
                    .returning(Account.customer_id, Account.number_last4)
                    .execution_options(synchronize_session=False)
                )
            ).one_or_none()
            if row is None:
                kind = await session.scalar(
                    select(Account.type).where(Account.id == account_id, live.exists())
                )
                if kind is None:
                    raise NotFound(f"no account {account_id}")
                raise InvalidInput("account_id", "PINs are set on deposit and card accounts only")
            await audit(session, self._actor, "update", "account", account_id, {"changed": "PIN"})
            await ivr_follow_up(
                session,
                row.customer_id,
                f"phone-banking PIN set for {mask(row.number_last4)}",
                outcome="pin-set",
                now=now,
            )
        log.info("selfservice.pin_set", extra={"account_id": account_id})

    async def verify(
        self, *, account_number: str, pin: str, caller_customer_id: int | None, call_id: str | None
    ) -> VerifyResult:
        """Check ``pin`` against the account (or card) numbered ``account_number``.

        See :class:`~crm_core.selfservice.schemas.VerifyResult` for the
        statuses.  A malformed number is an ``unknown_account``; a malformed
        PIN counts as a wrong one.  ``caller_customer_id`` (the caller-ID
        match, if any) is only recorded: a customer may call from any phone.
        On success the call ``call_id`` is linked to the customer.  Every
        attempt is audited (action ``verify``); attempts on a known account
        also go to the customer's follow-up history, except repeated tries
        while locked.  Raises only :class:`InvalidInput` for a bad ``call_id``.
        """
        check_call_id(call_id)
        max_failures = int(await self._parameters.get("ivr.pin_max_failures"))
        lockout = timedelta(minutes=int(await self._parameters.get("ivr.pin_lockout_minutes")))
        try:
            digest = self._book.number_hash(account_number)
        except (ValueError, TypeError):
            digest = None
        for _ in range(_VERIFY_ROUNDS):
            now = self._clock()
            account = await self._account(digest)
            if account is None or account.pin_hash is None or _locked(account, now):
                return await self._refuse(account, now, call_id, caller_customer_id)
            matched = pin_matches(self._pepper, pin, account.pin_hash)
            async with self._sessions() as session, session.begin():
                if matched:
                    if not await record_success(session, account.id, account.pin_hash, now=now):
                        continue
                    result = VerifyResult(
                        status="verified",
                        customer_id=account.customer_id,
                        account_id=account.id,
                        attempts_left=max_failures,
                    )
                    if call_id is not None:
                        await link_call(session, call_id, account.customer_id, now)
                else:
                    failure = await record_failure(
                        session,
                        account.id,
                        account.pin_hash,
                        now=now,
                        max_failures=max_failures,
                        lockout=lockout,
                    )
                    if failure is None:
                        continue
                    result = VerifyResult(
                        status="locked" if failure.locked_until else "wrong_pin",
                        account_id=account.id,
                        attempts_left=max(0, max_failures - failure.failures),
                        locked_until=failure.locked_until,
                    )
                await self._record(session, account, result, now, call_id, caller_customer_id)
            return result
        raise RuntimeError("PIN check did not settle")  # only if the PIN changes on every round

    async def _account(self, digest: str | None) -> Account | None:
        if digest is None:
            return None
        async with self._sessions() as session:
            return await session.scalar(
                select(Account)
                .join(Customer, Customer.id == Account.customer_id)
                .where(Account.number_hash == digest, Customer.deleted_at.is_(None), Account.status != "lost")
            )

    async def _refuse(
        self, account: Account | None, now: datetime, call_id: str | None, caller_customer_id: int | None
    ) -> VerifyResult:
        """Unknown number, no PIN, or already locked: nothing to count, only to audit."""
        if account is None:
            result = VerifyResult(status="unknown_account")
        elif account.pin_hash is None:
            result = VerifyResult(status="no_pin", account_id=account.id)
        else:
            result = VerifyResult(
                status="locked", account_id=account.id, attempts_left=0, locked_until=account.pin_locked_until
            )
        async with self._sessions() as session, session.begin():
            await self._record(session, account, result, now, call_id, caller_customer_id, history=False)
        return result

    async def _record(
        self,
        session: AsyncSession,
        account: Account | None,
        result: VerifyResult,
        now: datetime,
        call_id: str | None,
        caller_customer_id: int | None,
        *,
        history: bool = True,
    ) -> None:
        matched = (
            None
            if account is None or caller_customer_id is None
            else caller_customer_id == account.customer_id
        )
        detail: dict[str, Any] = {
            "result": result.status,
            "call_id": call_id,
            "attempts_left": result.attempts_left,
            "caller_matched": matched,
        }
        if account is not None:
            detail["customer_id"] = account.customer_id
        await audit(
            session, self._actor, "verify", "account", None if account is None else account.id, detail
        )
        if history and account is not None:
            await ivr_follow_up(
                session, account.customer_id, _verify_text(result, mask(account.number_last4), matched),
                outcome=f"ivr-{result.status.replace('_', '-')}", now=now,
            )  # fmt: skip
        log.info(
            "selfservice.verify",
            extra={
                "status": result.status,
                "account_id": result.account_id,
                "call_id": call_id,
                "caller_matched": matched,
            },
        )


def _locked(account: Account, now: datetime) -> bool:
    return account.pin_locked_until is not None and account.pin_locked_until > now


def _verify_text(result: VerifyResult, masked: str, caller_matched: bool | None) -> str:
    status: VerifyStatus = result.status
    if status == "verified":
        text = f"caller identified by phone with the PIN of {masked}"
    elif status == "wrong_pin":
        text = f"wrong PIN entered by phone for {masked} ({result.attempts_left} attempts left)"
    else:
        until = f"{result.locked_until:%Y-%m-%d %H:%M} UTC" if result.locked_until else "later"
        text = f"wrong PIN entered by phone for {masked}: PIN entry locked until {until}"
    if caller_matched is False:
        text += " (calling from a number of another customer)"
    return text
