"""The recycle bin: soft delete, restore, and permanent purge (by an admin, or automatically).

Deleting sets ``deleted_at``, ``deleted_by_id`` and ``purge_after`` (now +
the ``recycle.purge_after_days`` parameter, by the database's clock); from
then on the customer is invisible to everyone but admins, never matches a
caller ID and never pops.  The owner, a supervisor of the owner's team or an
admin may restore it until it is purged.

A purge removes the customer and every row that depends on it (phones,
accounts and their transactions, contacts, contracts and their lines,
installments and payments, grants, ownership history, follow-ups that are
not calls).  Call records are kept for the contact-center statistics but
detached from the customer, their notes cleared.  The audit row keeps a
snapshot of who the customer was — name and id, never a sensitive number.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from crm_core.access.audit import audit
from crm_core.access.rules import Access, require
from crm_core.actor import Actor
from crm_core.customers.schemas import CustomerSummary, RecycleEntry
from crm_core.customers.views import customer_summary, primary_phones
from crm_core.dbtime import database_now
from crm_core.errors import AccessDenied, Conflict, NotFound
from crm_core.models import Agent, Customer, Interaction
from crm_core.paging import Page, check_page
from crm_core.parameters.store import ParameterStore

__all__ = ["PURGE_PARAMETER", "RecycleBin", "purge_expired"]

log = logging.getLogger(__name__)

PURGE_PARAMETER = "recycle.purge_after_days"


async def _purge(session: AsyncSession, actor: Actor, customer: Customer) -> None:
    owner_login = None
    if customer.owner_agent_id is not None:
        owner_login = await session.scalar(select(Agent.login).where(Agent.id == customer.owner_agent_id))
    snapshot = {
        "customer_id": customer.id,
        "name": customer.name,
        "kind": customer.kind,
        "tier": customer.tier,
        "owner_login": owner_login,
        "deleted_at": customer.deleted_at,
        "deleted_by_id": customer.deleted_by_id,
    }
    await session.execute(
        delete(Interaction).where(Interaction.customer_id == customer.id, Interaction.call_id.is_(None))
    )
    await session.execute(
        update(Interaction)
        .where(Interaction.customer_id == customer.id)
        .values(customer_id=None, content=None)
    )
    # Everything else that names the customer goes with it (ON DELETE CASCADE, both backends).
    await session.execute(delete(Customer).where(Customer.id == customer.id))
    await audit(session, actor, "purge", "customer", customer.id, snapshot)
    log.info("crm.customer_purged", extra={"customer_id": customer.id, "actor": actor.login})


def _restorers(actor: Actor) -> ColumnElement[bool] | None:
    """Where-clause of deleted customers ``actor`` may restore (``None``: all)."""
    if actor.is_admin:
        return None
    clauses: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        clauses.append(Customer.owner_agent_id == actor.user_id)
    if actor.is_supervisor and actor.team_ids:
        members = select(Agent.id).where(Agent.team_id.in_(sorted(actor.team_ids)))
        clauses.append(Customer.owner_agent_id.in_(members.scalar_subquery()))
    return or_(*clauses) if clauses else Customer.id.is_(None)


class RecycleBin:
    """Deletes customers softly, restores them, lists the bin, purges for good.

    ``parameters`` supplies ``recycle.purge_after_days`` (by default a
    :class:`~crm_core.parameters.store.ParameterStore` of its own).
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], parameters: ParameterStore | None = None
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters or ParameterStore(sessions)

    async def _purge_after_days(self) -> int:
        return int(await self._parameters.get(PURGE_PARAMETER))

    async def delete(self, actor: Actor, customer_id: int) -> RecycleEntry:
        """Move a customer the actor may write to the recycle bin.

        Raises :class:`NotFound`, :class:`AccessDenied` (read-only access) or
        :class:`Conflict` (already in the bin — only an admin can see that).
        """
        days = await self._purge_after_days()
        async with self._sessions() as session, session.begin():
            customer = await require(session, actor, customer_id, Access.WRITE, for_update=True)
            if customer.deleted_at is not None:
                raise Conflict("the customer is already in the recycle bin")
            now = await database_now(session)
            customer.deleted_at = now
            customer.deleted_by_id = actor.user_id
            customer.purge_after = now + timedelta(days=days)
            customer.updated_at = now
            await audit(
                session, actor, "delete", "customer", customer_id, {"purge_after": customer.purge_after}
            )
            await session.flush()
            [entry] = (await self._entries(session, Customer.id == customer_id, 0, 1))[1]
        log.info("crm.customer_deleted", extra={"customer_id": customer_id, "actor": actor.login})
        return entry

    async def restore(self, actor: Actor, customer_id: int) -> CustomerSummary:
        """Take a customer out of the bin (owner, the owner's supervisor, admin).

        Raises :class:`NotFound` (no such customer in the actor's view of the
        bin) or :class:`Conflict` (an admin restoring a live customer).
        """
        async with self._sessions() as session, session.begin():
            scope = _restorers(actor)
            query = select(Customer).where(Customer.id == customer_id).with_for_update()
            if scope is not None:
                query = query.where(scope, Customer.deleted_at.is_not(None))
            customer = await session.scalar(query)
            if customer is None:
                raise NotFound(f"no customer {customer_id} in the recycle bin")
            if customer.deleted_at is None:
                raise Conflict("the customer is not in the recycle bin")
            customer.deleted_at = customer.deleted_by_id = customer.purge_after = None
            customer.updated_at = await database_now(session)
            await audit(session, actor, "restore", "customer", customer_id)
            owner = (
                None if customer.owner_agent_id is None else await session.get(Agent, customer.owner_agent_id)
            )
            phones = await primary_phones(session, [customer_id])
        log.info("crm.customer_restored", extra={"customer_id": customer_id, "actor": actor.login})
        return customer_summary(
            customer, owner.login if owner else None, owner.name if owner else None, phones.get(customer_id)
        )

    async def list_deleted(self, actor: Actor, *, page: int = 1, page_size: int = 50) -> Page[RecycleEntry]:
        """The customers in the bin the actor may restore, most recently deleted first."""
        offset = check_page(page, page_size)
        scope = _restorers(actor)
        async with self._sessions() as session:
            total, items = await self._entries(session, scope, offset, page_size)
        return Page[RecycleEntry](items=items, total=total, page=page, page_size=page_size)

    async def purge(self, actor: Actor, customer_id: int) -> None:
        """Delete a customer in the bin for good (admins only; audited with a snapshot).

        Raises :class:`AccessDenied` (not an admin), :class:`NotFound` or
        :class:`Conflict` (not in the bin: delete it first).
        """
        if not actor.is_admin:
            raise AccessDenied("only an admin purges customers")
        async with self._sessions() as session, session.begin():
            customer = await session.scalar(
                select(Customer).where(Customer.id == customer_id).with_for_update()
            )
            if customer is None:
                raise NotFound(f"no customer {customer_id}")
            if customer.deleted_at is None:
                raise Conflict("only a customer in the recycle bin can be purged")
            await _purge(session, actor, customer)

    async def _entries(
        self, session: AsyncSession, scope: ColumnElement[bool] | None, offset: int, limit: int
    ) -> tuple[int, list[RecycleEntry]]:
        owner = aliased(Agent)
        deleter = aliased(Agent)
        filters: list[ColumnElement[bool]] = [Customer.deleted_at.is_not(None)]
        if scope is not None:
            filters.append(scope)
        total = await session.scalar(select(func.count()).select_from(Customer).where(*filters))
        rows = (
            await session.execute(
                select(Customer, owner.login, deleter.login)
                .outerjoin(owner, owner.id == Customer.owner_agent_id)
                .outerjoin(deleter, deleter.id == Customer.deleted_by_id)
                .where(*filters)
                .order_by(Customer.deleted_at.desc(), Customer.id.desc())
                .limit(limit)
                .offset(offset)
            )
        ).all()
        items = []
        for customer, owner_login, deleter_login in rows:
            assert customer.deleted_at is not None
            items.append(
                RecycleEntry(
                    id=customer.id,
                    name=customer.name,
                    kind=customer.kind,
                    tier=customer.tier,
                    owner_login=owner_login,
                    deleted_at=customer.deleted_at,
                    deleted_by_login=deleter_login,
                    purge_after=customer.purge_after,
                )
            )
        return total or 0, items


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Purge every customer whose ``purge_after`` is at or before ``now``; return how many.

    Runs in the caller's transaction (the job runner's); a second run finds
    nothing left to purge.
    """
    due = (
        await session.scalars(
            select(Customer)
            .where(Customer.deleted_at.is_not(None), Customer.purge_after <= now)
            .order_by(Customer.id)
            .with_for_update(skip_locked=True)
        )
    ).all()
    system = Actor.system("recycle-purge")
    for customer in due:
        await _purge(session, system, customer)
    return len(due)
