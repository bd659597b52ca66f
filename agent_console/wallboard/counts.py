"""The counters of one queue and interval, and the KPIs they give (definitions: :mod:`.figures`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from crm_core.stats.agents import HANDLING_STATES, IDLE_STATES

__all__ = ["HANDLING_STATES", "IDLE_STATES", "AgentToday", "IntervalCounts", "QueueKpis", "kpis"]

# The reports' own definitions of handling and idle time: the wallboard's occupancy is theirs.


@dataclass(slots=True)
class IntervalCounts:
    """Counters of the calls that entered one queue during one 15-minute interval."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0  # wait <= the queue's service-level threshold
    wait_answered: float = 0.0  # sum of queue + ring time of answered calls, seconds
    abandoned: int = 0  # in queue, waited at least SHORT_ABANDON_SECONDS
    short_abandoned: int = 0
    abandoned_after: int = 0  # in queue after more than the threshold (service-level denominator)
    callbacks: int = 0
    timed_out: int = 0
    moved_out: int = 0
    handled: int = 0  # answered and ended (the AHT's denominator)
    handle_time: float = 0.0  # talk + hold + the agent's wrap-up of handled calls, seconds

    def add(self, other: IntervalCounts) -> None:
        for name in _COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNT_FIELDS = tuple(f.name for f in fields(IntervalCounts))  # read once: fields() is slow per call


@dataclass(frozen=True, slots=True)
class QueueKpis:
    service_level: float | None
    asa_seconds: float | None
    abandon_rate: float | None
    aht_seconds: float | None = None


def kpis(counts: IntervalCounts) -> QueueKpis:
    """Service level, ASA and abandon rate of ``counts`` (``None`` where the denominator is 0)."""
    sl_base = counts.answered + counts.abandoned_after
    ab_base = counts.answered + counts.abandoned
    return QueueKpis(
        service_level=counts.answered_within / sl_base if sl_base else None,
        asa_seconds=counts.wait_answered / counts.answered if counts.answered else None,
        abandon_rate=counts.abandoned / ab_base if ab_base else None,
        aht_seconds=counts.handle_time / counts.handled if counts.handled else None,
    )


@dataclass(slots=True)
class AgentToday:
    """An agent as the events tell it (the live ACD view, when wired, overrides it)."""

    login: str
    state: str = "logged_out"
    reason: str | None = None
    since: float = 0.0
    call_id: str | None = None
    handled_today: int = 0
    queues: set[str] = field(default_factory=set)
    handling: float = 0.0  # seconds today in a handling state, up to ``since``
    idle: float = 0.0  # seconds today available, reserved or ringing, up to ``since``
    first_seen: float = 0.0  # the first state change folded (live or seeded)

    def time_at(self, now: float, day_start: float) -> tuple[float, float]:
        """(handling, idle) seconds today up to ``now``, the current state included."""
        current = max(0.0, now - max(self.since, day_start)) if self.since else 0.0
        if self.state in HANDLING_STATES:
            return self.handling + current, self.idle
        if self.state in IDLE_STATES:
            return self.handling, self.idle + current
        return self.handling, self.idle
