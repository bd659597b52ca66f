"""Customer records for people: list, view, create, update — with access checked and audited.

Every method takes the :class:`~crm_core.actor.Actor` first, enforces
:mod:`crm_core.access.rules` itself, writes its audit row in the same transaction
as its change, and returns :mod:`crm_core.customers.schemas` (masked) — never
ORM objects.  Phones and contacts are in :mod:`crm_core.customers.parts`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.access.rules import (
    Access,
    Verdict,
    check,
    evaluate,
    refuse_unseen,
    require,
    visible_customers_clause,
)
from crm_core.actor import Actor
from crm_core.customers.actions import record_actions
from crm_core.customers.id_numbers import id_number_hash
from crm_core.customers.parts import CustomerParts, new_contacts, new_phones
from crm_core.customers.schemas import CustomerCreate, CustomerDetail, CustomerSummary, CustomerUpdate
from crm_core.customers.search import search_clause
from crm_core.customers.views import (
    customer_detail,
    customer_summary,
    grant_views,
    load_customer,
    primary_phones,
)
from crm_core.errors import AccessDenied, Conflict, InvalidInput
from crm_core.models import (
    CUSTOMER_DEAL_STATUSES,
    CUSTOMER_STATUSES,
    Agent,
    Customer,
    OwnershipHistory,
)
from crm_core.models.coltypes import utcnow
from crm_core.paging import Page, check_page
from crm_core.parameters.store import ParameterStore
from crm_core.protection.rules import ProtectionPolicy, locked_count
from crm_core.protection.service import ProtectionService

__all__ = ["CustomerService"]

log = logging.getLogger(__name__)


class CustomerService(CustomerParts):
    """Customers as the console and the REST API see them.

    ``pepper`` is the install's secret for ID-number hashes (the same one
    :class:`~crm_core.customers.accounts.AccountBook` uses); ``region`` the default
    region for phone numbers typed without a country code; ``protection``
    checks a new owner's caps (by default a
    :class:`~crm_core.protection.service.ProtectionService` on its own
    :class:`~crm_core.parameters.store.ParameterStore`).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pepper: bytes,
        region: str,
        *,
        protection: ProtectionService | None = None,
    ) -> None:
        if len(pepper) < 16:
            raise ValueError("pepper must be at least 16 bytes")
        super().__init__(sessions, region)
        self._pepper = pepper
        self._protection = protection or ProtectionService(sessions, ParameterStore(sessions))

    async def list(
        self,
        actor: Actor,
        *,
        q: str | None = None,
        status: str | None = None,
        tier: str | None = None,
        owner_login: str | None = None,
        deal_status: str | None = None,
        mine: bool = False,
        page: int = 1,
        page_size: int = 50,
        audit_view: str | None = "list",
    ) -> Page[CustomerSummary]:
        """The customers ``actor`` may read that match every filter given, by name.

        ``q`` is read as a phone number in any format (exact E.164 match), as
        four digits (an account's last four), or else as part of the name
        (case-insensitive; names starting with it come first).  ``mine``
        keeps the actor's own customers.  Raises :class:`InvalidInput` naming
        a bad filter, ``page`` or ``page_size`` (at most 200).

        A list shows customer data, so it is audited: one ``view`` row per
        call (see :meth:`audit_listing`), named ``search`` when ``q`` is
        given, else ``audit_view``.  A caller that shows several lists as one
        screen passes ``audit_view=None`` and audits the screen once itself.
        """
        offset = check_page(page, page_size)
        filters: list[ColumnElement[bool]] = [visible_customers_clause(actor)]
        order: list[Any] = []
        if q is not None and q.strip():
            clause, rank = search_clause(q.strip(), self._region)
            filters.append(clause)
            if rank is not None:
                order.append(rank)
        if status is not None:
            if status not in CUSTOMER_STATUSES:
                raise InvalidInput("status", f"must be one of {', '.join(CUSTOMER_STATUSES)}")
            filters.append(Customer.status == status)
        if tier is not None:
            filters.append(Customer.tier == tier[:32])
        if deal_status is not None:
            if deal_status not in CUSTOMER_DEAL_STATUSES:
                raise InvalidInput("deal_status", f"must be one of {', '.join(CUSTOMER_DEAL_STATUSES)}")
            filters.append(Customer.deal_status == deal_status)
        if owner_login is not None:
            owner = select(Agent.id).where(Agent.login == owner_login[:64]).scalar_subquery()
            filters.append(Customer.owner_agent_id == owner)
        if mine:
            filters.append(Customer.owner_agent_id == actor.user_id if actor.user_id is not None else false())
        async with self._sessions() as session, session.begin():
            total = await session.scalar(select(func.count()).select_from(Customer).where(*filters))
            rows = (
                await session.execute(
                    select(Customer, Agent.login, Agent.name)
                    .outerjoin(Agent, Agent.id == Customer.owner_agent_id)
                    .where(*filters)
                    .order_by(*order, func.lower(Customer.name), Customer.id)
                    .limit(page_size)
                    .offset(offset)
                )
            ).all()
            phones = await primary_phones(session, [c.id for c, _, _ in rows])
            if audit_view is not None:
                searched = {"q": q.strip()} if q is not None and q.strip() else {}
                given = {"status": status, "tier": tier, "owner": owner_login, "deal_status": deal_status}
                criteria: dict[str, object] = {
                    **searched,
                    **{k: v for k, v in given.items() if v is not None},
                }
                if mine:
                    criteria["mine"] = True
                await self._audit_listing(
                    session,
                    actor,
                    "search" if searched else audit_view,
                    [c.id for c, _, _ in rows],
                    {"filters": criteria, "page": page, "total": total or 0},
                )
        items = [customer_summary(c, login, name, phones.get(c.id)) for c, login, name in rows]
        return Page[CustomerSummary](items=items, total=total or 0, page=page, page_size=page_size)

    async def audit_listing(
        self, actor: Actor, view: str, customer_ids: Sequence[int], detail: dict[str, Any] | None = None
    ) -> None:
        """Record that ``actor`` was shown the customers ``customer_ids`` on the screen ``view``.

        For screens built from several unaudited :meth:`list` calls (the
        agent desk); commits its own transaction.
        """
        async with self._sessions() as session, session.begin():
            await self._audit_listing(session, actor, view, customer_ids, detail or {})

    @staticmethod
    async def _audit_listing(
        session: AsyncSession, actor: Actor, view: str, customer_ids: Sequence[int], detail: dict[str, Any]
    ) -> None:
        # One row per screen, not one per customer: a page of 200 names costs one insert.  The
        # row names every customer shown (entity_id stays empty: it is not one record).
        await audit(
            session,
            actor,
            "view",
            "customer",
            None,
            {"view": view, "customer_ids": [*customer_ids], **detail},
        )

    async def get(self, actor: Actor, customer_id: int) -> CustomerDetail:
        """One customer as ``actor`` may see it; every call writes a ``view`` audit row.

        Raises :class:`NotFound` if the customer does not exist (or is in the
        recycle bin, for all but admins) and :class:`AccessDenied` if it exists
        but the actor may not see it.  A read through the handled-call grant
        is audited with its reason (``handled call <call_id>``).
        """
        async with self._sessions() as session, session.begin():
            customer = await load_customer(session, customer_id)
            verdict = await evaluate(session, actor, customer, record_grant=False)
            refuse_unseen(verdict, actor, customer_id)
            assert customer is not None
            detail = await self._detail(session, actor, customer, verdict)
            seen: dict[str, object] = {"limited": verdict.limited}
            if verdict.reason is not None:
                seen["reason"] = verdict.reason
            await audit(session, actor, "view", "customer", customer_id, seen)
        return detail

    async def require_visible(self, actor: Actor, customer_id: int) -> None:
        """Raise as :meth:`get` does when ``actor`` may not see customer ``customer_id``; audit nothing.

        For routes whose service answers any unseen customer with "not found":
        checked first, the answer is 403 for a customer that exists.
        """
        async with self._sessions() as session:
            verdict = await check(session, actor, customer_id, record_grant=False)
            refuse_unseen(verdict, actor, customer_id)

    async def create(self, actor: Actor, data: CustomerCreate) -> CustomerDetail:
        """Add a customer with its phones and contacts; return it as its creator sees it.

        An agent's new customer is theirs; a supervisor or admin may name
        another owner (``owner_login``) or put it in the public pool
        (``status="public"``).  Raises :class:`InvalidInput` (field named),
        :class:`AccessDenied` (an owner the actor may not choose) or
        :class:`Conflict` (ID number already on file, owner at a protection cap).
        """
        phones = new_phones(data.phones, self._region)
        contacts = new_contacts(data.contacts, self._region)
        digest = last4 = None
        if data.id_number is not None:
            digest, last4 = id_number_hash(self._pepper, data.id_number.get_secret_value())
        policy = await self._protection.policy()
        async with self._sessions() as session, session.begin():
            owner_id, status = await self._new_owner(session, actor, data)
            if owner_id is not None:
                # PostgreSQL: one cap check per agent at a time (the protection rules lock the same row).
                await session.execute(
                    select(Agent.id).where(Agent.id == owner_id).with_for_update(key_share=True)
                )
            if digest is not None:
                await self._check_unique_id_number(session, digest, None)
            now = utcnow()
            customer = Customer(
                name=data.name,
                kind=data.kind,
                tier=data.tier,
                owner_agent_id=owner_id,
                status=status,
                id_number_hash=digest,
                id_number_last4=last4,
                deal_status=data.deal_status,
                source=data.source,
                owned_since=now if owner_id is not None else None,
            )
            session.add(customer)
            await session.flush()
            if owner_id is not None:
                await self._check_caps(session, policy, customer)
            for phone in phones:
                phone.customer_id = customer.id
            for contact in contacts:
                contact.customer_id = customer.id
            session.add_all([*phones, *contacts])
            if owner_id is not None:
                session.add(
                    OwnershipHistory(
                        customer_id=customer.id,
                        from_owner_id=None,
                        to_owner_id=owner_id,
                        action="create",
                        reason="created",
                        actor_id=actor.user_id,
                        at=now,
                    )
                )
            await audit(
                session,
                actor,
                "create",
                "customer",
                customer.id,
                {"name": data.name, "status": status, "owner_id": owner_id, "source": data.source},
            )
            await session.flush()
            loaded = await load_customer(session, customer.id)
            assert loaded is not None
            detail = await self._detail(session, actor, loaded, await evaluate(session, actor, loaded))
        log.info("crm.customer_created", extra={"customer_id": customer.id, "actor": actor.login})
        return detail

    async def update(self, actor: Actor, customer_id: int, data: CustomerUpdate) -> CustomerDetail:
        """Change the fields set in ``data`` (write access needed); return the customer.

        Raises :class:`NotFound`, :class:`AccessDenied` (read-only access)
        or :class:`Conflict` (ID number already on another customer).
        """
        async with self._sessions() as session, session.begin():
            customer = await require(session, actor, customer_id, Access.WRITE, for_update=True)
            changes: dict[str, Any] = {}
            for field in ("name", "kind", "tier", "deal_status", "source"):
                if field in data.model_fields_set:
                    new = getattr(data, field)
                    old = getattr(customer, field)
                    if new != old:
                        changes[field] = [old, new]
                        setattr(customer, field, new)
            if "id_number" in data.model_fields_set:
                digest = last4 = None
                if data.id_number is not None:
                    digest, last4 = id_number_hash(self._pepper, data.id_number.get_secret_value())
                    await self._check_unique_id_number(session, digest, customer_id)
                if digest != customer.id_number_hash:
                    # Recorded as changed, never with a value: not even the last four go to the log.
                    changes["identity_document"] = "changed" if digest is not None else "removed"
                    customer.id_number_hash, customer.id_number_last4 = digest, last4
            if changes:
                customer.updated_at = utcnow()
                await audit(session, actor, "update", "customer", customer_id, {"changes": changes})
            await session.flush()
            loaded = await load_customer(session, customer_id)
            assert loaded is not None
            detail = await self._detail(session, actor, loaded, await evaluate(session, actor, loaded))
        return detail

    async def _detail(
        self, session: AsyncSession, actor: Actor, customer: Customer, verdict: Verdict
    ) -> CustomerDetail:
        # Grants are shown to those who may change them: owner, their supervisor, admins.
        sees_grants = actor.is_admin or (
            verdict.access is Access.WRITE
            and (customer.owner_agent_id == actor.user_id or actor.is_supervisor)
        )
        grants = await grant_views(session, customer_id=customer.id) if sees_grants else []
        actions = await record_actions(session, actor, customer, verdict)
        return customer_detail(customer, verdict, grants, actions)

    async def _new_owner(
        self, session: AsyncSession, actor: Actor, data: CustomerCreate
    ) -> tuple[int | None, str]:
        if not (actor.is_admin or actor.is_supervisor):
            if data.owner_login not in (None, actor.login):
                raise AccessDenied("an agent's new customer is owned by that agent")
            if data.status not in (None, "owned"):
                raise InvalidInput("status", "an agent's new customer is owned by that agent")
            if actor.user_id is None:
                raise AccessDenied("this user cannot own customers")
            return actor.user_id, "owned"
        if data.owner_login is None:
            if data.status == "public" or actor.user_id is None:
                if data.status not in (None, "public"):
                    raise InvalidInput("owner_login", "an owned customer needs an owner")
                return None, "public"
            return actor.user_id, data.status or "owned"
        if data.status == "public":
            raise InvalidInput("status", "a public-pool customer has no owner")
        owner = await session.scalar(
            select(Agent).where(Agent.login == data.owner_login, Agent.active.is_(True))
        )
        if owner is None:
            raise InvalidInput("owner_login", "no active user with this login")
        if not actor.is_admin and owner.id != actor.user_id and owner.team_id not in actor.team_ids:
            raise AccessDenied("a supervisor assigns customers within their teams only")
        return owner.id, data.status or "owned"

    async def _check_caps(self, session: AsyncSession, policy: ProtectionPolicy, customer: Customer) -> None:
        # Counted with the new row written (and excluded), as the protection rules do for claims.
        owner_id = customer.owner_agent_id
        assert owner_id is not None
        if policy.counts_toward_cap(customer.deal_status):
            await self._protection.check_can_own(session, owner_id, customer_id=customer.id)
        if customer.status == "locked":
            locked = await locked_count(session, owner_id, exclude=customer.id)
            if locked >= policy.max_locked_customers:
                raise Conflict(
                    f"the agent already has the maximum of {policy.max_locked_customers} locked customers"
                )

    async def _check_unique_id_number(
        self, session: AsyncSession, digest: str, customer_id: int | None
    ) -> None:
        query = select(Customer.id).where(Customer.id_number_hash == digest)
        if customer_id is not None:
            query = query.where(Customer.id != customer_id)
        if await session.scalar(query.limit(1)) is not None:
            raise Conflict("a customer with this ID number is already on file")
