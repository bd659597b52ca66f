"""Who may read or change which customer: one rule set, for single records and for lists.

The rules (issue 3):

* an admin (and the system itself) may change every customer, deleted ones included;
* the owner may change their customer;
* a supervisor may change customers whose owner belongs to one of their
  teams (``Actor.team_ids``), and read the public pool;
* anyone may change a customer through an active read-write sharing grant
  to them or to one of their teams, and read it through a read-only one;
* an agent may read a customer currently offered to them on a call
  (``Actor.offered_customer_ids``) and, in limited form (name, tier, masked
  data: enough to claim it), a customer in the public pool;
* the agent who answered a call may read the caller's record for a while
  after (the handled-call grant, :mod:`crm_core.access.handled`): read-only,
  and every such read is audited with the reason ``handled call <call_id>``;
* a customer in the recycle bin is invisible to everyone but admins.

A grant is active while it is not revoked and its ``expires_at`` is after
the database's clock at the moment of the query: an expired grant stops
working at once, without waiting for any job.

Refusals tell apart a customer that does not exist (or sits in the recycle
bin, for everyone but admins) — :class:`NotFound`, "no customer 12" — from
one that exists but the actor may not see — :class:`AccessDenied` with
:data:`NOT_VISIBLE` (403): the bank accepts that existence is not secret
from its own staff, and the agent learns why a record they expected will
not open.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.access.handled import handled_call, handled_reason
from crm_core.actor import Actor
from crm_core.dbtime import db_now
from crm_core.errors import AccessDenied, NotFound
from crm_core.models import Agent, Customer, SharingGrant

__all__ = [
    "NOT_VISIBLE",
    "Access",
    "Verdict",
    "active_grant_clause",
    "check",
    "evaluate",
    "read_level",
    "refuse_unseen",
    "require",
    "visible_customers_clause",
]


class Access(StrEnum):
    """What an actor may do with a customer, in increasing order of power."""

    NONE = "none"
    READ = "read"
    WRITE = "write"

    def allows(self, needed: Access) -> bool:
        """True if this level is at least ``needed``."""
        return _RANK[self] >= _RANK[needed]


_RANK = {Access.NONE: 0, Access.READ: 1, Access.WRITE: 2}

#: The message of the 403 for a customer that exists but the actor may not see.
NOT_VISIBLE = "you may not see this customer"


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one actor against one customer.

    ``customer`` is ``None`` when no such customer exists.  ``limited`` is
    true when the actor may read the customer only because it sits in the
    public pool: such a reader sees name, tier and masked data, nothing more.
    ``reason`` says why a reader without any other right may read: ``handled
    call <call_id>`` for the handled-call grant; ``None`` otherwise.
    """

    customer: Customer | None
    access: Access
    limited: bool = False
    reason: str | None = None


def active_grant_clause() -> ColumnElement[bool]:
    """Where-clause of a :class:`SharingGrant` that counts right now (database clock)."""
    return and_(
        SharingGrant.revoked_at.is_(None),
        or_(SharingGrant.expires_at.is_(None), SharingGrant.expires_at > db_now()),
    )


def _grantee_clause(actor: Actor) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        clauses.append(SharingGrant.grantee_user_id == actor.user_id)
    if actor.team_ids:
        clauses.append(SharingGrant.grantee_team_id.in_(sorted(actor.team_ids)))
    return or_(*clauses) if clauses else false()


def _team_owner_clause(actor: Actor) -> ColumnElement[bool]:
    if not actor.is_supervisor or not actor.team_ids:
        return false()
    members = select(Agent.id).where(Agent.team_id.in_(sorted(actor.team_ids)))
    return Customer.owner_agent_id.in_(members.scalar_subquery())


def visible_customers_clause(actor: Actor, *, include_deleted: bool = False) -> ColumnElement[bool]:
    """Where-clause on :class:`Customer` selecting what ``actor`` may read, for list queries.

    Same rules as :func:`read_level`.  Deleted customers are left out unless
    ``include_deleted`` is true and the actor is an admin (for whom the
    clause is otherwise always true).
    """
    live = Customer.deleted_at.is_(None)
    if actor.is_admin:
        return true() if include_deleted else live
    shared = exists(
        select(SharingGrant.id).where(
            SharingGrant.customer_id == Customer.id, active_grant_clause(), _grantee_clause(actor)
        )
    )
    reasons: list[ColumnElement[bool]] = [Customer.status == "public", shared, _team_owner_clause(actor)]
    if actor.user_id is not None:
        reasons.append(Customer.owner_agent_id == actor.user_id)
    if actor.offered_customer_ids:
        reasons.append(Customer.id.in_(sorted(actor.offered_customer_ids)))
    return and_(live, or_(*reasons))


async def _grant_level(session: AsyncSession, actor: Actor, customer_id: int) -> Access:
    levels = (
        await session.scalars(
            select(SharingGrant.access).where(
                SharingGrant.customer_id == customer_id, active_grant_clause(), _grantee_clause(actor)
            )
        )
    ).all()
    if "write" in levels:
        return Access.WRITE
    return Access.READ if levels else Access.NONE


async def evaluate(
    session: AsyncSession, actor: Actor, customer: Customer | None, *, record_grant: bool = True
) -> Verdict:
    """The :class:`Verdict` for ``actor`` on an already loaded ``customer`` (``None``: not found).

    A read allowed only by the handled-call grant is written to the audit log in
    ``session``'s transaction (reason ``handled call <call_id>``) unless
    ``record_grant`` is false: for a caller that writes its own audit row with
    :attr:`Verdict.reason`, or only checks before a service that will.
    """
    if customer is None:
        return Verdict(None, Access.NONE)
    if actor.is_admin:
        return Verdict(customer, Access.WRITE)
    if customer.deleted_at is not None:
        return Verdict(customer, Access.NONE)
    owner_id = customer.owner_agent_id
    if owner_id is not None and owner_id == actor.user_id:
        return Verdict(customer, Access.WRITE)
    if actor.is_supervisor and owner_id is not None and actor.team_ids:
        owner_team = await session.scalar(select(Agent.team_id).where(Agent.id == owner_id))
        if owner_team is not None and owner_team in actor.team_ids:
            return Verdict(customer, Access.WRITE)
    level = await _grant_level(session, actor, customer.id)
    if level is Access.NONE and customer.id in actor.offered_customer_ids:
        level = Access.READ
    if level is Access.NONE and (call_id := await handled_call(session, actor, customer.id)) is not None:
        reason = handled_reason(call_id)
        if record_grant:
            # Imported here: the audit module reads the list rules of this one.
            from crm_core.access.audit import audit

            await audit(session, actor, "view", "customer", customer.id, {"reason": reason, "access": "read"})
        return Verdict(customer, Access.READ, reason=reason)
    if level is Access.NONE and customer.status == "public":
        # A supervisor manages the pool (assigns from it): they see pool records in full.
        return Verdict(customer, Access.READ, limited=not actor.is_supervisor)
    return Verdict(customer, level)


async def _load(session: AsyncSession, customer_id: int, *, for_update: bool = False) -> Customer | None:
    query = select(Customer).where(Customer.id == customer_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def check(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    for_update: bool = False,
    record_grant: bool = True,
) -> Verdict:
    """Load customer ``customer_id`` and judge ``actor``'s access to it (see :func:`evaluate`).

    ``for_update`` locks the customer row (PostgreSQL ``SELECT … FOR
    UPDATE``) so that a change decided on this verdict cannot race another.
    """
    customer = await _load(session, customer_id, for_update=for_update)
    return await evaluate(session, actor, customer, record_grant=record_grant)


async def read_level(session: AsyncSession, actor: Actor, customer_id: int) -> Access:
    """What ``actor`` may do with customer ``customer_id`` right now (:class:`Access`)."""
    return (await check(session, actor, customer_id)).access


async def require(
    session: AsyncSession, actor: Actor, customer_id: int, level: Access | str, *, for_update: bool = False
) -> Customer:
    """The customer, if ``actor`` has at least ``level`` on it.

    Raises :class:`NotFound` when there is no such customer (see
    :func:`refuse_unseen`), :class:`AccessDenied` with :data:`NOT_VISIBLE`
    when it exists but the actor may not see it, and :class:`AccessDenied`
    when they may read it but ``level`` is ``write``.
    """
    needed = Access(level)
    verdict = await check(session, actor, customer_id, for_update=for_update)
    refuse_unseen(verdict, actor, customer_id)
    assert verdict.customer is not None
    if not verdict.access.allows(needed):
        raise AccessDenied(f"{actor.login} may not change customer {customer_id}")
    return verdict.customer


def refuse_unseen(verdict: Verdict, actor: Actor, customer_id: int) -> None:
    """Raise unless ``verdict`` lets ``actor`` see customer ``customer_id`` at all.

    :class:`NotFound` ("no customer 12") when it does not exist, or is in the
    recycle bin and the actor is no admin; :class:`AccessDenied` with
    :data:`NOT_VISIBLE` when it exists but the actor has no right to it.
    """
    customer = verdict.customer
    if customer is None or (customer.deleted_at is not None and not actor.is_admin):
        raise NotFound(f"no customer {customer_id}")
    if verdict.access is Access.NONE:
        raise AccessDenied(NOT_VISIBLE)
