"""Calls "not wrapped up": a queue required their wrap-up and it was not saved in time.

The ACD marks such a call when ``wrapup_max_seconds`` pass after its end
with no wrap-up saved (``interactions.wrapup_missed_at``, see
:mod:`acd.wrapups`).  Definition (documented choice for issue 14, item 2):

* a call counts as **not wrapped up** when ``wrapup_missed_at`` is set and
  no wrap-up was saved before that moment: ``wrapped_up_at`` is NULL, or
  later than ``wrapup_missed_at``.  A wrap-up saved late still leaves the
  call counted (it was not done in time); one whose save raced the mark
  (saved first, marked after) is not counted.
* It is dated like the call's queue visit (queued, else arrival, else the
  mark itself), and belongs to the call's queue and to the agent who
  handled it (``interactions.agent_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Agent, Interaction
from crm_core.stats.intervals import ReportRange

__all__ = ["MissedWrapUp", "load_missed_wrapups"]


@dataclass(frozen=True)
class MissedWrapUp:
    """One call not wrapped up: when it counts, its queue and its agent."""

    call_id: str | None
    at: datetime
    queue: str | None
    agent: str | None


async def load_missed_wrapups(
    session: AsyncSession, report: ReportRange, queues: Sequence[str] | None = None
) -> list[MissedWrapUp]:
    """The calls of the range not wrapped up (see the module for the definition)."""
    when = func.coalesce(Interaction.queued_at, Interaction.arrived_at, Interaction.wrapup_missed_at)
    query = (
        select(Interaction.call_id, when.label("at"), Interaction.queue, Agent.login)
        .outerjoin(Agent, Agent.id == Interaction.agent_id)
        .where(
            Interaction.wrapup_missed_at.is_not(None),
            or_(
                Interaction.wrapped_up_at.is_(None),
                Interaction.wrapped_up_at > Interaction.wrapup_missed_at,
            ),
            when >= report.start,
            when < report.end,
        )
    )
    if queues is not None:
        query = query.where(Interaction.queue.in_(list(queues)))
    rows = (await session.execute(query)).all()
    return [MissedWrapUp(call_id, at, queue, login) for call_id, at, queue, login in rows]
