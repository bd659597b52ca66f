"""An agent's recent calls: the last calls they answered, to find a customer again after the call.

A call counts when the agent answered it (an ``agent`` leg of theirs with an
answer, or the call's own agent on a call recorded without legs: see
:func:`crm_core.access.handled.answered_by`).  Each entry says whether the
agent may open the caller's record right now: as its owner, through a
sharing grant, on a call still offered to them, or through the handled-call
grant (:mod:`crm_core.access.handled`) — which expires some minutes after
the call and its wrap-up.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.access.handled import answered_by, grant_clause
from crm_core.access.rules import visible_customers_clause
from crm_core.actor import Actor
from crm_core.errors import InvalidInput
from crm_core.models import Customer, Interaction

__all__ = ["MAX_RECENT_CALLS", "RecentCall", "RecentCalls"]

#: The most calls one request lists.
MAX_RECENT_CALLS = 50


class RecentCall(BaseModel):
    """One call the agent answered, newest first (times UTC).

    ``customer_name`` is ``None`` when the call is linked to no customer
    (then ``caller_number`` names the caller) or the customer was deleted.
    ``can_open``: the agent may open the customer's record now.
    """

    model_config = ConfigDict(frozen=True)

    call_id: str
    at: datetime
    ended_at: datetime | None
    channel: str
    direction: str
    queue: str | None
    customer_id: int | None
    customer_name: str | None
    caller_number: str | None
    disposition: str | None
    can_open: bool


class RecentCalls:
    """Lists the calls an agent answered, with what they may still open (audited as a ``view``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list(self, actor: Actor, *, limit: int = 20) -> list[RecentCall]:
        """The last ``limit`` calls ``actor`` answered, newest first.

        Raises :class:`InvalidInput` naming ``limit`` outside 1…:data:`MAX_RECENT_CALLS`.
        """
        if not 1 <= limit <= MAX_RECENT_CALLS:
            raise InvalidInput("limit", f"must be 1 to {MAX_RECENT_CALLS}")
        at = func.coalesce(Interaction.answered_at, Interaction.arrived_at, Interaction.created_at)
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(Interaction, Customer.name, Customer.deleted_at)
                    .outerjoin(Customer, Customer.id == Interaction.customer_id)
                    .where(Interaction.call_id.is_not(None), answered_by(actor))
                    .order_by(at.desc(), Interaction.id.desc())
                    .limit(limit)
                )
            ).all()
            ids = sorted({i.customer_id for i, _, _ in rows if i.customer_id is not None})
            openable = await _openable(session, actor, ids)
            if ids:
                await audit(
                    session, actor, "view", "customer", None, {"view": "recent-calls", "customer_ids": ids}
                )
        return [
            RecentCall(
                call_id=str(interaction.call_id),
                at=interaction.answered_at or interaction.arrived_at or interaction.created_at,
                ended_at=interaction.ended_at,
                channel=interaction.channel,
                direction=interaction.direction,
                queue=interaction.queue,
                customer_id=interaction.customer_id,
                customer_name=name if deleted_at is None else None,
                caller_number=interaction.caller_e164 or interaction.caller_number,
                disposition=interaction.disposition,
                can_open=interaction.customer_id in openable,
            )
            for interaction, name, deleted_at in rows
        ]


async def _openable(session: AsyncSession, actor: Actor, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    visible = await session.scalars(
        select(Customer.id).where(Customer.id.in_(ids), visible_customers_clause(actor))
    )
    granted = await session.scalars(
        select(Interaction.customer_id)
        .join(Customer, Customer.id == Interaction.customer_id)
        .where(Interaction.customer_id.in_(ids), Customer.deleted_at.is_(None), grant_clause(actor))
    )
    return {*visible, *(i for i in granted if i is not None)}
