"""The release job: owned customers left without a follow-up or a deal go back to the public pool.

Each release is a conditional ``UPDATE`` that repeats the due condition, so
a follow-up committed while the job runs wins (the row no longer matches
and is left alone), and a second run, or a second service instance,
releases nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.actor import Actor
from crm_core.models import Customer
from crm_core.protection.rules import (
    ProtectionPolicy,
    deal_clock,
    due_clause,
    follow_up_clock,
    record_change,
    release_rule,
    rule_reason,
)

__all__ = ["ReleaseResult", "ReleasedCustomer", "release_due"]

log = logging.getLogger(__name__)

JOB_ACTOR = "protection.release"


class ReleasedCustomer(BaseModel):
    """One customer the job returned to the pool, and why."""

    model_config = ConfigDict(frozen=True)

    customer_id: int
    previous_owner_id: int
    rule: str  # "no-follow-up" or "no-deal"


class ReleaseResult(BaseModel):
    """What one run of the release job did; ``more`` means the batch limit was hit."""

    model_config = ConfigDict(frozen=True)

    released: list[ReleasedCustomer]
    more: bool = False

    def summary(self) -> dict[str, Any]:
        """A small JSON-able summary for ``job_leases.last_result``."""
        return {
            "released": len(self.released),
            "customer_ids": [r.customer_id for r in self.released][:100],
            "more": self.more,
        }


async def release_due(
    session: AsyncSession, policy: ProtectionPolicy, now: datetime, *, limit: int = 500
) -> ReleaseResult:
    """Release up to ``limit`` customers due at ``now``, in the caller's transaction."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    actor = Actor.system(JOB_ACTOR)
    rows = (
        await session.execute(
            select(
                Customer.id,
                Customer.owner_agent_id,
                follow_up_clock().label("follow_up_start"),
                deal_clock().label("deal_start"),
            )
            .where(due_clause(policy, now))
            .order_by(Customer.id)
            .limit(limit + 1)
        )
    ).all()
    released: list[ReleasedCustomer] = []
    for row in rows[:limit]:
        _, rule = release_rule(policy, row.follow_up_start, row.deal_start)
        result = await session.execute(
            update(Customer)
            .where(
                Customer.id == row.id, Customer.owner_agent_id == row.owner_agent_id, due_clause(policy, now)
            )
            .values(
                status="public",
                owner_agent_id=None,
                owned_since=None,
                released_at=now,
                previous_owner_id=row.owner_agent_id,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:
            continue  # followed up, locked or moved meanwhile: not due any more
        await record_change(
            session,
            actor,
            customer_id=row.id,
            action="release",
            from_owner_id=row.owner_agent_id,
            to_owner_id=None,
            reason=rule_reason(policy, rule),
            at=now,
        )
        released.append(ReleasedCustomer(customer_id=row.id, previous_owner_id=row.owner_agent_id, rule=rule))
    if released:
        log.info("protection.released", extra={"count": len(released), "more": len(rows) > limit})
    return ReleaseResult(released=released, more=len(rows) > limit)
