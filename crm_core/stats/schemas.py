"""What the contact-center reports return: one row per key and interval, and the report around them.

Every figure is defined in :mod:`crm_core.stats.metrics`; a ratio is a
share in [0, 1] (``None`` when its denominator is 0), seconds are rounded to
the centisecond and ratios to four places.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from crm_core.stats.intervals import Granularity

__all__ = ["CSV_COLUMNS", "GroupBy", "IntervalPoint", "IntervalSeries", "StatsReport", "StatsRow"]


class GroupBy(StrEnum):
    """What one row of a report is about."""

    QUEUE = "queue"
    AGENT = "agent"
    TEAM = "team"
    ALL = "all"


class StatsRow(BaseModel):
    """The figures of one key (queue name, agent login, team name or ``all``) in one interval.

    For agent and team rows ``offered`` counts the calls rung to the agents
    (a caller rung to two agents in turn counts for both) and ``abandoned``
    is 0: abandons belong to queues.  ``occupancy`` is ``None`` on queue rows:
    agent time is not split between the queues an agent serves.
    """

    model_config = ConfigDict(frozen=True)

    group: str
    interval_start: datetime | None
    offered: int
    answered: int
    answered_within_threshold: int
    abandoned: int
    short_abandoned: int
    abandoned_after_threshold: int
    timed_out: int
    service_level: float | None
    abandon_rate: float | None
    asa_seconds: float | None
    handled: int
    aht_seconds: float | None
    talk_seconds: float
    hold_seconds: float
    wrap_up_seconds: float
    handling_seconds: float
    idle_seconds: float
    occupancy: float | None
    longest_wait_seconds: float | None
    callbacks_requested: int
    callbacks_completed: int
    transfers: int
    ring_no_answer: int
    fcr_contacts: int
    fcr_resolved: int
    fcr_rate: float | None
    # Calls whose required wrap-up was not saved in time (crm_core.stats.wrapups).
    not_wrapped_up: int = 0


#: The CSV columns of a report, in order (the fields of :class:`StatsRow`).
CSV_COLUMNS: tuple[str, ...] = tuple(StatsRow.model_fields)


class StatsReport(BaseModel):
    """A report over ``[start, end)`` (UTC), cut by ``granularity`` in time zone ``tz``."""

    group_by: GroupBy
    granularity: Granularity
    tz: str
    start: datetime
    end: datetime
    service_level_seconds: dict[str, float]
    rows: list[StatsRow]


class IntervalPoint(BaseModel):
    """One 15-minute interval of one queue for the wallboard's charts."""

    start: datetime
    offered: int
    answered: int
    abandoned: int
    service_level: float | None


class IntervalSeries(BaseModel):
    """Today's 15-minute intervals per queue (every interval of the day, empty ones as zeros)."""

    day: date
    tz: str
    queues: dict[str, list[IntervalPoint]]
