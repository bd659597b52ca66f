"""A call's wrap-up: what the agent who handled it records, stored once on the call's own row.

One call is one interaction (unique by ``call_id``, the Linkedid) and one
entry in the customer's follow-up history.  The PBX side writes the call's
facts (arrival, queue, answer, end, outcome, IVR path, legs) through
:class:`crm_core.followups.interactions.InteractionWriter`; the agent's
wrap-up (notes, disposition, next contact date and channel) is merged into
the same row here and touches nothing else: saving never clears a field the
PBX side set, and saving twice edits the entry.

Who may save: the agent the call was offered to (the console gateway vouches
for the calls it offered in this process), or any user the stored call shows
as having handled it (its agent, or an agent leg).  Whoever saves is credited
as ``wrapped_up_by``; the handling agent stays the call's ``agent_id``.  The
saver may name the customer the caller turned out to be (found or created
during the call) when the call has none yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.access.rules import Access, check
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.followups.interactions import touch_last_follow_up
from crm_core.models import INTERACTION_CHANNELS, Agent, Interaction, InteractionLeg
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore

__all__ = ["MAX_NOTES_LENGTH", "WrapUp", "WrapUpService", "WrapUpView"]

log = logging.getLogger(__name__)

#: The longest wrap-up note (characters); the console's counter shows the same limit.
MAX_NOTES_LENGTH = 4000
_CALL_ID_LENGTH = 64


class WrapUp(BaseModel):
    """What the agent records at the end of a call.  ``None`` notes/disposition: none recorded."""

    model_config = ConfigDict(frozen=True)

    notes: str | None = None
    disposition: str | None = None
    next_contact_on: date | None = None
    next_contact_channel: str | None = None
    #: The customer the caller is, when the call has none yet (found or created during the call).
    customer_id: int | None = None


class WrapUpView(BaseModel):
    """A call's wrap-up as stored, with the call's own facts it sits beside."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    follow_up_id: int
    customer_id: int | None
    notes: str | None
    disposition: str | None
    next_contact_on: date | None
    next_contact_channel: str | None
    wrapped_up_by: str | None
    wrapped_up_at: datetime | None
    #: The agent who handled the call (not changed by who saves the wrap-up).
    agent_login: str | None
    outcome: str | None
    arrived_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    #: True when this save edited an earlier wrap-up of the call.
    edited: bool = False


class WrapUpService:
    """Saves and reads call wrap-ups (``today`` is the site's date, for the next-contact rule)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        parameters: ParameterStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        today: Callable[[], date] | None = None,
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters
        self._clock = clock
        self._today = today if today is not None else (lambda: self._clock().date())

    def today(self) -> date:
        """The site's date today: the earliest next contact date accepted."""
        return self._today()

    async def save(self, actor: Actor, call_id: str, wrap: WrapUp, *, vouched: bool) -> WrapUpView:
        """Store ``wrap`` on call ``call_id`` for ``actor``; ``vouched``: the gateway offered them the call.

        Raises :class:`InvalidInput` (naming the field) for an empty wrap-up,
        overlong notes, an unknown disposition or channel, or a next contact
        date before today; :class:`AccessDenied` when ``actor`` did not
        handle the call; :class:`NotFound` for a customer that does not exist
        or that ``actor`` may not see; :class:`Conflict` when the call is
        recorded for another customer.  Nothing is written on any error.
        """
        values = await self._validated(call_id, wrap)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await _ensure_row(session, call_id, now)
            row = (
                await session.execute(
                    select(Interaction).where(Interaction.call_id == call_id).with_for_update()
                )
            ).scalar_one()
            if not vouched and not await _handled_by(session, row, actor):
                raise AccessDenied(f"{actor.login} did not handle call {call_id}")
            customer_id = await _customer_for(session, actor, row, wrap.customer_id)
            edited = row.wrapped_up_at is not None
            changes: dict[str, Any] = {**values, "wrapped_up_by": actor.login, "wrapped_up_at": now}
            changes["updated_at"] = now
            if customer_id is not None and row.customer_id is None:
                changes["customer_id"] = customer_id
            if row.created_by_id is None and actor.user_id is not None:
                changes["created_by_id"] = actor.user_id
            await session.execute(update(Interaction).where(Interaction.id == row.id).values(**changes))
            if customer_id is not None:
                await touch_last_follow_up(session, customer_id, now)
            await audit(
                session,
                actor,
                "update" if edited else "create",
                "follow_up",
                row.id,
                {
                    "call_id": call_id,
                    "customer_id": customer_id,
                    "wrap_up": True,
                    "disposition": values["disposition"],
                    "next_contact_on": str(values["next_contact_on"]) if values["next_contact_on"] else None,
                    "notes_length": len(values["content"] or ""),
                    "handled_by_id": row.agent_id,
                },
            )
            view = await _view(session, call_id, edited=edited)
        log.info(
            "wrapup.saved",
            extra={"call_id": call_id, "login": actor.login, "edited": edited, "customer_id": customer_id},
        )
        assert view is not None
        return view

    async def get(self, actor: Actor, call_id: str, *, vouched: bool) -> WrapUpView | None:
        """The wrap-up stored for ``call_id`` (``None``: nothing stored yet), for a user who handled it."""
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(select(Interaction).where(Interaction.call_id == call_id))
            ).scalar_one_or_none()
            if row is None:
                if vouched:
                    return None
                raise AccessDenied(f"{actor.login} did not handle call {call_id}")
            if not vouched and not await _handled_by(session, row, actor):
                raise AccessDenied(f"{actor.login} did not handle call {call_id}")
            return await _view(session, call_id)

    async def _validated(self, call_id: str, wrap: WrapUp) -> dict[str, Any]:
        if not 1 <= len(call_id) <= _CALL_ID_LENGTH:
            raise InvalidInput("call_id", f"must be 1 to {_CALL_ID_LENGTH} characters")
        notes = (wrap.notes or "").strip() or None
        if notes is not None and len(notes) > MAX_NOTES_LENGTH:
            raise InvalidInput("notes", f"must be at most {MAX_NOTES_LENGTH} characters")
        if notes is None and wrap.disposition is None:
            raise InvalidInput("notes", "write a note or choose a disposition")
        if wrap.disposition is not None:
            dispositions = list(await self._parameters.get("followup.dispositions"))
            if wrap.disposition not in dispositions:
                raise InvalidInput("disposition", f"must be one of {', '.join(dispositions)}")
        channel = wrap.next_contact_channel
        if channel is not None:
            allowed = [c for c in await self._parameters.get("followup.types") if c in INTERACTION_CHANNELS]
            if channel not in allowed:
                raise InvalidInput("next_contact_channel", f"must be one of {', '.join(allowed)}")
        if wrap.next_contact_on is not None and wrap.next_contact_on < self._today():
            raise InvalidInput("next_contact_on", "must be today or later")
        if channel is not None and wrap.next_contact_on is None:
            raise InvalidInput("next_contact_on", "give the date of the next contact with its channel")
        return {
            "content": notes,
            "disposition": wrap.disposition,
            "next_contact_on": wrap.next_contact_on,
            "next_contact_channel": channel,
        }


async def _ensure_row(session: AsyncSession, call_id: str, now: datetime) -> None:
    """The call's row exists (the PBX side's write may still be on its way): insert a bare one if not."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(Interaction)
        .values(call_id=call_id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Interaction.call_id])
    )


async def _handled_by(session: AsyncSession, row: Interaction, actor: Actor) -> bool:
    """The stored call shows ``actor`` handled it: its agent, or an answered agent leg of theirs.

    An agent whose phone only rang (no answer, then the call went elsewhere) did not handle it.
    """
    if actor.user_id is not None and row.agent_id == actor.user_id:
        return True
    leg = exists().where(
        InteractionLeg.interaction_id == row.id,
        InteractionLeg.kind == "agent",
        InteractionLeg.agent_login == actor.login,
        InteractionLeg.answered_at.is_not(None),
    )
    return bool(await session.scalar(select(leg)))


async def _customer_for(
    session: AsyncSession, actor: Actor, row: Interaction, named: int | None
) -> int | None:
    """The customer the wrap-up belongs to: the call's, or ``named`` when the call has none yet."""
    if named is None or named == row.customer_id:
        return row.customer_id
    if row.customer_id is not None:
        raise Conflict("this call is recorded for another customer")
    verdict = await check(session, actor, named)
    if verdict.customer is None or verdict.customer.deleted_at is not None or verdict.access is Access.NONE:
        raise NotFound(f"no customer {named}")
    if verdict.limited:
        raise AccessDenied("claim this customer from the public pool before linking a call to it")
    return named


async def _view(session: AsyncSession, call_id: str, *, edited: bool = False) -> WrapUpView | None:
    found = (
        await session.execute(
            select(Interaction, Agent.login)
            .outerjoin(Agent, Agent.id == Interaction.agent_id)
            .where(Interaction.call_id == call_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if found is None:
        return None
    row, login = found
    return WrapUpView(
        call_id=call_id,
        follow_up_id=row.id,
        customer_id=row.customer_id,
        notes=row.content,
        disposition=row.disposition,
        next_contact_on=row.next_contact_on,
        next_contact_channel=row.next_contact_channel,
        wrapped_up_by=row.wrapped_up_by,
        wrapped_up_at=row.wrapped_up_at,
        agent_login=login,
        outcome=row.outcome,
        arrived_at=row.arrived_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        edited=edited,
    )
