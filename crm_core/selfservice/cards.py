"""Lost cards reported through the IVR: mark the card, tell the owner, give the caller a reference.

Each report's transaction starts by writing the customer's row, so reports of
one customer (the same call retried, or two calls) serialise on both backends;
the card's status then moves to ``lost`` in a conditional ``UPDATE``: one
report marks the card and writes the report, the other finds that report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.customers.accounts import mask
from crm_core.errors import NotFound
from crm_core.models import Account, Customer, Transaction
from crm_core.models.activity import LostCardReport
from crm_core.selfservice.history import check_call_id, ivr_follow_up
from crm_core.selfservice.schemas import LostCardResult

__all__ = ["LostCards", "lost_card_reference"]

log = logging.getLogger(__name__)


def lost_card_reference(report_id: int, reported_at: datetime) -> str:
    """``LC-<UTC date>-<id, 6 digits or more>``: unique because the id is."""
    return f"LC-{reported_at:%Y%m%d}-{report_id:06d}"


class LostCards:
    """Marks cards lost for :class:`crm_core.selfservice.service.SelfService`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], actor: Actor, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._actor = actor
        self._clock = clock

    async def report(self, customer_id: int, account_id: int | None, call_id: str | None) -> LostCardResult:
        """See :meth:`crm_core.selfservice.service.SelfService.report_card_lost`."""
        check_call_id(call_id)
        async with self._sessions() as session:
            customer = await session.get(Customer, customer_id)
            if customer is None or customer.deleted_at is not None:
                raise NotFound(f"no customer {customer_id}")
            named = await _named_card(session, customer_id, account_id)
            if call_id is not None:
                earlier = await _report_in_call(session, customer_id, call_id, named and named[0])
                if earlier is not None:
                    return await _result(session, earlier, already=True)
            card_id, last4 = named or await _latest_card(session, customer_id)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            # First statement, a write: reports of one customer queue here (PostgreSQL's row lock,
            # SQLite's write lock), so the card chosen below cannot be chosen by a racing report of
            # the same call, which would then mark the customer's *next* card lost as well.
            await session.execute(
                update(Customer)
                .where(Customer.id == customer_id)
                .values(id=Customer.id)
                .execution_options(synchronize_session=False)
            )
            if call_id is not None:
                earlier = await _report_in_call(session, customer_id, call_id, named and named[0])
                if earlier is not None:
                    return await _result(session, earlier, already=True)
                if named is None:
                    card_id, last4 = await _latest_card(session, customer_id)
            marked = await session.execute(
                update(Account)
                .where(Account.id == card_id, Account.customer_id == customer_id, Account.status != "lost")
                .values(status="lost")
                .execution_options(synchronize_session=False)
            )
            assert isinstance(marked, CursorResult)
            if marked.rowcount != 1:
                # Marked lost meanwhile (this call's retry, another call, a clerk): reuse its report.
                earlier = await _latest_report(session, card_id, call_id)
                if earlier is not None:
                    return await _result(session, earlier, already=True)
            result = await self._write_report(session, customer_id, card_id, last4, call_id, now)
        log.info(
            "selfservice.card_lost",
            extra={"customer_id": customer_id, "account_id": card_id, "call_id": call_id},
        )
        return result

    async def _write_report(
        self,
        session: AsyncSession,
        customer_id: int,
        card_id: int,
        last4: str,
        call_id: str | None,
        now: datetime,
    ) -> LostCardResult:
        follow_up_id = await ivr_follow_up(
            session,
            customer_id,
            f"card {mask(last4)} reported lost by phone",
            outcome="ivr-card-lost",
            urgent=True,
            next_contact_on=now.date(),
            now=now,
        )
        report = LostCardReport(
            customer_id=customer_id,
            account_id=card_id,
            call_id=call_id,
            follow_up_id=follow_up_id,
            reported_at=now,
        )
        session.add(report)
        await session.flush()
        report.reference = lost_card_reference(report.id, now)
        await audit(
            session,
            self._actor,
            "update",
            "account",
            card_id,
            {"status": "lost", "reference": report.reference, "call_id": call_id, "customer_id": customer_id},
        )
        return LostCardResult(
            reference=report.reference,
            account_id=card_id,
            last4=last4,
            already_reported=False,
            follow_up_id=follow_up_id,
        )


async def _report_in_call(
    session: AsyncSession, customer_id: int, call_id: str, account_id: int | None
) -> LostCardReport | None:
    query = select(LostCardReport).where(
        LostCardReport.customer_id == customer_id, LostCardReport.call_id == call_id
    )
    if account_id is not None:
        query = query.where(LostCardReport.account_id == account_id)
    return await session.scalar(query.order_by(LostCardReport.id).limit(1))


async def _latest_report(session: AsyncSession, card_id: int, call_id: str | None) -> LostCardReport | None:
    # This call's own report first, else the card's latest.
    same_call = LostCardReport.call_id.is_not_distinct_from(call_id)
    return await session.scalar(
        select(LostCardReport)
        .where(LostCardReport.account_id == card_id)
        .order_by(same_call.desc(), LostCardReport.id.desc())
        .limit(1)
    )


async def _named_card(
    session: AsyncSession, customer_id: int, account_id: int | None
) -> tuple[int, str] | None:
    """``(id, last4)`` of the card ``account_id`` names (any status), or ``None`` when it names none.

    An account of the customer's that is not a card (the one the caller
    proved their identity with) names no card; one of someone else's is
    :class:`NotFound`.
    """
    if account_id is None:
        return None
    named = (
        await session.execute(
            select(Account.type, Account.number_last4).where(
                Account.id == account_id, Account.customer_id == customer_id
            )
        )
    ).one_or_none()
    if named is None:
        raise NotFound(f"customer {customer_id} has no account {account_id}")
    return (account_id, str(named.number_last4)) if named.type == "card" else None


async def _latest_card(session: AsyncSession, customer_id: int) -> tuple[int, str]:
    """``(id, last4)`` of the customer's most recently used active card (:class:`NotFound` if none)."""
    last_used = (
        select(Transaction.account_id, func.max(Transaction.occurred_at).label("last_used"))
        .group_by(Transaction.account_id)
        .subquery()
    )
    row = (
        await session.execute(
            select(Account.id, Account.number_last4)
            .outerjoin(last_used, last_used.c.account_id == Account.id)
            .where(Account.customer_id == customer_id, Account.type == "card", Account.status == "active")
            .order_by(last_used.c.last_used.desc().nulls_last(), Account.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"customer {customer_id} has no active card")
    return int(row.id), str(row.number_last4)


async def _result(session: AsyncSession, report: LostCardReport, *, already: bool) -> LostCardResult:
    last4 = await session.scalar(select(Account.number_last4).where(Account.id == report.account_id))
    assert report.reference is not None and last4 is not None
    return LostCardResult(
        reference=report.reference,
        account_id=report.account_id,
        last4=last4,
        already_reported=already,
        follow_up_id=report.follow_up_id,
    )
