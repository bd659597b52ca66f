"""Reading runs back: summaries, the segmentation overview (Pareto curves, tiers, R×F grid), CSV rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.analytics.pareto import pareto_curve
from crm_core.analytics.schemas import ParetoPoint, RfmCell, RunSummary, SegmentOverview, TierCount
from crm_core.models import AnalyticsRun, Customer, CustomerSegment

__all__ = [
    "SEGMENT_CSV_COLUMNS",
    "latest_run_id",
    "overview",
    "recent_runs",
    "run_summary",
    "segment_rows",
]

SEGMENT_CSV_COLUMNS = (
    "customer_id", "name", "computed_on", "abc_contribution", "abc_aum", "aum_tier", "service_tier", "vip",
    "aum_balance", "avg_daily_balance", "avg_balance_3m", "rfm_score", "frequency", "monetary", "contacts",
    "talk_seconds", "income", "cost_to_serve", "contribution", "churn_balance_drop", "churn_dormant",
    "churn_complaint",
)  # fmt: skip


async def latest_run_id(session: AsyncSession) -> int | None:
    """The newest finished run's id (``None`` before the first)."""
    return await session.scalar(
        select(AnalyticsRun.id).where(AnalyticsRun.status == "done").order_by(AnalyticsRun.id.desc()).limit(1)
    )


async def _counts(session: AsyncSession, run_id: int, column: Any) -> dict[str, int]:
    rows = await session.execute(
        select(column, func.count()).where(CustomerSegment.run_id == run_id).group_by(column)
    )
    return {str(key): int(count) for key, count in rows}


async def run_summary(session: AsyncSession, run_id: int) -> RunSummary | None:
    run = await session.get(AnalyticsRun, run_id)
    if run is None:
        return None
    seg = CustomerSegment
    churn = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((seg.churn_balance_drop.is_(True), 1), else_=0)), 0),
                func.coalesce(func.sum(case((seg.churn_dormant.is_(True), 1), else_=0)), 0),
                func.coalesce(func.sum(case((seg.churn_complaint.is_(True), 1), else_=0)), 0),
            ).where(seg.run_id == run_id)
        )
    ).one()
    contribution_total = await _money_sum(session, run_id)
    return RunSummary(
        id=run.id,
        computed_on=run.computed_on,
        as_of=run.as_of,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=run.status,
        trigger=run.trigger,
        customers=run.customers,
        transactions=run.transactions,
        a_share_contribution=run.a_share_contribution,
        a_share_aum=run.a_share_aum,
        abc_contribution=await _counts(session, run_id, seg.abc_contribution),
        abc_aum=await _counts(session, run_id, seg.abc_aum),
        tiers=await _counts(session, run_id, seg.aum_tier),
        churn={"balance_drop": int(churn[0]), "dormant": int(churn[1]), "complaint": int(churn[2])},
        contribution_total=contribution_total,
        error=run.error,
    )


async def _money_sum(session: AsyncSession, run_id: int) -> Decimal:
    # SUM over a Money column is in storage units (cents on SQLite): cast it back through the type.
    column = CustomerSegment.__table__.c.contribution
    total = select(func.sum(column).label("total")).where(column.table.c.run_id == run_id).subquery()
    typed = select(func.coalesce(total.c.total, 0).cast(column.type))
    value = await session.scalar(typed)
    return value if isinstance(value, Decimal) else Decimal("0.00")


async def recent_runs(session: AsyncSession, limit: int = 20) -> list[RunSummary]:
    ids = (await session.scalars(select(AnalyticsRun.id).order_by(AnalyticsRun.id.desc()).limit(limit))).all()
    out = []
    for run_id in ids:
        summary = await run_summary(session, run_id)
        if summary is not None:
            out.append(summary)
    return out


async def _curve(session: AsyncSession, run_id: int, column: Any) -> list[ParetoPoint]:
    values = (
        await session.scalars(
            select(column)
            .where(CustomerSegment.run_id == run_id)
            .order_by(column.desc(), CustomerSegment.customer_id)
        )
    ).all()
    return pareto_curve(list(values))


async def overview(session: AsyncSession) -> SegmentOverview:
    """The latest run for the segmentation page (the whole book: aggregates only)."""
    run_id = await latest_run_id(session)
    if run_id is None:
        return SegmentOverview(run=None, pareto_contribution=[], pareto_aum=[], tiers=[], rfm=[])
    seg = CustomerSegment
    tier_rows = await session.execute(
        select(seg.aum_tier, func.count(), func.avg(seg.avg_daily_balance))
        .where(seg.run_id == run_id)
        .group_by(seg.aum_tier)
    )
    run = await run_summary(session, run_id)
    scale = Decimal(100) if session.get_bind().dialect.name == "sqlite" else Decimal(1)
    tiers = [
        TierCount(
            tier=str(tier),
            customers=int(count),
            avg_daily_balance=(Decimal(str(avg or 0)) / scale).quantize(Decimal("0.01")),
        )
        for tier, count, avg in tier_rows
    ]
    rfm_rows = await session.execute(
        select(seg.r_score, seg.f_score, func.count())
        .where(seg.run_id == run_id)
        .group_by(seg.r_score, seg.f_score)
        .order_by(seg.r_score, seg.f_score)
    )
    return SegmentOverview(
        run=run,
        pareto_contribution=await _curve(session, run_id, seg.contribution),
        pareto_aum=await _curve(session, run_id, seg.avg_daily_balance),
        tiers=sorted(tiers, key=lambda t: -t.avg_daily_balance),
        rfm=[RfmCell(r=int(r), f=int(f), customers=int(n)) for r, f, n in rfm_rows],
    )


async def segment_rows(session: AsyncSession, run_id: int, visible: Any = None) -> AsyncIterator[list[Any]]:
    """The run's per-customer rows in :data:`SEGMENT_CSV_COLUMNS` order; ``visible`` filters customers."""
    query = (
        select(CustomerSegment, Customer.name)
        .join(Customer, Customer.id == CustomerSegment.customer_id)
        .where(CustomerSegment.run_id == run_id)
        .order_by(CustomerSegment.contribution.desc(), CustomerSegment.customer_id)
    )
    if visible is not None:
        query = query.where(visible)
    for segment, name in (await session.execute(query)).all():
        values = {column: getattr(segment, column, None) for column in SEGMENT_CSV_COLUMNS}
        values["name"] = name
        yield [values[column] for column in SEGMENT_CSV_COLUMNS]
