"""An agent's reminders: whom to contact today, who is about to go back to the pool, which contracts end.

Scopes: an agent gets the customers they own (and, for "to contact", those
shared with them or their teams); a supervisor gets their own and their
teams' members' customers; an admin gets everyone's.

* **To contact**: follow-ups whose ``next_contact_on`` is today or earlier
  and that nobody has followed up since — no later follow-up written by a
  person and no later answered call for that customer.
* **About to be released**: owned (unlocked) customers the release job will
  return to the pool by the end of ``today + release_warning_days``.
* **Contracts expiring**: active contracts of those customers ending by
  ``today + contracts.expiry_reminder_days`` (already past ends included:
  they are still active and need attention).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from crm_core.access.rules import active_grant_clause
from crm_core.actor import Actor
from crm_core.models import Agent, Contract, Customer, Interaction, SharingGrant
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore
from crm_core.protection.rules import DueRelease, ProtectionPolicy, due_until

__all__ = ["ContactReminder", "ContractReminder", "ReminderService", "Reminders"]

_EXCERPT = 200


class ContactReminder(BaseModel):
    """A customer to contact: the follow-up that asked for it, and how late it is."""

    model_config = ConfigDict(frozen=True)

    customer_id: int
    customer_name: str
    owner_login: str | None
    follow_up_id: int
    next_contact_on: date
    overdue_days: int
    urgent: bool
    content: str | None  # the first 200 characters of the follow-up


class ContractReminder(BaseModel):
    """An active contract ending soon (``days_left`` < 0: its end date has passed)."""

    model_config = ConfigDict(frozen=True)

    contract_id: int
    number: str
    title: str
    customer_id: int
    customer_name: str
    owner_login: str | None
    end_on: date
    days_left: int
    amount: Decimal
    currency: str


class Reminders(BaseModel):
    """The three reminder lists of one user for ``today``."""

    model_config = ConfigDict(frozen=True)

    today: date
    to_contact: list[ContactReminder]
    to_be_released: list[DueRelease]
    contracts_expiring: list[ContractReminder]


class ReminderService:
    """Builds :class:`Reminders` for agents, supervisors (their teams) and admins (everyone)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        parameters: ParameterStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        limit: int = 200,
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters
        self._clock = clock
        self._limit = limit

    async def for_agent(self, actor: Actor, today: date | None = None) -> Reminders:
        """The reminders of ``actor`` for ``today`` (default: today's UTC date).

        Each list holds at most ``limit`` entries, most pressing first.
        """
        today = today or self._clock().date()
        policy = await ProtectionPolicy.load(self._parameters)
        expiry_days = int(await self._parameters.get("contracts.expiry_reminder_days"))
        async with self._sessions() as session:
            owner_ids = await _owner_scope(session, actor)
            to_contact = await self._to_contact(session, actor, owner_ids, today)
            horizon = datetime.combine(today + timedelta(days=policy.release_warning_days + 1), time.min, UTC)
            due = await due_until(session, policy, horizon - timedelta(microseconds=1), owner_ids=owner_ids)
            contracts = await self._contracts(session, owner_ids, today, today + timedelta(days=expiry_days))
        return Reminders(
            today=today,
            to_contact=to_contact,
            to_be_released=due[: self._limit],
            contracts_expiring=contracts,
        )

    async def _to_contact(
        self, session: AsyncSession, actor: Actor, owner_ids: list[int] | None, today: date
    ) -> list[ContactReminder]:
        planned = aliased(Interaction)
        later = aliased(Interaction)
        planned_at = func.coalesce(planned.arrived_at, planned.created_at)
        later_at = func.coalesce(later.arrived_at, later.created_at)
        followed_up = exists().where(
            later.customer_id == planned.customer_id,
            later.id != planned.id,
            or_(later.created_by_id.is_not(None), later.answered_at.is_not(None)),
            or_(later_at > planned_at, and_(later_at == planned_at, later.id > planned.id)),
        )
        rows = await session.execute(
            select(planned, Customer.name, Agent.login)
            .join(Customer, Customer.id == planned.customer_id)
            .outerjoin(Agent, Agent.id == Customer.owner_agent_id)
            .where(
                planned.next_contact_on <= today,
                ~followed_up,
                Customer.deleted_at.is_(None),
                _contact_scope(actor, owner_ids),
            )
            .order_by(planned.customer_id, planned_at.desc(), planned.id.desc())
        )
        latest: dict[int, ContactReminder] = {}
        for follow_up, name, login in rows:
            assert follow_up.customer_id is not None and follow_up.next_contact_on is not None
            if follow_up.customer_id in latest:
                continue  # an older plan of a customer already listed
            latest[follow_up.customer_id] = ContactReminder(
                customer_id=follow_up.customer_id,
                customer_name=name,
                owner_login=login,
                follow_up_id=follow_up.id,
                next_contact_on=follow_up.next_contact_on,
                overdue_days=(today - follow_up.next_contact_on).days,
                urgent=follow_up.urgent,
                content=follow_up.content[:_EXCERPT] if follow_up.content else None,
            )
        ordered = sorted(latest.values(), key=lambda r: (not r.urgent, r.next_contact_on, r.customer_id))
        return ordered[: self._limit]

    async def _contracts(
        self, session: AsyncSession, owner_ids: list[int] | None, today: date, until: date
    ) -> list[ContractReminder]:
        scope: ColumnElement[bool] = true()
        if owner_ids is not None:
            scope = or_(Customer.owner_agent_id.in_(owner_ids), Contract.owner_id.in_(owner_ids))
        rows = await session.execute(
            select(Contract, Customer.name, Agent.login)
            .join(Customer, Customer.id == Contract.customer_id)
            .outerjoin(Agent, Agent.id == Customer.owner_agent_id)
            .where(
                Contract.status == "active",
                Contract.deleted_at.is_(None),
                Contract.end_on <= until,
                Customer.deleted_at.is_(None),
                scope,
            )
            .order_by(Contract.end_on, Contract.id)
            .limit(self._limit)
        )
        return [
            ContractReminder(
                contract_id=contract.id,
                number=contract.number,
                title=contract.title,
                customer_id=contract.customer_id,
                customer_name=name,
                owner_login=login,
                end_on=contract.end_on,
                days_left=(contract.end_on - today).days,
                amount=contract.amount,
                currency=contract.currency,
            )
            for contract, name, login in rows
        ]


async def _owner_scope(session: AsyncSession, actor: Actor) -> list[int] | None:
    """Owners whose customers ``actor`` is reminded of; ``None``: everyone's (admins)."""
    if actor.is_admin:
        return None
    owners = {actor.user_id} if actor.user_id is not None else set()
    if actor.is_supervisor and actor.team_ids:
        members = await session.scalars(select(Agent.id).where(Agent.team_id.in_(sorted(actor.team_ids))))
        owners.update(members)
    return sorted(owners)


def _contact_scope(actor: Actor, owner_ids: list[int] | None) -> ColumnElement[bool]:
    if owner_ids is None:
        return true()
    grantees: list[ColumnElement[Any]] = []
    if actor.user_id is not None:
        grantees.append(SharingGrant.grantee_user_id == actor.user_id)
    if actor.team_ids:
        grantees.append(SharingGrant.grantee_team_id.in_(sorted(actor.team_ids)))
    shared = exists().where(
        SharingGrant.customer_id == Customer.id,
        active_grant_clause(),
        or_(*grantees) if grantees else false(),
    )
    return or_(Customer.owner_agent_id.in_(owner_ids), shared)
