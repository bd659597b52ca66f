"""The wallboard as the browser receives it (``GET /api/wallboard`` and ``wallboard`` messages).

Ratios are fractions (0.8 = 80 %), durations seconds, instants epoch seconds;
a ratio or average whose denominator is still 0 is ``null``.  Time in state
and longest wait are given as a start instant (``since``,
``oldest_enqueued_at``) besides the value at ``at``, so the page can tick
them every second without a message from the server.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "IntervalSeries",
    "WaitingCall",
    "WallboardAgent",
    "WallboardQueue",
    "WallboardSnapshot",
    "WallboardTotals",
]


class WaitingCall(BaseModel):
    call_id: str = Field(description="For the supervisor's move action; the page shows the caller instead")
    position: int  # 1-based, in service order
    priority: int
    enqueued_at: float
    caller_number: str | None = None
    customer_name: str | None = Field(default=None, description="The identified customer, if any")
    customer_tier: str | None = None


class WallboardTotals(BaseModel):
    """Today's counters and ratios of one queue, or of all queues together."""

    offered: int
    answered: int
    abandoned: int = Field(description="Abandoned in queue after at least 5 s")
    short_abandoned: int = Field(description="Abandoned in queue within 5 s (not in the abandon rate)")
    callbacks: int
    timed_out: int
    service_level: float | None
    asa_seconds: float | None
    abandon_rate: float | None
    aht_seconds: float | None = Field(
        default=None, description="(talk + hold + wrap-up) / handled, handled = answered and ended"
    )
    occupancy: float | None = Field(
        default=None,
        description="Handling / (handling + available idle) today of the agents (a queue's: serving it)",
    )


class WallboardQueue(WallboardTotals):
    name: str
    display_name: str = Field(description="The queue's display name (its name when it has none)")
    service_level_seconds: float
    waiting: int
    longest_wait_seconds: float
    oldest_enqueued_at: float | None
    waiting_calls: list[WaitingCall]
    agents_available: int
    agents_ringing: int
    agents_on_call: int
    agents_paused: int
    agents_wrap_up: int
    agents_logged_in: int


class WallboardAgent(BaseModel):
    login: str
    name: str
    display_name: str = Field(description="The name, with the login appended when two agents share it")
    state: str
    reason: str | None = Field(description="Pause reason")
    since: float
    seconds_in_state: float
    call_id: str | None
    queues: list[str]
    calls_handled_today: int
    occupancy: float | None = Field(default=None, description="Handling / (handling + available idle) today")


class IntervalSeries(BaseModel):
    """Per 15-minute interval of today, aligned with :attr:`WallboardSnapshot.interval_starts`."""

    offered: list[int]
    answered: list[int]
    abandoned: list[int]
    service_level: list[float | None]


class WallboardSnapshot(BaseModel):
    at: float = Field(description="Server time of the picture, epoch seconds")
    day: str = Field(description="Today, ISO date in the contact center's time zone")
    timezone: str
    queues: list[WallboardQueue]
    totals: WallboardTotals
    agents: list[WallboardAgent]
    interval_starts: list[float] = Field(description="Start of each interval from midnight to now")
    interval_labels: list[str] = Field(description="Local HH:MM of each interval start")
    intervals: IntervalSeries = Field(description="All queues together")
    queue_intervals: dict[str, IntervalSeries]
