"""The analytics services together, for the console API (one database, one parameter store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.analytics.runner import SegmentationRunner
from crm_core.analytics.value import CustomerValues
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore
from crm_core.stats.crm import CrmStatisticsService

__all__ = ["AnalyticsServices"]


@dataclass(frozen=True, slots=True)
class AnalyticsServices:
    sessions: async_sessionmaker[AsyncSession]
    segmentation: SegmentationRunner
    statistics: CrmStatisticsService
    values: CustomerValues

    @classmethod
    def build(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        parameters: ParameterStore,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> AnalyticsServices:
        return cls(
            sessions=sessions,
            segmentation=SegmentationRunner(sessions, parameters, clock=clock),
            statistics=CrmStatisticsService(sessions),
            values=CustomerValues(sessions, parameters),
        )
