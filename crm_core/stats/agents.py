"""Agent time from ``agent_events``: handling, idle, wrap-up and hold spans per agent and bucket.

Each state lasts from its event to the agent's next event (the last one to
the end of the range, or "now" for a range that is still running).  The
state an agent was in when the range starts comes from their last event
before it.

Occupancy (domain.md) = handling time ÷ (handling + available idle time):

* handling — ``on_call``, ``on_hold``, ``wrap_up``;
* available idle — ``available``, ``reserved``, ``ringing``: the agent was
  ready and no call was being handled yet (ringing is not handling: a call
  that is never answered gives no work);
* ``paused`` and ``logged_out`` count in neither.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import AgentEvent
from crm_core.stats.intervals import ReportRange, split_by_bucket

__all__ = ["HANDLING_STATES", "IDLE_STATES", "AgentSpan", "AgentTime", "agent_time", "load_spans"]

HANDLING_STATES = frozenset({"on_call", "on_hold", "wrap_up"})
IDLE_STATES = frozenset({"available", "reserved", "ringing"})


@dataclass(frozen=True)
class AgentSpan:
    """An agent in ``state`` from ``start`` to ``end``; ``call_id`` the call it belongs to, if any."""

    agent: str
    state: str
    start: datetime
    end: datetime
    call_id: str | None
    reason: str | None


@dataclass
class AgentTime:
    """Seconds per state group of one agent in one bucket."""

    handling: float = 0.0
    idle: float = 0.0
    wrap_up: float = 0.0
    hold: float = 0.0
    paused: float = 0.0


async def load_events(
    session: AsyncSession, report: ReportRange, logins: Sequence[str] | None = None
) -> list[AgentEvent]:
    """Agent events within the range, each agent's last one before it first; ordered per agent."""
    last_before = (
        select(AgentEvent.agent_login, func.max(AgentEvent.at).label("at"))
        .where(AgentEvent.at < report.start)
        .group_by(AgentEvent.agent_login)
        .subquery()
    )
    earlier = select(AgentEvent).join(
        last_before,
        and_(AgentEvent.agent_login == last_before.c.agent_login, AgentEvent.at == last_before.c.at),
    )
    within = select(AgentEvent).where(AgentEvent.at >= report.start, AgentEvent.at < report.end)
    if logins is not None:
        earlier = earlier.where(AgentEvent.agent_login.in_(list(logins)))
        within = within.where(AgentEvent.agent_login.in_(list(logins)))
    events = [*(await session.scalars(earlier)).all(), *(await session.scalars(within)).all()]
    events.sort(key=lambda e: (e.agent_login, e.at, e.id))
    return events


def spans_of(events: Sequence[AgentEvent], until: datetime) -> list[AgentSpan]:
    """Consecutive state spans; the last of each agent lasts until ``until``.

    A span whose state carries no ``call_id`` but follows one of the same
    call (wrap-up written without it) inherits the call of the span before,
    so after-call work is still charged to its call.
    """
    spans: list[AgentSpan] = []
    for index, event in enumerate(events):
        following = events[index + 1] if index + 1 < len(events) else None
        same_agent = following is not None and following.agent_login == event.agent_login
        end = following.at if following is not None and same_agent else until
        if end <= event.at:
            continue
        call_id = event.call_id
        previous = spans[-1] if spans and spans[-1].agent == event.agent_login else None
        if call_id is None and event.state == "wrap_up" and previous is not None:
            call_id = previous.call_id if previous.state in {"on_call", "on_hold"} else None
        spans.append(AgentSpan(event.agent_login, event.state, event.at, end, call_id, event.reason))
    return spans


async def load_spans(
    session: AsyncSession, report: ReportRange, now: datetime, logins: Sequence[str] | None = None
) -> list[AgentSpan]:
    """The agents' state spans overlapping the range (an open state runs until ``now`` at most)."""
    events = await load_events(session, report, logins)
    return spans_of(events, min(report.end, now))


def agent_time(spans: Sequence[AgentSpan], report: ReportRange) -> dict[tuple[str, datetime], AgentTime]:
    """Seconds per state group, keyed by ``(agent, bucket)``, clipped to the range."""
    times: dict[tuple[str, datetime], AgentTime] = defaultdict(AgentTime)
    for span in spans:
        for bucket, seconds in split_by_bucket(span.start, span.end, report):
            tally = times[(span.agent, bucket)]
            if span.state in HANDLING_STATES:
                tally.handling += seconds
            elif span.state in IDLE_STATES:
                tally.idle += seconds
            elif span.state == "paused":
                tally.paused += seconds
            if span.state == "wrap_up":
                tally.wrap_up += seconds
            elif span.state == "on_hold":
                tally.hold += seconds
    return times


def per_call(spans: Sequence[AgentSpan], state: str) -> dict[tuple[str, str], float]:
    """Total seconds in ``state`` per ``(agent, call_id)`` (whole spans, not clipped)."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for span in spans:
        if span.state == state and span.call_id is not None:
            totals[(span.agent, span.call_id)] += (span.end - span.start).total_seconds()
    return totals
