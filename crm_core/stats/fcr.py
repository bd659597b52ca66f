"""First-contact resolution: answered inbound calls not followed by a repeat contact within 7 days.

Definitions (documented choice for issue 7):

* A **first contact** is an answered inbound phone call (``interactions``:
  channel ``phone``, direction ``inbound``, ``answered_at`` set) of a known
  customer.  It is dated by its arrival.
* Its **reason** is its queue, unless its disposition names a topic: every
  disposition that is not one of :data:`OUTCOME_DISPOSITIONS` (which say how
  a call ended, not what it was about — "resolved", "follow-up"…) is the
  reason instead.  So two calls about a "complaint" match across queues, and
  two calls to ``cards`` closed "resolved" match each other.
* A **repeat** is any later inbound contact of the same customer, on any
  channel, with the same reason, arriving after the first and at most
  :data:`REPEAT_WINDOW` later.  Outbound contacts (our own callbacks) are
  never repeats.
* FCR rate = first contacts without a repeat ÷ first contacts.  A call less
  than 7 days old counts as resolved until a repeat arrives, so recent
  figures can only go down.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Agent, Interaction
from crm_core.stats.intervals import ReportRange

__all__ = ["OUTCOME_DISPOSITIONS", "REPEAT_WINDOW", "FcrContact", "contact_reason", "load_fcr", "resolve"]

REPEAT_WINDOW = timedelta(days=7)
#: Dispositions that describe how a contact ended rather than what it was about.
OUTCOME_DISPOSITIONS = frozenset({"resolved", "follow-up", "sale", "wrong-number", "no-answer", "callback"})


@dataclass(frozen=True)
class FcrContact:
    """One first contact: when, where, who took it, and whether it was resolved (no repeat)."""

    call_id: str | None
    customer_id: int
    at: datetime
    queue: str | None
    agent: str | None
    reason: str | None
    resolved: bool


def contact_reason(queue: str | None, disposition: str | None) -> str | None:
    """The reason of a contact: a topic disposition, else the queue (``None``: unknown)."""
    topic = (disposition or "").strip().lower()
    if topic and topic not in OUTCOME_DISPOSITIONS:
        return f"disposition:{topic}"
    return f"queue:{queue}" if queue else None


@dataclass(frozen=True)
class _Contact:
    id: int
    customer_id: int
    at: datetime
    reason: str | None


def resolve(first: _Contact, later: Sequence[_Contact]) -> bool:
    """True when no contact in ``later`` repeats ``first`` within the window."""
    if first.reason is None:
        return True
    deadline = first.at + REPEAT_WINDOW
    return not any(
        c.id != first.id and first.at < c.at <= deadline and c.reason == first.reason for c in later
    )


async def load_fcr(
    session: AsyncSession, report: ReportRange, queues: Sequence[str] | None = None
) -> list[FcrContact]:
    """The first contacts arriving within the range, each judged against the 7 days after it."""
    when = func.coalesce(Interaction.arrived_at, Interaction.queued_at, Interaction.answered_at)
    query = (
        select(Interaction, Agent.login, when.label("at"))
        .outerjoin(Agent, Agent.id == Interaction.agent_id)
        .where(
            Interaction.channel == "phone",
            Interaction.direction == "inbound",
            Interaction.answered_at.is_not(None),
            Interaction.customer_id.is_not(None),
            when >= report.start,
            when < report.end,
        )
    )
    if queues is not None:
        query = query.where(Interaction.queue.in_(list(queues)))
    firsts = (await session.execute(query)).all()
    if not firsts:
        return []
    customers = sorted({row.customer_id for row, _, _ in firsts if row.customer_id is not None})
    later_when = func.coalesce(Interaction.arrived_at, Interaction.queued_at, Interaction.created_at)
    repeats: dict[int, list[_Contact]] = defaultdict(list)
    # Chunked: a bank's day has thousands of callers, and IN lists have limits.
    for index in range(0, len(customers), 500):
        chunk = customers[index : index + 500]
        rows = await session.execute(
            select(
                Interaction.id,
                Interaction.customer_id,
                later_when.label("at"),
                Interaction.queue,
                Interaction.disposition,
            ).where(
                Interaction.customer_id.in_(chunk),
                Interaction.direction == "inbound",
                later_when > report.start,
                later_when <= report.end + REPEAT_WINDOW,
            )
        )
        for id_, customer_id, at, queue, disposition in rows:
            if customer_id is not None and at is not None:
                repeats[customer_id].append(
                    _Contact(id_, customer_id, at, contact_reason(queue, disposition))
                )
    contacts: list[FcrContact] = []
    for row, login, at in firsts:
        assert row.customer_id is not None
        first = _Contact(row.id, row.customer_id, at, contact_reason(row.queue, row.disposition))
        contacts.append(
            FcrContact(
                row.call_id,
                row.customer_id,
                at,
                row.queue,
                login,
                first.reason,
                resolve(first, repeats[row.customer_id]),
            )
        )
    return contacts
