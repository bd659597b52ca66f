"""The follow-up history writer: one row per call, upserted by ``call_id`` (Linkedid), with its legs.

Facts about a call arrive at different moments and possibly more than once
(IVR path, queueing, answer, hang-up, the agent's note, replayed events).
Each is an ``INSERT … ON CONFLICT (call_id) DO UPDATE`` touching only the
fields it carries, so writes merge in any order, a replay changes nothing,
and concurrent writers for one call never create two rows (SQLite and
PostgreSQL alike).  The call's first arrival, queueing, offer and answer are
kept once stored: a call transferred back into a queue adds legs
(:mod:`crm_core.followups.legs`) and never restarts the row.  Every write of
a row linked to a customer also moves
``customers.last_follow_up_at`` forward in the same transaction: the
release-to-pool rule of :mod:`crm_core.protection.service` reads it.

A call the IVR could not identify because the CRM was unavailable carries
``identify_later``: the write that reaches the database (at once, or
replayed from the history spool once the database is back) links it by the
caller's number if exactly one live customer has it, and records in
``customer_link`` that the link came afterwards from the number alone.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.customers.directory import live_customers_with_number
from crm_core.followups.legs import call_durations, refresh_totals
from crm_core.followups.timeline import CallTimeline, in_transaction
from crm_core.models import Agent, Customer, Interaction
from crm_core.models.coltypes import utcnow
from crm_core.schemas import InteractionRecord, IvrStep

__all__ = ["InteractionWriter", "call_durations", "touch_last_follow_up"]

log = logging.getLogger(__name__)

_TABLE = Interaction.__table__
_CALL_ID_LENGTH = 64
# Record fields stored as-is in the column of the same name.
_PLAIN_FIELDS = (
    "caller_number",
    "caller_e164",
    "queue",
    "arrived_at",
    "queued_at",
    "offered_at",
    "answered_at",
    "ended_at",
    "outcome",
    "disposition",
    "last_seen_at",
    "wrapup_missed_at",
)
# The call's first moments: once stored, a later write (a second FastAGI session of a transferred
# call, a replay) keeps them.
_FIRST_WINS = frozenset({"arrived_at", "queued_at", "offered_at", "answered_at"})
# Fields with a default in the record: they overwrite only when set explicitly.
_DEFAULTED_FIELDS = ("channel", "direction")


def _length(name: str) -> int | None:
    length = getattr(_TABLE.c[name].type, "length", None)
    return length if isinstance(length, int) else None


def _overlong(values: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (name, length)
        for name, value in values.items()
        if isinstance(value, str) and (length := _length(name)) is not None and len(value) > length
    ]


def _check(call_id: str, values: dict[str, Any]) -> None:
    if not call_id or len(call_id) > _CALL_ID_LENGTH:
        raise ValueError("call_id must be 1 to 64 characters")
    for name, length in _overlong(values):
        raise ValueError(f"interaction {name} longer than {length} characters")


def _fit(call_id: str, values: dict[str, Any]) -> None:
    # Machine-fed facts (a caller ID of 300 characters from a trunk) are cut to
    # size: losing a field's tail beats losing the whole call's history.
    for name, length in _overlong(values):
        values[name] = values[name][:length]
        log.warning("interaction.field_truncated", extra={"call_id": call_id, "field": name})


def _agent_id(login: str) -> ColumnElement[Any]:
    # Resolved inside the INSERT: a separate SELECT first would open a read
    # snapshot that SQLite cannot upgrade to a write under contention.
    return select(Agent.id).where(Agent.login == login).scalar_subquery()


class InteractionWriter(CallTimeline):
    """Writes and reads the interaction (follow-up) history, idempotently by call id.

    The legs of a call and its end are :class:`~crm_core.followups.timeline.CallTimeline`'s part.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def upsert(self, record: InteractionRecord, within: AsyncSession | None = None) -> int:
        """Insert the call or merge ``record`` into it (``within``: the caller's transaction); return its id.

        ``None`` fields keep what is stored; ``channel``/``direction``
        overwrite only if set explicitly; ``ivr_path`` is replaced when
        given; an unknown ``agent_login`` or ``customer_id`` keeps the stored
        link.  Wait and talk seconds are recomputed from the merged
        timestamps in the same transaction.  Text longer than its column
        (a trunk's 300-character caller ID) is cut to size, not refused.
        With ``identify_later`` a call still without a customer is linked by
        its caller number (see the module).  Raises :class:`ValueError` for an
        empty or oversized ``call_id``.
        """
        values: dict[str, Any] = {
            name: getattr(record, name) for name in _PLAIN_FIELDS if getattr(record, name) is not None
        }
        if record.notes is not None:  # an agent's notes are the follow-up's text
            values["content"] = record.notes
        defaulted = {name: getattr(record, name) for name in _DEFAULTED_FIELDS}
        explicit = [name for name in _DEFAULTED_FIELDS if name in record.model_fields_set]
        _check(record.call_id, {})
        _fit(record.call_id, values)
        _fit(record.call_id, defaulted)
        if record.ivr_path is not None:
            values["ivr_path"] = [step.model_dump(mode="json") for step in record.ivr_path]
        linked: dict[str, Any] = {}
        if record.agent_login is not None:
            linked["agent_id"] = _agent_id(record.agent_login)
        if record.customer_id is not None:
            linked["customer_id"] = (
                select(Customer.id).where(Customer.id == record.customer_id).scalar_subquery()
            )
        now = utcnow()
        async with in_transaction(self._sessions, within) as session:
            insert = _insert_for(session)
            stmt = insert(Interaction).values(
                call_id=record.call_id,
                created_at=now,
                updated_at=now,
                **defaulted,
                **values,
                **linked,
            )
            excluded = _excluded(insert)  # built once: stmt.excluded rebuilds every column each time
            set_: dict[str, Any] = {
                name: func.coalesce(_TABLE.c[name], excluded[name]) if name in _FIRST_WINS else excluded[name]
                for name in (*values, *explicit)
            }
            set_.update({name: func.coalesce(excluded[name], _TABLE.c[name]) for name in linked})
            set_["updated_at"] = excluded.updated_at
            stmt = stmt.on_conflict_do_update(index_elements=[Interaction.call_id], set_=set_).returning(
                Interaction.id,
                Interaction.agent_id,
                Interaction.customer_id,
                Interaction.caller_e164,
                Interaction.customer_link,
                Interaction.arrived_at,
                Interaction.queued_at,
                Interaction.answered_at,
                Interaction.ended_at,
            )
            row = (await session.execute(stmt)).one()
            await refresh_totals(session, row.id)
            customer_id = row.customer_id
            if (
                record.identify_later
                and customer_id is None
                and row.customer_link is None
                and row.caller_e164 is not None
            ):
                customer_id = await _link_by_caller_number(session, record.call_id, row.id, row.caller_e164)
            if customer_id is not None:
                contact_at = _contact_time(now, row.arrived_at, row.answered_at, row.ended_at)
                await touch_last_follow_up(session, customer_id, contact_at)
        if record.agent_login is not None and row.agent_id is None:
            log.warning("interaction.unknown_agent", extra={"call_id": record.call_id})
        return int(row.id)

    async def save_note(
        self,
        call_id: str,
        *,
        agent_login: str,
        notes: str | None,
        disposition: str | None,
        within: AsyncSession | None = None,
    ) -> None:
        """Store a note (as the follow-up's text) and disposition on a call, creating the row if needed.

        Kept for notes spooled by earlier versions (the history spool's
        ``note`` entries): replayed after an upgrade, they are not lost.  New
        wrap-ups go through :class:`crm_core.followups.wrapup.WrapUpService`.
        ``None`` keeps the stored value.  The call's agent is set to
        ``agent_login`` only if it has none yet.
        """
        values = {k: v for k, v in (("content", notes), ("disposition", disposition)) if v is not None}
        _check(call_id, values)
        now = utcnow()
        async with in_transaction(self._sessions, within) as session:
            insert = _insert_for(session)
            stmt = insert(Interaction).values(
                call_id=call_id, created_at=now, updated_at=now, agent_id=_agent_id(agent_login), **values
            )
            set_: dict[str, Any] = {name: stmt.excluded[name] for name in values}
            set_["agent_id"] = func.coalesce(_TABLE.c.agent_id, stmt.excluded.agent_id)
            set_["updated_at"] = stmt.excluded.updated_at
            stmt = stmt.on_conflict_do_update(index_elements=[Interaction.call_id], set_=set_).returning(
                Interaction.agent_id, Interaction.customer_id
            )
            agent_id, customer_id = (await session.execute(stmt)).one()
            if customer_id is not None:
                await touch_last_follow_up(session, customer_id, now)
        log.info("interaction.note_saved", extra={"call_id": call_id, "agent": agent_login})
        if agent_id is None:
            log.warning("interaction.unknown_agent", extra={"call_id": call_id})

    async def get(self, call_id: str) -> InteractionRecord | None:
        """The stored record of ``call_id``, or ``None``."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Interaction, Agent.login)
                    .outerjoin(Agent, Agent.id == Interaction.agent_id)
                    .where(Interaction.call_id == call_id)
                )
            ).one_or_none()
        if row is None:
            return None
        interaction, login = row
        return InteractionRecord(
            call_id=call_id,
            channel=interaction.channel,
            direction=interaction.direction,
            customer_id=interaction.customer_id,
            customer_link=interaction.customer_link,
            agent_login=login,
            ivr_path=(
                None
                if interaction.ivr_path is None
                else [IvrStep.model_validate(step) for step in interaction.ivr_path]
            ),
            found_gone_at=interaction.found_gone_at,
            notes=interaction.content,
            **{name: getattr(interaction, name) for name in _PLAIN_FIELDS},
        )

    async def durations(self, call_id: str) -> tuple[float | None, float | None] | None:
        """Stored ``(wait_seconds, talk_seconds)`` of ``call_id``, or ``None`` if unknown."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Interaction.wait_seconds, Interaction.talk_seconds).where(
                        Interaction.call_id == call_id
                    )
                )
            ).one_or_none()
        return None if row is None else (row.wait_seconds, row.talk_seconds)

    async def count(self) -> int:
        """Number of interactions stored."""
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Interaction)) or 0)


async def _link_by_caller_number(session: AsyncSession, call_id: str, row_id: int, e164: str) -> int | None:
    """Link a call the IVR could not identify (CRM unavailable) by its caller number, if that is unambiguous.

    The same match as the IVR's lookup (:func:`~crm_core.customers.directory.live_customers_with_number`):
    exactly one live customer links the call, marked ``caller_number`` — a number match made after
    the fact, not a verification; several leave it unlinked, marked ``ambiguous`` (no guessing);
    none marks it ``no_match``.  Returns the linked customer's id.
    """
    ids = await live_customers_with_number(session, e164)
    if len(ids) == 1:
        link, customer_id = "caller_number", ids[0]
        log.info(
            "interaction.linked_by_caller_number", extra={"call_id": call_id, "customer_id": customer_id}
        )
    else:
        link, customer_id = ("ambiguous" if ids else "no_match"), None
        log.warning(
            "interaction.not_linked_by_caller_number", extra={"call_id": call_id, "matches": len(ids)}
        )
    await session.execute(
        update(Interaction)
        .where(Interaction.id == row_id, Interaction.customer_id.is_(None))
        .values(customer_id=customer_id, customer_link=link)
        .execution_options(synchronize_session=False)
    )
    return customer_id


async def touch_last_follow_up(session: AsyncSession, customer_id: int, at: datetime) -> None:
    """Move ``customers.last_follow_up_at`` forward to ``at`` (never back), in the caller's transaction.

    The release-to-pool rule reads this column; replays of old facts leave it alone.
    """
    await session.execute(
        update(Customer)
        .where(
            Customer.id == customer_id,
            or_(Customer.last_follow_up_at.is_(None), Customer.last_follow_up_at < at),
        )
        .values(last_follow_up_at=at)
        .execution_options(synchronize_session=False)
    )


def _contact_time(now: datetime, *moments: datetime | None) -> datetime:
    # The latest known moment of the call; a source clock ahead of ours never
    # dates a contact in the future (that would postpone the customer's release).
    known = [moment for moment in moments if moment is not None]
    return min(max(known), now) if known else now


def _insert_for(session: AsyncSession) -> Any:
    # Both dialects spell the upsert the same way, but through their own insert().
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@functools.cache
def _excluded(insert: Any) -> Any:
    """The ``excluded`` row of an upsert into interactions (the same alias for every statement)."""
    return insert(Interaction).excluded
