"""Contract work done by the service itself: expiry reminders and the expiry job.

Both run inside the caller's transaction (a job runner's, holding its
lease) and neither commits.  The expiry job is idempotent: it moves only
contracts that are still ``active`` with an ``end_on`` before today, so a
second run — or a second service instance after a lost lease — finds
nothing left to do.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.contracts.schemas import ContractSummary
from crm_core.contracts.views import summaries
from crm_core.errors import InvalidInput
from crm_core.models import Contract, Customer
from crm_core.models.coltypes import utcnow

__all__ = ["EXPIRY_JOB", "MAX_WITHIN_DAYS", "check_within_days", "expire_due", "expire_job", "expiring"]

log = logging.getLogger(__name__)

#: The job's name (job lease and audit login).
EXPIRY_JOB = "contracts.expire"
#: The furthest ahead an expiry look-up may reach (ten years).
MAX_WITHIN_DAYS = 3653


def check_within_days(within_days: int, field: str = "within_days") -> int:
    """``within_days`` if it is 0 to :data:`MAX_WITHIN_DAYS`; else :class:`InvalidInput` naming ``field``."""
    if not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise InvalidInput(field, f"must be 0 to {MAX_WITHIN_DAYS} days")
    return within_days


async def expiring(session: AsyncSession, today: date, within_days: int) -> list[ContractSummary]:
    """Active contracts of live customers ending between ``today`` and ``today + within_days``.

    Ordered by end date (soonest first), then id; for the "contract
    expiring" reminder, which goes to each contract's owner.
    """
    check_within_days(within_days)
    query = (
        select(Contract, Customer)
        .join(Customer, Customer.id == Contract.customer_id)
        .where(
            Contract.status == "active",
            Contract.deleted_at.is_(None),
            Customer.deleted_at.is_(None),
            Contract.end_on >= today,
            Contract.end_on <= today + timedelta(days=within_days),
        )
        .order_by(Contract.end_on, Contract.id)
    )
    return await summaries(session, query)


async def expire_due(session: AsyncSession, now: datetime) -> int:
    """Move active contracts whose ``end_on`` is before ``now``'s UTC date to ``expired``.

    Returns how many moved; each move is audited as a ``transition`` by the
    system.  Rows are locked before the change (PostgreSQL) and the update
    re-checks the status, so a contract terminated meanwhile stays
    terminated and is not counted.
    """
    today = now.astimezone(UTC).date() if now.tzinfo else now.date()
    due = (
        await session.scalars(
            select(Contract.id)
            .where(Contract.status == "active", Contract.end_on < today, Contract.deleted_at.is_(None))
            .order_by(Contract.id)
            .with_for_update()
        )
    ).all()
    actor = Actor.system(EXPIRY_JOB)
    expired = 0
    for contract_id in due:
        result = await session.execute(
            update(Contract)
            .where(Contract.id == contract_id, Contract.status == "active")
            .values(status="expired", updated_at=utcnow())
            .returning(Contract.end_on)
        )
        end_on = result.scalar_one_or_none()
        if end_on is None:
            continue
        expired += 1
        await audit(
            session,
            actor,
            "transition",
            "contract",
            str(contract_id),
            {"action": "expire", "from": "active", "to": "expired", "end_on": end_on.isoformat()},
        )
    if expired:
        log.info("crm.contracts_expired", extra={"count": expired, "today": today.isoformat()})
    return expired


async def expire_job(session: AsyncSession, now: datetime) -> dict[str, Any]:
    """:func:`expire_due` in the shape of a :data:`crm_core.jobs.JobFunc`: ``{"expired": n}``."""
    return {"expired": await expire_due(session, now)}
