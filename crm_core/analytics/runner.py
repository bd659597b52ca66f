"""Run a segmentation: record the run, compute every customer's value, update the customers.

A run (see :mod:`crm_core.analytics.sql`) writes one ``customer_segments``
row per segmented customer and then copies the latest values onto
``customers`` in batches of customer ids: ``segment_abc`` (ABC by
contribution), ``aum_tier``, ``rfm_score``, ``contribution``,
``segment_computed_at`` and — unless ``analytics.update_service_tier`` is
off — ``tier``, the service tier the IVR and the ACD read.

VIP treatment: the service tier is the AUM tier, except that a customer in
segment A by contribution whose AUM tier is not a VIP tier
(``analytics.vip_tiers``) gets ``analytics.segment_a_tier`` (``vip``): the
20 % who bring 80 % of the profit are greeted and routed as VIPs from the
next run on (see :func:`crm_core.analytics.value.vip_treatment`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.analytics.dialect import Dialect
from crm_core.analytics.report import run_summary
from crm_core.analytics.schemas import RunSummary, SegmentSettings
from crm_core.analytics.sql import segment_insert
from crm_core.models import AnalyticsRun, Customer, CustomerSegment, Transaction
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore

__all__ = ["BATCH_CUSTOMERS", "Progress", "SegmentationRunner"]

log = logging.getLogger(__name__)

#: Customers updated per statement when copying a run onto ``customers``.
BATCH_CUSTOMERS = 5000

#: ``progress(step, done, total)``: called as the run goes (``step`` names the stage).
Progress = Callable[[str, int, int], None]


def _silent(step: str, done: int, total: int) -> None:
    return None


class SegmentationRunner:
    """Computes customer value on demand (CLI, API) or from the periodic job."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        parameters: ParameterStore,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters
        self._clock = clock

    async def run(
        self, *, trigger: str = "manual", as_of: datetime | None = None, progress: Progress = _silent
    ) -> RunSummary:
        """Segment every live customer with an account as of ``as_of`` (default: now); the run's summary.

        A failure marks the run ``failed`` with the error's type and re-raises;
        the customers keep the values of the previous run.
        """
        as_of = as_of or self._clock()
        settings = await SegmentSettings.load(self._parameters)
        async with self._sessions() as session, session.begin():
            run = AnalyticsRun(
                computed_on=as_of.date(),
                as_of=as_of,
                started_at=self._clock(),
                status="running",
                trigger=trigger[:16],
                customers=0,
                transactions=0,
                parameters=settings.as_json(),
            )
            session.add(run)
            await session.flush()
            run_id = run.id
        try:
            await self._compute(run_id, settings, as_of, progress)
        except Exception as exc:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(AnalyticsRun)
                    .where(AnalyticsRun.id == run_id)
                    .values(status="failed", finished_at=self._clock(), error=type(exc).__name__)
                )
            log.exception("analytics.run_failed", extra={"run_id": run_id})
            raise
        async with self._sessions() as session:
            summary = await run_summary(session, run_id)
        assert summary is not None
        log.info(
            "analytics.run_done",
            extra={"run_id": run_id, "customers": summary.customers, "a_share": summary.a_share_contribution},
        )
        return summary

    async def _compute(
        self, run_id: int, settings: SegmentSettings, as_of: datetime, progress: Progress
    ) -> None:
        progress("segment", 0, 1)
        async with self._sessions() as session, session.begin():
            dialect = Dialect(session.get_bind().dialect.name)
            await session.execute(segment_insert(dialect, settings, run_id, as_of, as_of.date()))
            counts = (
                await session.execute(
                    select(
                        func.count(),
                        func.sum(_flag(CustomerSegment.abc_contribution == "A")),
                        func.sum(_flag(CustomerSegment.abc_aum == "A")),
                        func.min(CustomerSegment.customer_id),
                        func.max(CustomerSegment.customer_id),
                    ).where(CustomerSegment.run_id == run_id)
                )
            ).one()
            transactions = await session.scalar(
                select(func.count()).select_from(Transaction).where(Transaction.occurred_at <= as_of)
            )
        progress("segment", 1, 1)
        customers, a_contribution, a_aum, low, high = counts
        if customers:
            await self._copy_to_customers(run_id, settings, as_of, int(low), int(high), progress)
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(AnalyticsRun)
                .where(AnalyticsRun.id == run_id)
                .values(
                    status="done",
                    finished_at=self._clock(),
                    customers=int(customers),
                    transactions=int(transactions or 0),
                    a_share_contribution=(int(a_contribution or 0) / customers) if customers else None,
                    a_share_aum=(int(a_aum or 0) / customers) if customers else None,
                )
            )

    async def _copy_to_customers(
        self, run_id: int, settings: SegmentSettings, as_of: datetime, low: int, high: int, progress: Progress
    ) -> None:
        batches = (high - low) // BATCH_CUSTOMERS + 1
        seg = CustomerSegment.__table__.c
        values: dict[str, Any] = {
            "segment_abc": seg.abc_contribution,
            "aum_tier": seg.aum_tier,
            "rfm_score": seg.rfm_score,
            "contribution": seg.contribution,
            "segment_computed_at": as_of,
            # A value change is no edit by a user: keep the record's updated_at.
            "updated_at": Customer.updated_at,
        }
        if settings.update_service_tier:
            values["tier"] = seg.service_tier
        for batch in range(batches):
            first = low + batch * BATCH_CUSTOMERS
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(Customer)
                    .where(
                        seg.customer_id == Customer.id,
                        seg.run_id == run_id,
                        seg.customer_id >= first,
                        seg.customer_id < first + BATCH_CUSTOMERS,
                    )
                    .values(values)
                    .execution_options(synchronize_session=False)
                )
            progress("customers", batch + 1, batches)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)
