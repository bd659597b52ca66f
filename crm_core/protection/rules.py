"""The numbers and queries behind customer protection, shared by the service, the job and reminders.

A customer is *due for release* to the public pool when it is ``owned``
(never ``locked``, never deleted) and either

* ``release_after_days_without_follow_up`` days have passed since its last
  follow-up, or
* ``release_after_days_without_deal`` days have passed since its last deal.

Both clocks start no earlier than ``owned_since``: a customer just claimed
from the pool gets the full period even if the previous owner's last
follow-up is older (without that, claiming a stale customer would release
it again at the next run).  Rows without ``owned_since`` (data older than
protection) fall back to ``created_at``.  "Exactly N days" is due.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.errors import Conflict
from crm_core.models import Agent, Customer, OwnershipHistory
from crm_core.parameters.store import ParameterStore

__all__ = [
    "RULE_NO_DEAL",
    "RULE_NO_FOLLOW_UP",
    "DueRelease",
    "OwnershipChange",
    "OwnershipView",
    "ProtectionPolicy",
    "check_bar",
    "check_daily_cap",
    "check_locked_cap",
    "check_owned_cap",
    "deal_clock",
    "due_clause",
    "due_until",
    "follow_up_clock",
    "locked_count",
    "owned_count",
    "ownership_changes",
    "record_change",
    "release_rule",
    "rule_reason",
]

RULE_NO_FOLLOW_UP = "no-follow-up"
RULE_NO_DEAL = "no-deal"


@dataclass(frozen=True)
class ProtectionPolicy:
    """The ``protection.*`` parameters, read once per operation."""

    max_owned_customers: int
    count_deal_customers: bool
    max_locked_customers: int
    release_after_days_without_follow_up: int
    release_after_days_without_deal: int
    release_warning_days: int
    previous_owner_bar_days: int
    daily_claim_cap: int

    @classmethod
    async def load(cls, parameters: ParameterStore) -> ProtectionPolicy:
        """The current values from ``parameters`` (defaults where never set)."""
        return cls(
            max_owned_customers=int(await parameters.get("protection.max_owned_customers")),
            count_deal_customers=bool(await parameters.get("protection.count_deal_customers")),
            max_locked_customers=int(await parameters.get("protection.max_locked_customers")),
            release_after_days_without_follow_up=int(
                await parameters.get("protection.release_after_days_without_follow_up")
            ),
            release_after_days_without_deal=int(
                await parameters.get("protection.release_after_days_without_deal")
            ),
            release_warning_days=int(await parameters.get("protection.release_warning_days")),
            previous_owner_bar_days=int(await parameters.get("protection.previous_owner_bar_days")),
            daily_claim_cap=int(await parameters.get("protection.daily_claim_cap")),
        )

    @property
    def follow_up_period(self) -> timedelta:
        return timedelta(days=self.release_after_days_without_follow_up)

    @property
    def deal_period(self) -> timedelta:
        return timedelta(days=self.release_after_days_without_deal)

    def counts_toward_cap(self, deal_status: str) -> bool:
        """Whether a customer with ``deal_status`` counts toward ``max_owned_customers``."""
        return self.count_deal_customers or deal_status != "won"


class OwnershipView(BaseModel):
    """Who owns a customer now, and since when."""

    model_config = ConfigDict(frozen=True)

    customer_id: int
    status: str  # owned, public, locked
    owner_id: int | None
    owner_login: str | None
    owned_since: datetime | None
    previous_owner_id: int | None
    released_at: datetime | None


class OwnershipChange(BaseModel):
    """One row of a customer's ownership history (``actor_login`` None: the system)."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    action: str  # create, claim, release, assign, transfer, lock, unlock, import
    from_owner_login: str | None
    to_owner_login: str | None
    actor_login: str | None
    reason: str


class DueRelease(BaseModel):
    """An owned customer that the release job will return to the pool at ``release_at``."""

    model_config = ConfigDict(frozen=True)

    customer_id: int
    customer_name: str
    owner_id: int
    owner_login: str
    release_at: datetime
    release_on: date
    rule: str  # "no-follow-up" or "no-deal"


def _later_of(last: InstrumentedAttribute[Any], start: ColumnElement[Any]) -> ColumnElement[Any]:
    # Portable GREATEST for two timestamps where ``start`` is never NULL (SQLite has no GREATEST).
    return case((and_(last.is_not(None), last > start), last), else_=start)


def _start() -> ColumnElement[Any]:
    return func.coalesce(Customer.owned_since, Customer.created_at)


def follow_up_clock() -> ColumnElement[Any]:
    """SQL: when the no-follow-up period of a customer started."""
    return _later_of(Customer.last_follow_up_at, _start())


def deal_clock() -> ColumnElement[Any]:
    """SQL: when the no-deal period of a customer started."""
    return _later_of(Customer.last_deal_at, _start())


def due_clause(policy: ProtectionPolicy, at: datetime) -> ColumnElement[bool]:
    """SQL: the customer is owned, unlocked, live, and due for release at ``at``."""
    return and_(
        Customer.status == "owned",
        Customer.owner_agent_id.is_not(None),
        Customer.deleted_at.is_(None),
        or_(follow_up_clock() <= at - policy.follow_up_period, deal_clock() <= at - policy.deal_period),
    )


def release_rule(
    policy: ProtectionPolicy, follow_up_start: datetime, deal_start: datetime
) -> tuple[datetime, str]:
    """``(release_at, rule)``: the earlier of the two deadlines and which rule it is."""
    follow_up_at = follow_up_start + policy.follow_up_period
    deal_at = deal_start + policy.deal_period
    if follow_up_at <= deal_at:
        return follow_up_at, RULE_NO_FOLLOW_UP
    return deal_at, RULE_NO_DEAL


def rule_reason(policy: ProtectionPolicy, rule: str) -> str:
    """The ownership-history reason written when ``rule`` releases a customer."""
    if rule == RULE_NO_FOLLOW_UP:
        return f"no follow-up for {policy.release_after_days_without_follow_up} days"
    return f"no deal for {policy.release_after_days_without_deal} days"


async def due_until(
    session: AsyncSession,
    policy: ProtectionPolicy,
    until: datetime,
    *,
    owner_ids: Collection[int] | None = None,
) -> list[DueRelease]:
    """Customers that will be due for release at or before ``until``, soonest first.

    ``owner_ids`` limits the result to customers of those agents.
    """
    follow_up_start = follow_up_clock().label("follow_up_start")
    deal_start = deal_clock().label("deal_start")
    query = (
        select(Customer.id, Customer.name, Customer.owner_agent_id, Agent.login, follow_up_start, deal_start)
        .join(Agent, Agent.id == Customer.owner_agent_id)
        .where(due_clause(policy, until))
        .order_by(Customer.id)
    )
    if owner_ids is not None:
        query = query.where(Customer.owner_agent_id.in_(list(owner_ids)))
    due: list[DueRelease] = []
    for row in await session.execute(query):
        release_at, rule = release_rule(policy, row.follow_up_start, row.deal_start)
        due.append(
            DueRelease(
                customer_id=row.id,
                customer_name=row.name,
                owner_id=row.owner_agent_id,
                owner_login=row.login,
                release_at=release_at,
                release_on=release_at.date(),
                rule=rule,
            )
        )
    due.sort(key=lambda d: (d.release_at, d.customer_id))
    return due


def _countable(agent_id: int, exclude: int | None) -> list[ColumnElement[bool]]:
    conditions = [Customer.owner_agent_id == agent_id, Customer.deleted_at.is_(None)]
    if exclude is not None:
        conditions.append(Customer.id != exclude)
    return conditions


async def owned_count(
    session: AsyncSession, policy: ProtectionPolicy, agent_id: int, *, exclude: int | None = None
) -> int:
    """Customers ``agent_id`` owns (owned or locked) that count toward the cap, ``exclude`` aside."""
    conditions = _countable(agent_id, exclude)
    conditions.append(Customer.status.in_(("owned", "locked")))
    if not policy.count_deal_customers:
        conditions.append(Customer.deal_status != "won")
    return int(await session.scalar(select(func.count()).select_from(Customer).where(*conditions)) or 0)


async def locked_count(session: AsyncSession, agent_id: int, *, exclude: int | None = None) -> int:
    """Customers ``agent_id`` has locked, ``exclude`` aside."""
    conditions = _countable(agent_id, exclude)
    conditions.append(Customer.status == "locked")
    return int(await session.scalar(select(func.count()).select_from(Customer).where(*conditions)) or 0)


async def ownership_changes(session: AsyncSession, customer_id: int) -> list[OwnershipChange]:
    """The ownership history of ``customer_id``, oldest first."""
    from_owner, to_owner, actor = aliased(Agent), aliased(Agent), aliased(Agent)
    rows = await session.execute(
        select(OwnershipHistory, from_owner.login, to_owner.login, actor.login)
        .outerjoin(from_owner, from_owner.id == OwnershipHistory.from_owner_id)
        .outerjoin(to_owner, to_owner.id == OwnershipHistory.to_owner_id)
        .outerjoin(actor, actor.id == OwnershipHistory.actor_id)
        .where(OwnershipHistory.customer_id == customer_id)
        .order_by(OwnershipHistory.at, OwnershipHistory.id)
    )
    return [
        OwnershipChange(
            id=row.id,
            at=row.at,
            action=row.action,
            from_owner_login=from_login,
            to_owner_login=to_login,
            actor_login=actor_login,
            reason=row.reason,
        )
        for row, from_login, to_login, actor_login in rows
    ]


async def record_change(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: int,
    action: str,
    from_owner_id: int | None,
    to_owner_id: int | None,
    reason: str,
    at: datetime,
) -> None:
    """Append the ownership-history row and the audit entry of one change (caller's transaction)."""
    session.add(
        OwnershipHistory(
            customer_id=customer_id,
            from_owner_id=from_owner_id,
            to_owner_id=to_owner_id,
            action=action,
            reason=reason,
            actor_id=actor.user_id,
            at=at,
        )
    )
    await session.flush()
    await audit(
        session,
        actor,
        action,
        "customer",
        customer_id,
        {"from_owner_id": from_owner_id, "to_owner_id": to_owner_id, "reason": reason},
    )


async def check_bar(
    session: AsyncSession, policy: ProtectionPolicy, agent_id: int, customer: Customer, now: datetime
) -> None:
    """:class:`Conflict` if ``agent_id`` released ``customer`` less than ``previous_owner_bar_days`` ago.

    Checks the customer's own ``previous_owner_id``/``released_at`` and the
    ownership history (someone else may have owned it in between).  The bar
    ends exactly ``previous_owner_bar_days`` after the release.
    """
    if policy.previous_owner_bar_days <= 0:
        return
    since = now - timedelta(days=policy.previous_owner_bar_days)
    barred = customer.previous_owner_id == agent_id and (
        customer.released_at is not None and customer.released_at > since
    )
    if not barred:
        barred = bool(
            await session.scalar(
                select(
                    exists().where(
                        OwnershipHistory.customer_id == customer.id,
                        OwnershipHistory.from_owner_id == agent_id,
                        OwnershipHistory.action == "release",
                        OwnershipHistory.at > since,
                    )
                )
            )
        )
    if barred:
        raise Conflict(
            f"you released this customer less than {policy.previous_owner_bar_days} days ago "
            "and cannot claim it back yet"
        )


async def check_daily_cap(
    session: AsyncSession, policy: ProtectionPolicy, agent_id: int, now: datetime
) -> None:
    """:class:`Conflict` if ``agent_id``'s claims on ``now``'s UTC day exceed ``daily_claim_cap``.

    Called after the claim's history row is written, so that the count
    includes it (and two claims of one agent serialise on that write).
    """
    day_start = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    claims = await session.scalar(
        select(func.count())
        .select_from(OwnershipHistory)
        .where(
            OwnershipHistory.actor_id == agent_id,
            OwnershipHistory.action == "claim",
            OwnershipHistory.at >= day_start,
        )
    )
    # The history row of this claim is already written: more than the cap means over it.
    if int(claims or 0) > policy.daily_claim_cap:
        raise Conflict(f"daily claim limit reached ({policy.daily_claim_cap} claims a day)")


async def check_owned_cap(
    session: AsyncSession, policy: ProtectionPolicy, agent_id: int, customer_id: int | None
) -> None:
    """:class:`Conflict` if ``agent_id`` owns ``max_owned_customers`` already (``customer_id`` aside)."""
    owned = await owned_count(session, policy, agent_id, exclude=customer_id)
    if owned >= policy.max_owned_customers:
        raise Conflict(f"the agent already owns the maximum of {policy.max_owned_customers} customers")


async def check_locked_cap(
    session: AsyncSession, policy: ProtectionPolicy, agent_id: int, customer_id: int
) -> None:
    """:class:`Conflict` if ``agent_id`` has ``max_locked_customers`` locked (``customer_id`` aside)."""
    locked = await locked_count(session, agent_id, exclude=customer_id)
    if locked >= policy.max_locked_customers:
        raise Conflict(f"the agent already has the maximum of {policy.max_locked_customers} locked customers")
