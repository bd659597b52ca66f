"""Customer protection: who owns a customer, claims from the public pool, releases, locks.

Every change is one conditional ``UPDATE customers … WHERE`` *the state the
rules were checked against* (status, owner, not deleted): if another
transaction got there first the row count is 0 and the change is refused
with :class:`~crm_core.errors.Conflict`.  Two agents claiming the same
customer at once therefore get one winner on both SQLite and PostgreSQL.
Caps are counted after the customer row is written: on SQLite the write
lock is held from that ``UPDATE`` to the commit, and on PostgreSQL the
agent whose caps are checked is locked first (``SELECT … FOR NO KEY
UPDATE``), so two claims by one agent cannot both slip under a cap.

Each change appends an ``ownership_history`` row and an audit entry in the
same transaction, and keeps ``owned_since`` (when the current owner got the
customer), ``previous_owner_id`` and ``released_at`` (when it went to the
pool; NULL while owned) right.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.access.rules import Access, check
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import Agent, Customer
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore
from crm_core.protection.release import ReleaseResult, release_due
from crm_core.protection.rules import (
    DueRelease,
    OwnershipChange,
    OwnershipView,
    ProtectionPolicy,
    check_bar,
    check_daily_cap,
    check_locked_cap,
    check_owned_cap,
    due_until,
    ownership_changes,
    record_change,
)

__all__ = ["DueRelease", "OwnershipChange", "OwnershipView", "ProtectionService", "ReleaseResult"]

log = logging.getLogger(__name__)

_REASON_LENGTH = 255


@dataclass(frozen=True)
class _Target:
    status: str
    owner_id: int | None
    reason: str


class ProtectionService:
    """Claims, releases, assignments, transfers and locks of customers, and the release job.

    ``clock`` returns aware UTC time; it decides "today" for the daily claim
    cap (a UTC day) and the bar on a previous owner.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        parameters: ParameterStore,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters
        self._clock = clock

    async def policy(self) -> ProtectionPolicy:
        """The protection parameters in force now."""
        return await ProtectionPolicy.load(self._parameters)

    async def claim(self, actor: Actor, customer_id: int) -> OwnershipView:
        """Take a public-pool customer for the acting user.

        Refused with :class:`Conflict` when the customer is not in the pool,
        the actor released it less than ``previous_owner_bar_days`` ago, the
        actor already made ``daily_claim_cap`` claims today (UTC), or owns
        ``max_owned_customers``.  :class:`NotFound` if the actor cannot see
        the customer (or it is deleted); :class:`AccessDenied` for the system.
        """
        if actor.user_id is None or actor.role == "system":
            raise AccessDenied("only a user can claim a customer")
        me = actor.user_id
        policy = await self.policy()
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await _lock_agents(session, me)
            customer = await _visible(session, actor, customer_id)
            if customer.status != "public":
                raise Conflict("this customer is not in the public pool")
            await check_bar(session, policy, me, customer, now)
            target = _Target("owned", me, "claimed from the public pool")
            await _write(session, actor, customer, target, "claim", now)
            await check_daily_cap(session, policy, me, now)
            if policy.counts_toward_cap(customer.deal_status):
                await check_owned_cap(session, policy, me, customer_id)
            return await _view(session, customer_id)

    async def release(self, actor: Actor, customer_id: int, reason: str) -> OwnershipView:
        """Return an owned customer to the public pool (its owner, a supervisor of the owner, an admin).

        Locked customers are refused (:class:`Conflict`): unlock first.
        """
        reason = _reason(reason)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            customer = await _visible(session, actor, customer_id)
            if customer.status == "public":
                raise Conflict("this customer is already in the public pool")
            if customer.status == "locked":
                raise Conflict("a locked customer cannot be released: unlock it first")
            await _require_manager(session, actor, customer.owner_agent_id, owner_may=True)
            await _write(session, actor, customer, _Target("public", None, reason), "release", now)
            return await _view(session, customer_id)

    async def assign(self, actor: Actor, customer_id: int, to_login: str, reason: str) -> OwnershipView:
        """Give a public-pool customer to agent ``to_login`` (a supervisor of their team, or an admin).

        A customer that has an owner must be transferred instead (:class:`Conflict`).
        """
        return await self._hand_over(actor, customer_id, to_login, reason, "assign")

    async def transfer(self, actor: Actor, customer_id: int, to_login: str, reason: str) -> OwnershipView:
        """Move an owned customer to agent ``to_login``; a lock stays on.

        The actor must supervise the teams of both the current owner and
        the new one, or be an admin.  Caps of the new owner apply (the
        locked cap too for a locked customer) unless the actor is an admin.
        """
        return await self._hand_over(actor, customer_id, to_login, reason, "transfer")

    async def lock(self, actor: Actor, customer_id: int, reason: str = "") -> OwnershipView:
        """Protect an owned customer from release (owner, supervisor of the owner, admin).

        Refused when the owner already has ``max_locked_customers`` locked
        (admins excepted).
        """
        return await self._set_lock(actor, customer_id, reason, locked=True)

    async def unlock(self, actor: Actor, customer_id: int, reason: str = "") -> OwnershipView:
        """Remove the protection of a locked customer (owner, supervisor of the owner, admin)."""
        return await self._set_lock(actor, customer_id, reason, locked=False)

    async def ownership(self, actor: Actor, customer_id: int) -> OwnershipView:
        """Who owns the customer now (read access required; audited as a view)."""
        async with self._sessions() as session, session.begin():
            await _visible(session, actor, customer_id)
            await audit(session, actor, "view", "customer", customer_id, {"view": "ownership"})
            return await _view(session, customer_id)

    async def history(self, actor: Actor, customer_id: int) -> list[OwnershipChange]:
        """Every ownership change of the customer, oldest first (full read access; audited).

        A reader who sees the customer only because it is in the public pool
        gets :class:`AccessDenied`.
        """
        async with self._sessions() as session, session.begin():
            verdict = await check(session, actor, customer_id)
            if verdict.customer is None or verdict.access is Access.NONE:
                raise NotFound(f"no customer {customer_id}")
            if verdict.limited:
                raise AccessDenied("claim this customer to see its ownership history")
            changes = await ownership_changes(session, customer_id)
            await audit(session, actor, "view", "customer", customer_id, {"view": "ownership-history"})
        return changes

    async def check_can_own(
        self, session: AsyncSession, agent_id: int, *, customer_id: int | None = None
    ) -> None:
        """Raise :class:`Conflict` if ``agent_id`` may not own one more customer.

        Counts owned and locked live customers (deal customers only if
        ``count_deal_customers``), leaving ``customer_id`` out of the count.
        """
        await check_owned_cap(session, await self.policy(), agent_id, customer_id)

    async def release_due(self, session: AsyncSession, now: datetime, *, limit: int = 500) -> ReleaseResult:
        """Return to the pool every customer due for release at ``now`` (at most ``limit``).

        Runs in the caller's transaction; idempotent (a second run releases
        nothing new).  Each release is written as the system actor.
        """
        return await release_due(session, await self.policy(), now, limit=limit)

    async def release_job(self, session: AsyncSession, now: datetime) -> dict[str, Any]:
        """:meth:`release_due` as a :class:`~crm_core.jobs.JobRunner` job."""
        return (await self.release_due(session, now)).summary()

    async def due_for_release(
        self,
        session: AsyncSession,
        now: datetime,
        within_days: float,
        *,
        owner_ids: list[int] | None = None,
    ) -> list[DueRelease]:
        """Customers that will be released within ``within_days`` of ``now`` (already due included)."""
        policy = await self.policy()
        return await due_until(session, policy, now + timedelta(days=within_days), owner_ids=owner_ids)

    async def _hand_over(
        self, actor: Actor, customer_id: int, to_login: str, reason: str, action: str
    ) -> OwnershipView:
        reason = _reason(reason)
        policy = await self.policy()
        now = self._clock()
        async with self._sessions() as session, session.begin():
            target = await _active_agent(session, to_login)
            await _lock_agents(session, target.id)
            customer = await _visible(session, actor, customer_id)
            if action == "assign" and customer.status != "public":
                raise Conflict("this customer has an owner: transfer it instead")
            if action == "transfer":
                if customer.status == "public":
                    raise Conflict("this customer is in the public pool: assign it instead")
                if customer.owner_agent_id == target.id:
                    raise Conflict(f"{to_login} already owns this customer")
                await _require_manager(session, actor, customer.owner_agent_id, owner_may=False)
            await _require_manager(session, actor, target.id, owner_may=False)
            status = "owned" if customer.status == "public" else customer.status
            await _write(session, actor, customer, _Target(status, target.id, reason), action, now)
            if not actor.is_admin:
                if policy.counts_toward_cap(customer.deal_status):
                    await check_owned_cap(session, policy, target.id, customer_id)
                if status == "locked":
                    await check_locked_cap(session, policy, target.id, customer_id)
            return await _view(session, customer_id)

    async def _set_lock(self, actor: Actor, customer_id: int, reason: str, *, locked: bool) -> OwnershipView:
        reason = reason.strip()
        if len(reason) > _REASON_LENGTH:
            raise InvalidInput("reason", f"must be at most {_REASON_LENGTH} characters")
        policy = await self.policy()
        now = self._clock()
        async with self._sessions() as session, session.begin():
            customer = await _visible(session, actor, customer_id)
            if customer.status == "public":
                raise Conflict("a customer in the public pool has no owner to protect it")
            if (customer.status == "locked") == locked:
                raise Conflict(f"this customer is already {'locked' if locked else 'unlocked'}")
            owner_id = customer.owner_agent_id
            assert owner_id is not None  # owned and locked customers always have an owner
            await _lock_agents(session, owner_id)
            await _require_manager(session, actor, owner_id, owner_may=True)
            status = "locked" if locked else "owned"
            action = "lock" if locked else "unlock"
            await _write(session, actor, customer, _Target(status, owner_id, reason), action, now)
            if locked and not actor.is_admin:
                await check_locked_cap(session, policy, owner_id, customer_id)
            return await _view(session, customer_id)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "a reason is required")
    if len(reason) > _REASON_LENGTH:
        raise InvalidInput("reason", f"must be at most {_REASON_LENGTH} characters")
    return reason


async def _lock_agents(session: AsyncSession, agent_id: int) -> None:
    # PostgreSQL: serialise cap checks per agent.  NO KEY UPDATE leaves foreign-key
    # checks of other writers (which take KEY SHARE) unblocked.  SQLite ignores it:
    # there the customer UPDATE takes the database write lock before any count.
    await session.execute(select(Agent.id).where(Agent.id == agent_id).with_for_update(key_share=True))


async def _visible(session: AsyncSession, actor: Actor, customer_id: int) -> Customer:
    verdict = await check(session, actor, customer_id)
    customer = verdict.customer
    # Even an admin cannot hand out a customer from the recycle bin: restore it first.
    if customer is None or verdict.access is Access.NONE or customer.deleted_at is not None:
        raise NotFound(f"no customer {customer_id}")
    return customer


async def _active_agent(session: AsyncSession, login: str) -> Agent:
    agent = await session.scalar(select(Agent).where(Agent.login == login, Agent.active.is_(True)))
    if agent is None:
        raise InvalidInput("to_login", f"no active agent {login!r}")
    return agent


async def _require_manager(
    session: AsyncSession, actor: Actor, agent_id: int | None, *, owner_may: bool
) -> None:
    """The actor is ``agent_id`` itself (if ``owner_may``), an admin, or supervises their team."""
    if actor.is_admin or (owner_may and agent_id is not None and actor.user_id == agent_id):
        return
    if actor.is_supervisor and agent_id is not None:
        team_id = await session.scalar(select(Agent.team_id).where(Agent.id == agent_id))
        if team_id is not None and team_id in actor.team_ids:
            return
    raise AccessDenied("only the owner, a supervisor of the owner's team or an admin may do this")


async def _write(
    session: AsyncSession, actor: Actor, customer: Customer, target: _Target, action: str, now: datetime
) -> None:
    old_owner = customer.owner_agent_id
    values: dict[str, Any] = {"status": target.status, "owner_agent_id": target.owner_id, "updated_at": now}
    if target.owner_id != old_owner:
        values["owned_since"] = now if target.owner_id is not None else None
        values["released_at"] = now if target.owner_id is None else None
        if old_owner is not None:
            values["previous_owner_id"] = old_owner
    result = await session.execute(
        update(Customer)
        .where(
            Customer.id == customer.id,
            Customer.status == customer.status,
            Customer.owner_agent_id.is_not_distinct_from(old_owner),
            Customer.deleted_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise Conflict("this customer was changed by someone else just now: reload and try again")
    await record_change(
        session,
        actor,
        customer_id=customer.id,
        action=action,
        from_owner_id=old_owner,
        to_owner_id=target.owner_id,
        reason=target.reason,
        at=now,
    )
    log.info(
        "protection.changed",
        extra={"customer_id": customer.id, "action": action, "from": old_owner, "to": target.owner_id},
    )


async def _view(session: AsyncSession, customer_id: int) -> OwnershipView:
    row = (
        await session.execute(
            select(Customer, Agent.login)
            .outerjoin(Agent, Agent.id == Customer.owner_agent_id)
            .where(Customer.id == customer_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    customer, login = row
    return OwnershipView(
        customer_id=customer.id,
        status=customer.status,
        owner_id=customer.owner_agent_id,
        owner_login=login,
        owned_since=customer.owned_since,
        previous_owner_id=customer.previous_owner_id,
        released_at=customer.released_at,
    )
