"""The contact-center KPIs, exactly as ``/work/shared/notes/domain.md`` defines them.

For a group of queue visits (see :mod:`crm_core.stats.visits`), ``T``
being each visit's queue service-level threshold (``acd_queues.
service_level_seconds``, 20 s by default):

* **offered** — visits that entered the queue in the interval (queue rows);
  calls rung to the agents (agent and team rows).
* **answered** — visits an agent connected; its wait is queue + ring time.
* **abandoned** — the caller hung up while queued after waiting at least
  :data:`SHORT_ABANDON_SECONDS`; quicker hang-ups are **short abandons**,
  counted apart and left out of every rate.
* **service level** = answered within T ÷ (answered + abandoned after T);
  short abandons and callbacks are in neither part.
* **ASA** = (queue + ring time of answered calls) ÷ answered.
* **abandon rate** = abandoned ÷ (answered + abandoned).
* **AHT** = (talk + hold + after-call work) ÷ handled, handled meaning
  answered and completed; talk and hold come from the ``completed`` event
  (held time is not part of talk), after-call work from the agent's
  ``wrap_up`` state for that call.
* **occupancy** = handling ÷ (handling + available idle), agent time from
  ``agent_events`` (see :mod:`crm_core.stats.agents`); a queue row's is that
  of the agents assigned to the queue (``agents.queues``; an agent in two
  queues counts in both), over the buckets where the queue had calls.
* **longest wait** — the longest a visit of the group waited; a call still
  queued counts up to the end of the range (or now): "now − oldest enqueue".
* **callbacks requested / completed**, **transfers**, **ring-no-answer** —
  events in the interval.
* **FCR** — see :mod:`crm_core.stats.fcr`.
* **not wrapped up** — calls whose queue required a wrap-up that was not
  saved within the queue's maximum; see :mod:`crm_core.stats.wrapups`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crm_core.stats.agents import AgentTime
from crm_core.stats.fcr import FcrContact
from crm_core.stats.intervals import ReportRange
from crm_core.stats.schemas import GroupBy, StatsRow
from crm_core.stats.visits import CallFact, Visit
from crm_core.stats.wrapups import MissedWrapUp

__all__ = ["DEFAULT_SERVICE_LEVEL_SECONDS", "SHORT_ABANDON_SECONDS", "Tally", "aggregate"]

SHORT_ABANDON_SECONDS = 5.0
DEFAULT_SERVICE_LEVEL_SECONDS = 20
ALL = "all"
NO_TEAM = "-"


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0 else None


def _seconds(value: float) -> float:
    return round(value, 2)


@dataclass
class Tally:
    """Running sums of one row; :meth:`row` turns them into the figures."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    abandoned_after: int = 0
    timed_out: int = 0
    wait_answered: float = 0.0
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap_up: float = 0.0
    handling: float = 0.0
    idle: float = 0.0
    longest_wait: float | None = None
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    transfers: int = 0
    ring_no_answer: int = 0
    fcr_contacts: int = 0
    fcr_resolved: int = 0
    not_wrapped_up: int = 0

    def wait(self, seconds: float) -> None:
        if self.longest_wait is None or seconds > self.longest_wait:
            self.longest_wait = seconds

    def visit(self, visit: Visit, threshold: float, until: datetime, *, count_offer: bool) -> None:
        """Count one queue visit (``count_offer``: it is an offer of this row)."""
        if count_offer:
            self.offered += 1
        wait = visit.wait_seconds
        if visit.outcome == "waiting":
            self.wait(max(0.0, (until - visit.entered_at).total_seconds()))
            return
        if wait is not None:
            self.wait(wait)
        if visit.outcome == "answered":
            self.answered += 1
            self.wait_answered += wait or 0.0
            if (wait or 0.0) <= threshold:
                self.answered_within += 1
            if visit.handled:
                self.handled += 1
                self.talk += visit.talk_seconds or 0.0
                self.hold += visit.hold_seconds or 0.0
                self.wrap_up += visit.wrap_up_seconds
        elif visit.outcome == "abandoned":
            if wait is not None and wait < SHORT_ABANDON_SECONDS:
                self.short_abandoned += 1
            else:
                self.abandoned += 1
                if wait is None or wait > threshold:
                    self.abandoned_after += 1
        elif visit.outcome == "timeout":
            self.timed_out += 1

    def fact(self, fact: CallFact, *, agent_row: bool) -> None:
        kind = fact.kind
        if kind == "offered" and agent_row:
            self.offered += 1
        elif kind == "no_answer":
            self.ring_no_answer += 1
        elif kind == "transferred":
            self.transfers += 1
        elif kind == "callback_requested":
            self.callbacks_requested += 1
        elif kind == "callback_completed":
            self.callbacks_completed += 1

    def row(self, group: str, interval_start: datetime | None) -> StatsRow:
        handled_time = self.talk + self.hold + self.wrap_up
        return StatsRow(
            group=group,
            interval_start=interval_start,
            offered=self.offered,
            answered=self.answered,
            answered_within_threshold=self.answered_within,
            abandoned=self.abandoned,
            short_abandoned=self.short_abandoned,
            abandoned_after_threshold=self.abandoned_after,
            timed_out=self.timed_out,
            service_level=_ratio(self.answered_within, self.answered + self.abandoned_after),
            abandon_rate=_ratio(self.abandoned, self.answered + self.abandoned),
            asa_seconds=_seconds(self.wait_answered / self.answered) if self.answered else None,
            handled=self.handled,
            aht_seconds=_seconds(handled_time / self.handled) if self.handled else None,
            talk_seconds=_seconds(self.talk),
            hold_seconds=_seconds(self.hold),
            wrap_up_seconds=_seconds(self.wrap_up),
            handling_seconds=_seconds(self.handling),
            idle_seconds=_seconds(self.idle),
            occupancy=_ratio(self.handling, self.handling + self.idle),
            longest_wait_seconds=None if self.longest_wait is None else _seconds(self.longest_wait),
            callbacks_requested=self.callbacks_requested,
            callbacks_completed=self.callbacks_completed,
            transfers=self.transfers,
            ring_no_answer=self.ring_no_answer,
            fcr_contacts=self.fcr_contacts,
            fcr_resolved=self.fcr_resolved,
            fcr_rate=_ratio(self.fcr_resolved, self.fcr_contacts),
            not_wrapped_up=self.not_wrapped_up,
        )


@dataclass(frozen=True)
class Inputs:
    """Everything a report aggregates, already read from the database."""

    visits: Sequence[Visit]
    facts: Sequence[CallFact]
    agent_time: Mapping[tuple[str, datetime], AgentTime]
    fcr: Sequence[FcrContact]
    thresholds: Mapping[str, float]
    team_of: Mapping[str, str]
    until: datetime
    queues_of: Mapping[str, Sequence[str]] = field(default_factory=dict)  # agent -> assigned queues
    missed: Sequence[MissedWrapUp] = ()  # calls not wrapped up


def _keyer(group_by: GroupBy, team_of: Mapping[str, str]) -> Callable[[str | None, str | None], str | None]:
    """``(queue, agent) -> row key`` for the grouping (``None``: the fact belongs to no row)."""
    if group_by is GroupBy.QUEUE:
        return lambda queue, agent: queue
    if group_by is GroupBy.AGENT:
        return lambda queue, agent: agent
    if group_by is GroupBy.TEAM:
        return lambda queue, agent: None if agent is None else team_of.get(agent, NO_TEAM)
    return lambda queue, agent: ALL


def aggregate(inputs: Inputs, group_by: GroupBy, report: ReportRange) -> list[StatsRow]:
    """One :class:`StatsRow` per key and bucket that has anything, ordered by key then time."""
    key = _keyer(group_by, inputs.team_of)
    agent_row = group_by in {GroupBy.AGENT, GroupBy.TEAM}
    tallies: dict[tuple[str, datetime], Tally] = defaultdict(Tally)
    for visit in inputs.visits:
        if agent_row and visit.outcome != "answered":
            continue
        name = key(visit.queue, visit.agent)
        if name is None:
            continue
        threshold = inputs.thresholds.get(visit.queue, DEFAULT_SERVICE_LEVEL_SECONDS)
        tally = tallies[(name, report.bucket(visit.entered_at))]
        tally.visit(visit, threshold, inputs.until, count_offer=not agent_row)
    for fact in inputs.facts:
        name = key(fact.queue, fact.agent)
        if name is not None:
            tallies[(name, report.bucket(fact.at))].fact(fact, agent_row=agent_row)
    if group_by is GroupBy.QUEUE:
        for (agent, bucket), time in inputs.agent_time.items():
            for queue in inputs.queues_of.get(agent, ()):
                served = tallies.get((queue, bucket))
                if served is not None:  # a queue's row exists where it had calls
                    served.handling += time.handling
                    served.idle += time.idle
    else:
        for (agent, bucket), time in inputs.agent_time.items():
            name = key(None, agent)
            if name is None:
                continue
            tally = tallies[(name, bucket)]
            tally.handling += time.handling
            tally.idle += time.idle
    for contact in inputs.fcr:
        name = key(contact.queue, contact.agent)
        if name is None:
            continue
        tally = tallies[(name, report.bucket(contact.at))]
        tally.fcr_contacts += 1
        tally.fcr_resolved += contact.resolved
    for missed in inputs.missed:
        name = key(missed.queue, missed.agent)
        if name is not None:
            tallies[(name, report.bucket(missed.at))].not_wrapped_up += 1
    total = report.granularity.value == "total"
    return [
        tallies[k].row(k[0], None if total else k[1])
        for k in sorted(tallies, key=lambda k: (k[0], k[1]))
    ]
