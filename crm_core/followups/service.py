"""Follow-ups written by people: a call's outcome, a visit, an email, with the next contact date.

Follow-ups share the ``interactions`` table with the call history the
service records on its own (:mod:`crm_core.followups.interactions`).  This
service adds the follow-ups that are not calls (a visit, an email, an SMS, a
web message, a call made outside bankcti); a call's wrap-up is written on the
call's own row by :mod:`crm_core.followups.wrapup`, so one call is one entry.
Every follow-up moves the customer's ``last_follow_up_at`` forward in the
same transaction, which restarts the release-to-pool clock of
:mod:`crm_core.protection.service`.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.access.rules import Access, check
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, InvalidInput, NotFound
from crm_core.followups.interactions import touch_last_follow_up
from crm_core.followups.legs import LegView, legs_of
from crm_core.models import INTERACTION_CHANNELS, INTERACTION_DIRECTIONS, Agent, Interaction
from crm_core.models.coltypes import utcnow
from crm_core.paging import Page, check_page
from crm_core.parameters.store import ParameterStore

__all__ = ["MAX_CONTENT_LENGTH", "FollowUpService", "FollowUpView"]

log = logging.getLogger(__name__)

#: The longest follow-up text accepted (characters).
MAX_CONTENT_LENGTH = 10_000
_OUTCOME_LENGTH = 32


class FollowUpView(BaseModel):
    """One follow-up as users see it (``at``: when the contact happened)."""

    model_config = ConfigDict(frozen=True)

    id: int
    customer_id: int
    at: datetime
    channel: str
    direction: str
    content: str | None
    outcome: str | None
    disposition: str | None
    next_contact_on: date | None
    urgent: bool
    call_id: str | None
    #: Who handled the contact (a call's answering agent; for other follow-ups, who recorded it).
    agent_login: str | None
    agent_name: str | None
    #: How to contact the customer next; ``None``: not said.
    next_contact_channel: str | None = None
    #: Who saved a call's wrap-up and when (``None``: not wrapped up, or not a call).
    wrapped_up_by: str | None = None
    wrapped_up_at: datetime | None = None
    #: The queue's longest wrap-up passed with nothing saved (reported "not wrapped up").
    wrapup_missed_at: datetime | None = None
    #: A call's totals, derived from its legs (seconds; ``None``: not known or not a call).
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    hold_seconds: float | None = None
    #: A call's legs in the order they started: IVR, queue waits, agents, holds, transfers.
    legs: list[LegView] = []


class FollowUpService:
    """Adds and lists a customer's follow-ups, with access checks and audit entries.

    ``parameters`` supplies ``followup.dispositions`` (a store of its own is
    made when none is given); ``clock`` returns aware UTC time.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        parameters: ParameterStore | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters if parameters is not None else ParameterStore(sessions)
        self._clock = clock

    async def add(
        self,
        actor: Actor,
        customer_id: int,
        *,
        channel: str,
        direction: str,
        content: str,
        outcome: str | None = None,
        disposition: str,
        next_contact_on: date | None = None,
        urgent: bool = False,
    ) -> FollowUpView:
        """Record a follow-up with customer ``customer_id`` by the acting user.

        Needs write access to the customer (:class:`AccessDenied` with read
        only, :class:`NotFound` without any).  :class:`InvalidInput` names
        the field for a channel outside :data:`crm_core.models.INTERACTION_CHANNELS`,
        a direction other than inbound/outbound, empty or overlong content,
        a disposition outside the ``followup.dispositions`` parameter, or a
        next contact date in the past.  A call's wrap-up goes through
        :class:`crm_core.followups.wrapup.WrapUpService`, never here.
        """
        now = self._clock()
        values = await self._validated(
            channel=channel,
            direction=direction,
            content=content,
            outcome=outcome,
            disposition=disposition,
            next_contact_on=next_contact_on,
            today=now.date(),
        )
        async with self._sessions() as session, session.begin():
            await _writable(session, actor, customer_id)
            follow_up_id = await _store(session, actor, customer_id, values, urgent=urgent, now=now)
            await touch_last_follow_up(session, customer_id, now)
            await audit(
                session,
                actor,
                "create",
                "follow_up",
                follow_up_id,
                {
                    "customer_id": customer_id,
                    "channel": values["channel"],
                    "disposition": values["disposition"],
                },
            )
            view = await _view(session, follow_up_id)
        log.info("followup.added", extra={"customer_id": customer_id, "follow_up_id": follow_up_id})
        return view

    async def list(
        self, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
    ) -> Page[FollowUpView]:
        """Follow-ups of a customer, newest first (read access; a pool-only glimpse is not enough)."""
        offset = check_page(page, page_size)
        at = func.coalesce(Interaction.arrived_at, Interaction.created_at)
        async with self._sessions() as session, session.begin():
            verdict = await check(session, actor, customer_id)
            if verdict.customer is None or verdict.access is Access.NONE:
                raise NotFound(f"no customer {customer_id}")
            if verdict.limited:
                raise AccessDenied("claim this customer to see its follow-ups")
            total = await session.scalar(
                select(func.count()).select_from(Interaction).where(Interaction.customer_id == customer_id)
            )
            rows = await session.execute(
                _query()
                .where(Interaction.customer_id == customer_id)
                .order_by(at.desc(), Interaction.id.desc())
                .limit(page_size)
                .offset(offset)
            )
            found = rows.all()
            legs = await legs_of(session, [interaction.id for interaction, _, _ in found])
            items = [
                _to_view(interaction, login, name, legs.get(interaction.id, []))
                for interaction, login, name in found
            ]
            await audit(session, actor, "view", "customer", customer_id, {"view": "follow-ups", "page": page})
        return Page[FollowUpView](items=items, total=int(total or 0), page=page, page_size=page_size)

    async def _validated(
        self,
        *,
        channel: str,
        direction: str,
        content: str,
        outcome: str | None,
        disposition: str,
        next_contact_on: date | None,
        today: date,
    ) -> dict[str, Any]:
        allowed = [c for c in await self._parameters.get("followup.types") if c in INTERACTION_CHANNELS]
        if channel not in allowed:
            raise InvalidInput("channel", f"must be one of {', '.join(allowed)}")
        if direction not in INTERACTION_DIRECTIONS:
            raise InvalidInput("direction", f"must be one of {', '.join(INTERACTION_DIRECTIONS)}")
        content = content.strip()
        if not content or len(content) > MAX_CONTENT_LENGTH:
            raise InvalidInput("content", f"must be 1 to {MAX_CONTENT_LENGTH} characters")
        if outcome is not None and (not outcome.strip() or len(outcome.strip()) > _OUTCOME_LENGTH):
            raise InvalidInput("outcome", f"must be 1 to {_OUTCOME_LENGTH} characters")
        dispositions: builtins.list[str] = list(await self._parameters.get("followup.dispositions"))
        if disposition not in dispositions:
            raise InvalidInput("disposition", f"must be one of {', '.join(dispositions)}")
        if next_contact_on is not None and next_contact_on < today:
            raise InvalidInput("next_contact_on", "must be today or later")
        return {
            "channel": channel,
            "direction": direction,
            "content": content,
            "outcome": outcome.strip() if outcome is not None else None,
            "disposition": disposition,
            "next_contact_on": next_contact_on,
        }


async def _writable(session: AsyncSession, actor: Actor, customer_id: int) -> None:
    verdict = await check(session, actor, customer_id)
    customer = verdict.customer
    if customer is None or verdict.access is Access.NONE or customer.deleted_at is not None:
        raise NotFound(f"no customer {customer_id}")
    if not verdict.access.allows(Access.WRITE):
        raise AccessDenied(f"{actor.login} may not add follow-ups to customer {customer_id}")


async def _store(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    values: dict[str, Any],
    *,
    urgent: bool,
    now: datetime,
) -> int:
    interaction = Interaction(
        **values,
        customer_id=customer_id,
        agent_id=actor.user_id,
        created_by_id=actor.user_id,
        urgent=urgent,
        arrived_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(interaction)
    await session.flush()
    return interaction.id


def _query() -> Select[Interaction, str, str]:
    return select(Interaction, Agent.login, Agent.name).outerjoin(Agent, Agent.id == Interaction.agent_id)


async def _view(session: AsyncSession, follow_up_id: int) -> FollowUpView:
    result = await session.execute(
        _query().where(Interaction.id == follow_up_id).execution_options(populate_existing=True)
    )
    interaction, login, name = result.one()
    legs = await legs_of(session, [interaction.id])
    return _to_view(interaction, login, name, legs.get(interaction.id, []))


def _to_view(
    interaction: Interaction, login: str | None, name: str | None, legs: builtins.list[LegView]
) -> FollowUpView:
    assert interaction.customer_id is not None
    return FollowUpView(
        id=interaction.id,
        customer_id=interaction.customer_id,
        at=interaction.arrived_at or interaction.created_at,
        channel=interaction.channel,
        direction=interaction.direction,
        content=interaction.content,
        outcome=interaction.outcome,
        disposition=interaction.disposition,
        next_contact_on=interaction.next_contact_on,
        urgent=interaction.urgent,
        call_id=interaction.call_id,
        agent_login=login,
        agent_name=name,
        next_contact_channel=interaction.next_contact_channel,
        wrapped_up_by=interaction.wrapped_up_by,
        wrapped_up_at=interaction.wrapped_up_at,
        wrapup_missed_at=interaction.wrapup_missed_at,
        wait_seconds=interaction.wait_seconds,
        talk_seconds=interaction.talk_seconds,
        hold_seconds=interaction.hold_seconds,
        legs=legs,
    )
