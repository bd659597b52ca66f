"""Callback requests as the ACD keeps them: the queue place, the routing facts, the attempts.

A callback request (:class:`~crm_core.models.activity.CallbackRequest`) that
keeps a place in an ACD queue stores that place (queue, priority, original
arrival time) and the routing facts of the call it replaces (``routing``:
tier, segment, skills, relationship manager), so that after a restart it is
queued again exactly as before (:func:`pending_callback_places`), at the
time it is due — its window's opening or its next attempt, whichever is
later — never earlier.  Status changes go through
:meth:`crm_core.selfservice.service.SelfService.mark_callback`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models.activity import CallbackRequest

__all__ = [
    "CallbackPlace",
    "callback_status",
    "pending_callback_places",
    "record_callback_attempt",
    "set_callback_place",
]


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _epoch(moment: datetime) -> float:
    # SQLite hands timestamps back naive: they were stored in UTC.
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class CallbackPlace:
    """A pending (or in-progress) callback request with its place in an ACD queue.

    ``queued_at`` is the arrival time the request ranks by; ``due_at`` the
    moment it may be dialled at the earliest: the later of its window's
    opening and ``next_attempt_at``.  ``routing`` holds the routing facts as
    stored (empty for requests stored before they were).
    """

    callback_id: int
    customer_id: int | None
    number_e164: str
    queue: str
    priority: int
    queued_at: float
    attempts: int
    next_attempt_at: float | None
    status: str = "pending"
    window_start: float = 0.0
    window_end: float = 0.0
    routing: Mapping[str, Any] = field(default_factory=dict)

    @property
    def due_at(self) -> float:
        return max(self.window_start, self.next_attempt_at or 0.0)


async def set_callback_place(
    sessions: async_sessionmaker[AsyncSession],
    callback_id: int,
    *,
    queue: str,
    priority: int,
    queued_at: float,
    routing: Mapping[str, Any] | None = None,
) -> None:
    """Remember which queue place a callback request keeps (its original arrival time) and its routing."""
    async with sessions.begin() as session:
        await session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id)
            .values(
                queue=queue,
                priority=priority,
                queued_at=_utc(queued_at),
                routing=dict(routing) if routing else None,
            )
        )


async def record_callback_attempt(
    sessions: async_sessionmaker[AsyncSession],
    callback_id: int,
    *,
    attempts: int,
    agent_login: str | None,
    next_attempt_at: float | None,
) -> None:
    """Store how many attempts were made, by whom the last, and when the next one is due."""
    async with sessions.begin() as session:
        await session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id)
            .values(
                attempts=attempts,
                agent_login=agent_login,
                next_attempt_at=_utc(next_attempt_at) if next_attempt_at is not None else None,
            )
        )


async def pending_callback_places(sessions: async_sessionmaker[AsyncSession]) -> list[CallbackPlace]:
    """Pending and in-progress requests that hold a queue place (to queue again after a restart)."""
    async with sessions() as session:
        rows = await session.scalars(
            select(CallbackRequest)
            .where(CallbackRequest.status.in_(("pending", "in-progress")), CallbackRequest.queue.is_not(None))
            .order_by(CallbackRequest.id)
        )
        return [
            CallbackPlace(
                callback_id=row.id,
                customer_id=row.customer_id,
                number_e164=row.number_e164,
                queue=row.queue or "",
                priority=row.priority,
                queued_at=_epoch(row.queued_at or row.window_start),
                attempts=row.attempts,
                next_attempt_at=_epoch(row.next_attempt_at) if row.next_attempt_at else None,
                status=row.status,
                window_start=_epoch(row.window_start),
                window_end=_epoch(row.window_end),
                routing=dict(row.routing or {}),
            )
            for row in rows
        ]


async def callback_status(sessions: async_sessionmaker[AsyncSession], callback_id: int) -> str | None:
    """The request's status now (``None``: no such request)."""
    async with sessions() as session:
        status: str | None = await session.scalar(
            select(CallbackRequest.status).where(CallbackRequest.id == callback_id)
        )
        return status
