"""A call's timeline in the history: its legs, its end as the PBX says, the calls still open.

:class:`CallTimeline` is the part of
:class:`~crm_core.followups.interactions.InteractionWriter` that writes and
reads legs (:mod:`crm_core.followups.legs`); it lives here for size.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.followups.legs import (
    LegView,
    close_open_legs,
    ensure_interaction,
    legs_of,
    refresh_totals,
    upsert_leg,
)
from crm_core.models import Agent, Interaction
from crm_core.models.coltypes import utcnow
from crm_core.schemas import CallEndRecord, LegRecord

__all__ = ["CallTimeline", "in_transaction"]

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def in_transaction(
    sessions: async_sessionmaker[AsyncSession], within: AsyncSession | None
) -> AsyncIterator[AsyncSession]:
    """``within`` (the caller's transaction: a group commit's batch), or a new session and transaction."""
    if within is not None:
        yield within
        return
    async with sessions() as session, session.begin():
        yield session


class CallTimeline:
    """Legs and ends of calls, idempotently by ``(call_id, leg_key)`` and ``call_id``."""

    _sessions: async_sessionmaker[AsyncSession]

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The sessions the writes use (a writer that keeps its own connection takes their engine)."""
        return self._sessions

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session and transaction for several writes (``within=`` of each): committed at the end."""
        async with self._sessions() as session, session.begin():
            yield session

    async def upsert_leg(self, leg: LegRecord, within: AsyncSession | None = None) -> None:
        """Insert or merge one leg of a call, creating the call's row if needed, and derive the call's
        totals again in the same transaction (``within``: the caller's).

        :class:`ValueError` for an unknown kind or end reason, or a new leg without kind and start.
        """
        now = utcnow()
        async with in_transaction(self._sessions, within) as session:
            interaction_id = await ensure_interaction(session, leg.call_id, now)
            await upsert_leg(session, interaction_id, leg)
            await refresh_totals(session, interaction_id)

    async def end_call(self, end: CallEndRecord, within: AsyncSession | None = None) -> None:
        """The call is over (:class:`~crm_core.schemas.CallEndRecord`): its end, outcome and open legs
        (``within``: in the caller's transaction).

        Idempotent: a replay finds the legs closed and writes the same values.
        """
        now = utcnow()
        values: dict[str, Any] = {"outcome": end.outcome, "updated_at": now}
        for name in ("ended_at", "last_seen_at", "found_gone_at"):
            if getattr(end, name) is not None:
                values[name] = getattr(end, name)
        if end.agent_login is not None:
            known = select(Agent.id).where(Agent.login == end.agent_login).scalar_subquery()
            values["agent_id"] = func.coalesce(known, Interaction.__table__.c.agent_id)
        async with in_transaction(self._sessions, within) as session:
            interaction_id = await ensure_interaction(session, end.call_id, now)
            closed = await close_open_legs(session, interaction_id, end)
            await session.execute(
                update(Interaction).where(Interaction.id == interaction_id).values(**values)
            )
            await refresh_totals(session, interaction_id)
        log.info(
            "interaction.call_ended",
            extra={"call_id": end.call_id, "outcome": end.outcome, "legs_closed": closed},
        )

    async def legs(self, call_id: str) -> list[LegView]:
        """The legs of ``call_id``, in the order they started (empty for an unknown call)."""
        async with self._sessions() as session:
            found = await session.scalar(select(Interaction.id).where(Interaction.call_id == call_id))
            if found is None:
                return []
            return (await legs_of(session, [found])).get(found, [])

    async def open_calls(self) -> list[str]:
        """Call ids of inbound calls without an end (no ``ended_at``, no outcome), oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Interaction.call_id)
                .where(
                    Interaction.call_id.is_not(None),
                    Interaction.channel == "phone",
                    Interaction.direction == "inbound",
                    Interaction.ended_at.is_(None),
                    Interaction.outcome.is_(None),
                )
                .order_by(Interaction.id)
            )
            return [call_id for call_id in rows if call_id is not None]

    async def totals(self, call_id: str) -> tuple[float | None, float | None, float | None] | None:
        """Stored ``(wait_seconds, talk_seconds, hold_seconds)`` of ``call_id``, or ``None`` if unknown."""
        query = select(Interaction.wait_seconds, Interaction.talk_seconds, Interaction.hold_seconds)
        async with self._sessions() as session:
            row = (await session.execute(query.where(Interaction.call_id == call_id))).one_or_none()
        return None if row is None else (row.wait_seconds, row.talk_seconds, row.hold_seconds)
