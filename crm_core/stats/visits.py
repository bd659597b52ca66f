"""A call's stay in each queue ("visit"), folded from its ``queue_events`` rows.

One call may visit several queues (an overflow that moves it, a supervisor's
move); each visit ends one way:

* ``answered`` — an agent connected (``connected``),
* ``abandoned`` — the caller hung up while queued,
* ``timeout`` — the queue's maximum wait ran out (``max_wait``),
* ``callback`` — the caller left the queue with a callback request,
* ``interrupted`` — bankcti stopped while the call waited (``interrupted``):
  neither answered nor abandoned, counted in neither,
* ``moved`` / ``overflowed`` — the call went on to another queue (a new visit
  starts there), or
* ``waiting`` — none of the above yet.

An overflow in ``widen`` mode only lets more agents take the call: the call
stays in its queue, so the visit goes on.  Calls that have no queue events
at all (recorded before the ACD wrote them) are taken from ``interactions``.
Per-agent facts that are not a queue outcome (rings, ring-no-answer,
transfers, callback attempts) are kept as :class:`CallFact` rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Agent, Interaction, QueueEvent
from crm_core.stats.intervals import ReportRange

__all__ = ["CallFact", "Visit", "fold_call", "load_visits"]

# Interaction outcomes (calls without queue events) mapped to a visit's outcome.
_INTERACTION_OUTCOMES = {
    "answered": "answered",
    "abandoned_in_queue": "abandoned",
    "callback": "callback",
    "interrupted": "abandoned",
}


@dataclass
class Visit:
    """One stay of one call in one queue.

    ``wait_seconds`` is the time from entering the queue to the answer (queue
    plus ring time, as ``connected`` reports it) or to leaving it.
    ``talk_seconds`` / ``hold_seconds`` come from the agent's ``completed``
    event; ``wrap_up_seconds`` is filled from agent states later.
    """

    call_id: str
    queue: str
    entered_at: datetime
    original_position: int | None = None
    outcome: str = "waiting"
    ended_at: datetime | None = None
    wait_seconds: float | None = None
    ring_seconds: float | None = None
    position: int | None = None
    agent: str | None = None
    talk_seconds: float | None = None
    hold_seconds: float | None = None
    wrap_up_seconds: float = 0.0
    completed_at: datetime | None = None
    completed_by: str | None = None
    to_queue: str | None = None
    customer_id: int | None = None

    @property
    def handled(self) -> bool:
        """Answered and finished: it has a handling time."""
        return self.outcome == "answered" and self.talk_seconds is not None


@dataclass(frozen=True)
class CallFact:
    """A call event counted on its own: ``kind`` ∈ offered, no_answer, transferred,
    callback_requested, callback_attempt, callback_completed, callback_failed."""

    at: datetime
    call_id: str
    kind: str
    queue: str | None
    agent: str | None
    data: dict[str, Any] = field(default_factory=dict)


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(data: dict[str, Any], key: str) -> int | None:
    value = _number(data, key)
    return None if value is None else int(value)


def _elapsed(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


class _CallFolder:
    """Walks one call's events in order, opening and closing its visits."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.visits: list[Visit] = []
        self.facts: list[CallFact] = []
        self.current: Visit | None = None  # the visit the call is queued in

    def _enter(self, queue: str, at: datetime, position: int | None, customer_id: int | None) -> None:
        self.current = Visit(self.call_id, queue, at, original_position=position, customer_id=customer_id)
        self.visits.append(self.current)

    def _leave(self, at: datetime, outcome: str, data: dict[str, Any]) -> Visit | None:
        visit = self.current
        if visit is None:
            return None
        visit.outcome = outcome
        visit.ended_at = at
        wait = _number(data, "wait_seconds")
        visit.wait_seconds = wait if wait is not None else _elapsed(visit.entered_at, at)
        visit.position = _int(data, "position")
        self.current = None
        return visit

    def _answered_by(self, agent: str | None) -> Visit | None:
        answered = [v for v in self.visits if v.outcome == "answered"]
        mine = [v for v in answered if v.agent == agent]
        chosen = mine or answered
        return chosen[-1] if chosen else None

    def step(self, event: QueueEvent) -> None:
        data: dict[str, Any] = dict(event.data or {})
        queue = event.queue or (self.current.queue if self.current else None)
        kind = event.event
        if kind == "joined" and queue is not None:
            if self.current is not None and self.current.queue == queue:
                return  # a repeated join (the ACD re-announcing a moved call) is the same visit
            if self.current is not None:
                self._leave(event.at, "moved", {})
            self._enter(queue, event.at, _int(data, "position"), event.customer_id)
        elif kind == "connected":
            visit = self._leave(event.at, "answered", data)
            if visit is not None:
                visit.agent = event.agent_login
                visit.ring_seconds = _number(data, "ring_seconds")
        elif kind == "abandoned":
            visit = self._leave(event.at, "abandoned", data)
            if visit is not None and visit.original_position is None:
                visit.original_position = _int(data, "original_position")
        elif kind == "max_wait":
            self._leave(event.at, "timeout", data)
        elif kind == "interrupted":
            self._leave(event.at, "interrupted", data)
        elif kind in {"overflowed", "moved"}:
            target = data.get("to_queue")
            if kind == "overflowed" and data.get("mode") != "move":
                return  # widen: more agents may take it, the call stays where it is
            source = self._leave(event.at, kind, {})
            if source is not None:
                source.to_queue = target if isinstance(target, str) else None
            if isinstance(target, str) and target:
                customer = source.customer_id if source else event.customer_id
                self._enter(target, event.at, None, customer)
        elif kind == "completed":
            visit = self._answered_by(event.agent_login)
            if visit is not None:
                visit.talk_seconds = _number(data, "talk_seconds")
                if visit.talk_seconds is None:
                    visit.talk_seconds = _elapsed(visit.ended_at or event.at, event.at)
                visit.hold_seconds = _number(data, "hold_seconds")
                visit.completed_at = event.at
                by = data.get("by")
                visit.completed_by = by if by in {"caller", "agent"} else None
        else:
            if kind == "callback_requested":
                self._leave(event.at, "callback", data)
            self.facts.append(CallFact(event.at, self.call_id, kind, queue, event.agent_login, data))


def fold_call(call_id: str, events: Iterable[QueueEvent]) -> tuple[list[Visit], list[CallFact]]:
    """The visits and facts of one call from its events (in ``at``, ``id`` order)."""
    folder = _CallFolder(call_id)
    for event in events:
        folder.step(event)
    return folder.visits, folder.facts


def _from_interaction(row: Interaction, login: str | None) -> Visit | None:
    if row.queue is None or row.queued_at is None or row.call_id is None:
        return None
    outcome = _INTERACTION_OUTCOMES.get(row.outcome or "", "waiting" if row.ended_at is None else "other")
    visit = Visit(row.call_id, row.queue, row.queued_at, outcome=outcome, customer_id=row.customer_id)
    visit.ended_at = row.answered_at or row.ended_at
    visit.wait_seconds = row.wait_seconds
    if outcome == "answered":
        visit.agent = login
        if row.ended_at is not None:
            visit.talk_seconds = row.talk_seconds
            visit.completed_at = row.ended_at
    return visit


async def load_visits(
    session: AsyncSession, report: ReportRange, queues: Sequence[str] | None = None
) -> tuple[list[Visit], list[CallFact]]:
    """Visits that entered a queue within the range and facts that happened within it.

    Every event of a call touching the range is read, so a call that queued
    at 09:59 and was answered at 10:01 is complete whichever bucket it
    lands in.  ``queues`` narrows both to those queues (``None``: all).
    """
    touching = (
        select(QueueEvent.call_id)
        .where(QueueEvent.at >= report.start, QueueEvent.at < report.end)
        .distinct()
        .scalar_subquery()
    )
    rows = await session.scalars(
        select(QueueEvent)
        .where(QueueEvent.call_id.in_(touching))
        .order_by(QueueEvent.call_id, QueueEvent.at, QueueEvent.id)
    )
    visits: list[Visit] = []
    facts: list[CallFact] = []
    by_call: dict[str, list[QueueEvent]] = {}
    for event in rows:
        by_call.setdefault(event.call_id, []).append(event)
    for call_id, events in by_call.items():
        call_visits, call_facts = fold_call(call_id, events)
        visits.extend(call_visits)
        facts.extend(call_facts)
    legacy = await session.execute(
        select(Interaction, Agent.login)
        .outerjoin(Agent, Agent.id == Interaction.agent_id)
        .where(
            Interaction.queued_at >= report.start,
            Interaction.queued_at < report.end,
            Interaction.queue.is_not(None),
            Interaction.call_id.is_not(None),
            Interaction.call_id.not_in(select(QueueEvent.call_id).distinct()),
        )
    )
    for interaction, login in legacy:
        visit = _from_interaction(interaction, login)
        if visit is not None:
            visits.append(visit)
    wanted = set(queues) if queues is not None else None
    visits = [v for v in visits if report.contains(v.entered_at) and (wanted is None or v.queue in wanted)]
    facts = [f for f in facts if report.contains(f.at) and (wanted is None or f.queue in wanted)]
    return visits, facts
