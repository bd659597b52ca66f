"""Erlang C staffing forecast: agents needed per interval of a day, per queue.

For each interval of the day the forecast takes the average number of calls
offered to the queue in that interval on the last ``weeks`` same weekdays
(:meth:`crm_core.stats.contact_center.ContactCenterStats.arrivals`) and the queue's AHT
over the same days, and finds the smallest number of agents whose Erlang C
service level reaches the target (:func:`acd.estimate.agents_for_service_level`).
Reference check (domain.md): 100 calls in 30 min, AHT 180 s, 80/20 → 14
agents, P_wait 0.1741, SL(20 s) 0.888, ASA 7.84 s, occupancy 71.4 %.

Agents here are agents *on the phone*; shrinkage (breaks, training) is not
applied, as the queue statistics cannot know it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from acd.estimate import (
    agents_for_service_level,
    average_speed_of_answer,
    erlang_c,
    occupancy,
    service_level,
)
from crm_core.errors import InvalidInput
from crm_core.stats.contact_center import ContactCenterStats

__all__ = ["StaffingForecast", "StaffingInterval", "forecast_queue", "staff_interval", "staffing_plan"]


@dataclass(frozen=True)
class StaffingInterval:
    """The staffing of one interval: ``agents`` needed and the figures they would reach."""

    start: datetime
    offered: float
    traffic_erlangs: float
    agents: int
    p_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float


@dataclass(frozen=True)
class StaffingForecast:
    """One queue's forecast for ``day``; ``aht_seconds`` is what the model used."""

    queue: str
    day: date
    weeks: int
    interval_minutes: int
    aht_seconds: float
    aht_observed: bool
    target_seconds: float
    target_level: float
    intervals: list[StaffingInterval]

    @property
    def peak_agents(self) -> int:
        return max((i.agents for i in self.intervals), default=0)


def staff_interval(
    start: datetime,
    offered: float,
    interval_seconds: float,
    aht_seconds: float,
    target_seconds: float,
    target_level: float,
) -> StaffingInterval:
    """Agents for ``offered`` calls in ``interval_seconds`` (0 calls need 0 agents)."""
    if offered <= 0:
        return StaffingInterval(start, 0.0, 0.0, 0, 0.0, 1.0, 0.0, 0.0)
    rate = offered / interval_seconds
    traffic = rate * aht_seconds
    # The agents found exceed the traffic, so every figure below is finite.
    agents = agents_for_service_level(rate, aht_seconds, target_seconds, target_level)
    asa = average_speed_of_answer(traffic, agents, aht_seconds)
    return StaffingInterval(
        start=start,
        offered=offered,
        traffic_erlangs=traffic,
        agents=agents,
        p_wait=erlang_c(traffic, agents),
        service_level=service_level(traffic, agents, aht_seconds, target_seconds),
        asa_seconds=asa,
        occupancy=occupancy(traffic, agents),
    )


def staffing_plan(
    offered_per_slot: Mapping[int, float],
    *,
    day: date,
    zone: ZoneInfo,
    interval_minutes: int,
    aht_seconds: float,
    target_seconds: float,
    target_level: float,
) -> list[StaffingInterval]:
    """Every interval of ``day`` that has calls, in order (slot 0 starts at local midnight)."""
    if not 0 < target_level <= 1:
        raise InvalidInput("target_level", "must be in (0, 1]")
    if not math.isfinite(target_seconds) or target_seconds < 0:
        raise InvalidInput("target_seconds", "must be >= 0")
    if not math.isfinite(aht_seconds) or aht_seconds <= 0:
        raise InvalidInput("aht_seconds", "must be > 0")
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    return [
        staff_interval(
            midnight + timedelta(minutes=slot * interval_minutes),
            offered,
            interval_minutes * 60.0,
            aht_seconds,
            target_seconds,
            target_level,
        )
        for slot, offered in sorted(offered_per_slot.items())
        if offered > 0
    ]


async def forecast_queue(
    stats: ContactCenterStats,
    queue: str,
    day: date,
    *,
    weeks: int = 4,
    interval_minutes: int = 30,
    tz: str = "UTC",
    target_seconds: float = 20.0,
    target_level: float = 0.8,
    default_aht: float = 180.0,
) -> StaffingForecast:
    """The forecast for ``queue`` on ``day`` from the ``weeks`` same weekdays before it.

    The observed AHT is used when the history has handled calls, else
    ``default_aht`` (``aht_observed`` says which).
    """
    history = await stats.arrivals(queue, day, weeks=weeks, interval_minutes=interval_minutes, tz=tz)
    aht = history.aht_seconds if history.aht_seconds else default_aht
    intervals = staffing_plan(
        history.offered,
        day=day,
        zone=ZoneInfo(tz),
        interval_minutes=interval_minutes,
        aht_seconds=aht,
        target_seconds=target_seconds,
        target_level=target_level,
    )
    return StaffingForecast(
        queue=queue,
        day=day,
        weeks=weeks,
        interval_minutes=interval_minutes,
        aht_seconds=aht,
        aht_observed=bool(history.aht_seconds),
        target_seconds=target_seconds,
        target_level=target_level,
        intervals=intervals,
    )
