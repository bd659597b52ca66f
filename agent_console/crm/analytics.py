"""Customer-value segmentation and CRM statistics: ``/api/crm/analytics/...`` (JSON and CSV).

Segmentation is for supervisors and admins (the whole book, aggregated;
the per-customer CSV lists only customers the reader may see); a run on
demand is for admins.  CRM statistics are scoped by role: agents see their
own, supervisors their teams', admins everyone's.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from agent_console.crm.deps import Crm, CrmServices, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.access.rules import visible_customers_clause
from crm_core.actor import Actor
from crm_core.analytics.report import SEGMENT_CSV_COLUMNS, latest_run_id, overview, recent_runs, segment_rows
from crm_core.analytics.schemas import RunSummary, SegmentOverview
from crm_core.analytics.services import AnalyticsServices
from crm_core.csvcells import csv_text
from crm_core.errors import AccessDenied, InvalidInput, NotFound
from crm_core.models.coltypes import utcnow
from crm_core.stats.crm import AgentStats, CrmStatistics, FollowUpCount, FunnelStage

__all__ = ["router"]

router = APIRouter(
    prefix="/api/crm/analytics", tags=["analytics"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)

FromDate = Annotated[date | None, Query(alias="from", description="First day (UTC), default 30 days ago")]
ToDate = Annotated[date | None, Query(alias="to", description="Last day included (UTC), default today")]
STAT_SECTIONS = ("agents", "follow-ups", "funnel")
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8, with a header row"}
}


def _services(crm: CrmServices) -> AnalyticsServices:
    if crm.analytics is None:
        raise NotFound("analytics is not configured on this server")
    return crm.analytics


def _supervisor(actor: Actor) -> None:
    if not (actor.is_admin or actor.is_supervisor):
        raise AccessDenied("segmentation is for supervisors and admins")


def _period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """``[from 00:00, the day after to 00:00)`` in UTC; the default is the 30 days up to today."""
    today = utcnow().date()
    last = end or today
    try:
        first = start or last - timedelta(days=29)
        after = last + timedelta(days=1)
    except OverflowError:
        raise InvalidInput("to", "date out of range") from None
    if first > last:
        raise InvalidInput("from", "must not be after to")
    return datetime.combine(first, time(), UTC), datetime.combine(after, time(), UTC)


def _csv(header: Iterable[str], rows: Iterable[Iterable[Any]], filename: str) -> Response:
    # Customer and agent names are typed by people: every cell is neutralised (crm_core.csvcells).
    return Response(
        csv_text(list(header), rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/segments", response_model=SegmentOverview, summary="Latest segmentation: Pareto, tiers, R×F grid"
)
async def segments(actor: CurrentActor, crm: Crm) -> SegmentOverview:
    _supervisor(actor)
    async with _services(crm).sessions() as session:
        return await overview(session)


@router.get(
    "/segments.csv",
    response_class=Response,
    responses=_CSV,
    summary="Latest segmentation per customer (customers the reader may see)",
)
async def segments_csv(actor: CurrentActor, crm: Crm) -> Response:
    _supervisor(actor)
    async with _services(crm).sessions() as session:
        run_id = await latest_run_id(session)
        rows = []
        if run_id is not None:
            visible = None if actor.is_admin else visible_customers_clause(actor)
            rows = [row async for row in segment_rows(session, run_id, visible)]
    return _csv(SEGMENT_CSV_COLUMNS, rows, "segments.csv")


@router.get("/runs", response_model=list[RunSummary], summary="Recent segmentation runs, newest first")
async def runs(actor: CurrentActor, crm: Crm) -> list[RunSummary]:
    _supervisor(actor)
    async with _services(crm).sessions() as session:
        return await recent_runs(session)


@router.post("/runs", response_model=RunSummary, status_code=201, summary="Run the segmentation now (admin)")
async def run_now(actor: CurrentActor, crm: Crm) -> RunSummary:
    if not actor.is_admin:
        raise AccessDenied("only an admin may start a segmentation run")
    return await _services(crm).segmentation.run(trigger="api")


@router.get("/crm", response_model=CrmStatistics, summary="CRM statistics of the period, scoped by role")
async def crm_statistics(
    actor: CurrentActor, crm: Crm, start: FromDate = None, end: ToDate = None
) -> CrmStatistics:
    first, last = _period(start, end)
    return await _services(crm).statistics.statistics(actor, first, last)


@router.get(
    "/crm/{section}.csv",
    response_class=Response,
    responses=_CSV,
    summary="One table of the CRM statistics as CSV (agents, follow-ups, funnel)",
)
async def crm_statistics_csv(
    section: str, actor: CurrentActor, crm: Crm, start: FromDate = None, end: ToDate = None
) -> Response:
    if section not in STAT_SECTIONS:
        raise NotFound(f"no such CRM statistics table; use one of: {', '.join(STAT_SECTIONS)}")
    first, last = _period(start, end)
    stats = await _services(crm).statistics.statistics(actor, first, last)
    items: Any = {"agents": stats.agents, "follow-ups": stats.follow_ups, "funnel": stats.funnel}[section]
    model: Any = {"agents": AgentStats, "follow-ups": FollowUpCount, "funnel": FunnelStage}[section]
    header = list(model.model_fields)
    return _csv(header, ([getattr(i, h) for h in header] for i in items), f"crm-{section}.csv")
