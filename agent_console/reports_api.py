"""Contact-center reports under ``/api/reports``: KPIs, today's intervals, staffing forecast, queue_log.

Who sees what:

* admins — everything;
* supervisors — queue and centre-wide figures, the staffing forecast and
  the queue_log export (agent state lines only for their teams' agents), and
  agent / team rows of their teams' agents only;
* agents — their own agent row, nothing else (403).

Every report is JSON by default and CSV with ``?format=csv``; the queue_log
export is a ``text/plain`` download.  Bad dates, zones or ranges are a 422
naming the parameter; the parameters' schemas state the limits (days
1970-01-01 to 9000-12-31 written ``YYYY-MM-DD``, a zone name of the
server's IANA zone database — format :data:`ZONE_FORMAT` — intervals of 15,
30 or 60 minutes), all but what spans two parameters (``to`` not before ``from``,
at most :data:`~crm_core.stats.intervals.MAX_RANGE_DAYS` days).  Mounted by
:func:`agent_console.app.create_app` when the CRM is (the statistics read
its database).
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.

import logging
import re
from datetime import date, datetime
from enum import IntEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints, WithJsonSchema

from acd.staffing import StaffingForecast, forecast_queue
from acd.staffing import StaffingInterval as StaffingIntervalFigures
from agent_console.crm.deps import CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from agent_console.reports_site import add_site_route, contact_center_stats, known_queues, site_zone
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, InvalidInput
from crm_core.models.coltypes import utcnow
from crm_core.stats.contact_center import ContactCenterStats
from crm_core.stats.csv_export import report_csv, rows_csv, series_csv
from crm_core.stats.intervals import MAX_RANGE_DAYS, Granularity, check_day, parse_zone
from crm_core.stats.schemas import GroupBy, IntervalSeries, StatsReport

__all__ = ["DAY_PATTERN", "ZONE_FORMAT", "StaffingInterval", "StaffingReport", "reports_router"]

log = logging.getLogger(__name__)

_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}
_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "Asterisk queue_log lines, one per event"}
}
_MAX_QUEUES = 50
#: The JSON-schema ``format`` of a zone parameter: a name of the server's IANA zone database.  A format,
#: not a pattern: no pattern can tell "Asia/Shanghai" from "Asia/Shanghay", and the schema must not
#: promise to accept a name the service refuses.
ZONE_FORMAT = "iana-time-zone"

#: A day a report may name (:func:`crm_core.stats.intervals.check_day`): 1970-01-01 to 9000-12-31.
DAY_PATTERN = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9000)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
#: The day of a staffing forecast: its weeks of history (up to 12) must lie in the reports' range.
STAFFING_DAY_PATTERN = r"^(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9000)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
#: Text without control characters (a queue name).
_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def _iso_day(pattern: str, first: str) -> BeforeValidator:
    """A day written ``YYYY-MM-DD`` from ``first`` to 9000-12-31 (pydantic alone would take a number)."""

    def check(value: object) -> object:
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or re.fullmatch(pattern, value) is None:
            raise ValueError(f"must be a day written YYYY-MM-DD, from {first} to 9000-12-31")
        return value  # parsed by pydantic: an impossible day (2026-02-30) is refused there

    return BeforeValidator(check)


def _known_zone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from None
    return name


class IntervalMinutes(IntEnum):
    """The interval lengths of the staffing forecast."""

    QUARTER_HOUR = 15
    HALF_HOUR = 30
    HOUR = 60


ReportDay = Annotated[
    date,
    _iso_day(DAY_PATTERN, "1970-01-01"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
StaffingDay = Annotated[
    date,
    _iso_day(STAFFING_DAY_PATTERN, "1971-01-01"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": STAFFING_DAY_PATTERN}),
]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
Zone = Annotated[
    str | None,
    Query(
        description="IANA time zone of the days and intervals, one the server's zone database knows "
        "(default: the site time zone, as on the wallboard)",
        examples=["Asia/Shanghai"],
    ),
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_zone),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64, "format": ZONE_FORMAT}),
]
QueueName = Annotated[str, StringConstraints(max_length=64, pattern=_TEXT_PATTERN)]
Queues = Annotated[
    list[QueueName] | None,
    Query(alias="queue", max_length=_MAX_QUEUES, description="Only these queues (repeatable)"),
]
From = Annotated[ReportDay, Query(alias="from", description="First local day, YYYY-MM-DD")]
To = Annotated[
    ReportDay | None,
    Query(
        alias="to", description=f"Last local day (default: from), at most {MAX_RANGE_DAYS} days after from"
    ),
]


class StaffingInterval(BaseModel):
    """Agents needed in one interval and what they would reach (Erlang C)."""

    start: datetime
    offered: float
    traffic_erlangs: float
    agents: int
    p_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float


class StaffingQueue(BaseModel):
    """One queue's forecast; ``aht_observed`` false means the default AHT was used."""

    queue: str
    target_seconds: float
    aht_seconds: float
    aht_observed: bool
    peak_agents: int
    intervals: list[StaffingInterval]


class StaffingReport(BaseModel):
    """The forecast for ``day`` from the ``weeks`` same weekdays before it, per queue."""

    day: date
    weeks: int
    interval_minutes: int
    target_seconds: float | None = Field(description="The one asked for; null: each queue's own threshold")
    target_level: float
    tz: str
    queues: list[StaffingQueue]


Stats = Annotated[ContactCenterStats, Depends(contact_center_stats)]


def _require_supervisor(actor: Actor, what: str) -> None:
    if not (actor.is_admin or actor.is_supervisor):
        raise AccessDenied(f"only supervisors and admins may see {what}")


async def _agent_scope(actor: Actor, stats: ContactCenterStats) -> list[str] | None:
    """The agents whose rows ``actor`` may see (``None``: all)."""
    if actor.is_admin:
        return None
    if actor.is_supervisor:
        return await stats.logins_in_teams(actor.team_ids)
    return [actor.login]


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _queues(queues: list[str] | None) -> list[str] | None:
    if queues is None:
        return None
    cleaned = [q.strip() for q in queues if q.strip()]
    for name in cleaned:
        if len(name) > 64:
            raise InvalidInput("queue", "a queue name has at most 64 characters")
    return cleaned or None


def reports_router() -> APIRouter:
    """Every ``/api/reports/...`` route."""
    router = APIRouter(
        prefix="/api/reports", tags=["reports"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
    )

    @router.get(
        "/contact-center",
        response_model=StatsReport,
        responses=_CSV,
        summary="Contact-center KPIs per queue, agent, team or the whole centre, per interval",
    )
    async def contact_center(
        request: Request,
        actor: CurrentActor,
        stats: Stats,
        first: From,
        last: To = None,
        group_by: Annotated[GroupBy, Query(description="queue, agent, team or all")] = GroupBy.QUEUE,
        interval: Annotated[Granularity, Query(description="15min, hour, day or total")] = Granularity.TOTAL,
        tz: Zone = None,
        queues: Queues = None,
        format: Format = "json",
    ) -> Any:
        tz = tz or site_zone(request)
        if group_by in {GroupBy.QUEUE, GroupBy.ALL}:
            _require_supervisor(actor, "queue figures")
        elif group_by is GroupBy.TEAM and not (actor.is_admin or actor.is_supervisor):
            raise AccessDenied("agents see only their own figures (group_by=agent)")
        agents = await _agent_scope(actor, stats)
        report = await stats.report(
            group_by,
            first,
            last or first,
            granularity=interval,
            tz=tz,
            queues=_queues(queues),
            agents=agents,
        )
        if format == "csv":
            return _csv(report_csv(report), f"contact-center-{group_by.value}-{first}-{last or first}")
        return report

    @router.get(
        "/intervals",
        response_model=IntervalSeries,
        responses=_CSV,
        summary="A day per 15 minutes per queue: offered, answered, abandoned, service level",
    )
    async def intervals(
        request: Request,
        actor: CurrentActor,
        stats: Stats,
        day: Annotated[ReportDay | None, Query(description="Local day (default: today in tz)")] = None,
        tz: Zone = None,
        queues: Queues = None,
        format: Format = "json",
    ) -> Any:
        _require_supervisor(actor, "queue figures")
        tz = tz or site_zone(request)
        zone = parse_zone(tz)
        chosen = check_day(day, "day") if day is not None else utcnow().astimezone(zone).date()
        series = await stats.intervals(chosen, _queues(queues), tz)
        if format == "csv":
            return _csv(series_csv(series), f"intervals-{chosen}")
        return series

    @router.get(
        "/staffing",
        response_model=StaffingReport,
        responses=_CSV,
        summary="Erlang C agents needed per interval, from the last weeks' arrivals and AHT",
    )
    async def staffing(
        request: Request,
        actor: CurrentActor,
        stats: Stats,
        day: Annotated[StaffingDay, Query(description="The local day to staff (from 1971-01-01)")],
        weeks: Annotated[int, Query(ge=1, le=12, description="Same weekdays to average")] = 4,
        interval_minutes: Annotated[
            IntervalMinutes, Query(description="15, 30 or 60")
        ] = IntervalMinutes.HALF_HOUR,
        target_seconds: Annotated[
            float | None,
            Query(
                ge=0, le=3600, description="Answer within (s); default: each queue's service-level threshold"
            ),
        ] = None,
        target_level: Annotated[float, Query(gt=0, le=1)] = 0.8,
        default_aht: Annotated[float, Query(gt=0, le=7200, description="AHT when nothing was handled")] = 180,
        tz: Zone = None,
        queues: Queues = None,
        format: Format = "json",
    ) -> Any:
        _require_supervisor(actor, "the staffing forecast")
        tz = tz or site_zone(request)
        parse_zone(tz)
        names = _queues(queues) or await known_queues(request, stats)
        thresholds = await stats.service_levels(names)
        targets = {
            name: target_seconds if target_seconds is not None else thresholds.get(name, 20.0)
            for name in names
        }
        forecasts: list[StaffingForecast] = [
            await forecast_queue(
                stats,
                name,
                day,
                weeks=weeks,
                interval_minutes=int(interval_minutes),
                tz=tz,
                target_seconds=targets[name],
                target_level=target_level,
                default_aht=default_aht,
            )
            for name in names
        ]
        report = StaffingReport(
            day=day,
            weeks=weeks,
            interval_minutes=int(interval_minutes),
            target_seconds=target_seconds,
            target_level=target_level,
            tz=tz,
            queues=[
                StaffingQueue(
                    queue=f.queue,
                    target_seconds=targets[f.queue],
                    aht_seconds=round(f.aht_seconds, 2),
                    aht_observed=f.aht_observed,
                    peak_agents=f.peak_agents,
                    intervals=[_interval(i) for i in f.intervals],
                )
                for f in forecasts
            ],
        )
        if format == "csv":
            columns = ("queue", "aht_seconds", *StaffingInterval.model_fields, "target_seconds")
            rows = (
                {**q.model_dump(include={"queue", "target_seconds", "aht_seconds"}), **i.model_dump()}
                for q in report.queues
                for i in q.intervals
            )
            return _csv(rows_csv(columns, rows), f"staffing-{day}")
        return report

    @router.get(
        "/queue-log",
        response_class=Response,
        responses=_TEXT,
        summary="Our calls and agent states as Asterisk queue_log lines (QueueMetrics, Asternic)",
    )
    async def queue_log(
        request: Request,
        actor: CurrentActor,
        stats: Stats,
        first: From,
        last: To = None,
        tz: Zone = None,
        queues: Queues = None,
    ) -> Response:
        _require_supervisor(actor, "the queue_log export")
        tz = tz or site_zone(request)
        agents = await _agent_scope(actor, stats)
        lines = await stats.queue_log(first, last or first, tz=tz, queues=_queues(queues), agents=agents)
        log.info("reports.queue_log_exported", extra={"login": actor.login, "lines": len(lines)})
        return Response(
            "".join(f"{line}\n" for line in lines),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="queue_log-{first}-{last or first}"'},
        )

    add_site_route(router)
    return router


def _interval(interval: StaffingIntervalFigures) -> StaffingInterval:
    return StaffingInterval(
        start=interval.start,
        offered=round(interval.offered, 2),
        traffic_erlangs=round(interval.traffic_erlangs, 4),
        agents=interval.agents,
        p_wait=round(interval.p_wait, 4),
        service_level=round(interval.service_level, 4),
        asa_seconds=round(interval.asa_seconds, 2),
        occupancy=round(interval.occupancy, 4),
    )
