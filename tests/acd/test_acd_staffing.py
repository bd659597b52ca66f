"""Erlang C staffing forecast from past arrivals, checked against the reference example of domain.md."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.estimate import agents_for_service_level
from acd.staffing import forecast_queue, staffing_plan
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.errors import InvalidInput
from crm_core.models import QueueEvent
from crm_core.stats.contact_center import ContactCenterStats

DAY = date(2026, 11, 27)  # a Friday; history comes from Fridays before it
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'staffing.db'}"
    else:
        admin = os.environ.get("BANKCTI_TEST_POSTGRES_URL")
        if not admin:
            pytest.skip("BANKCTI_TEST_POSTGRES_URL is not set: PostgreSQL backend not tested")
        url = make_url(admin).set(database=f"bankcti_staff_{secrets.token_hex(6)}").render_as_string(False)
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
        await drop_database(url)


async def _reference_week(sessions: async_sessionmaker[AsyncSession], day: date) -> None:
    """100 calls between 10:00 and 10:30 UTC on ``day``, each answered and talked 180 s."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=10)
    rows = []
    for n in range(100):
        joined = start + timedelta(seconds=n * 18)
        call = f"ref-{day}-{n}"
        rows += [
            QueueEvent(at=joined, call_id=call, event="joined", queue="retail", data={"position": 1}),
            QueueEvent(
                at=joined + timedelta(seconds=4),
                call_id=call,
                event="connected",
                queue="retail",
                agent_login="a1",
                data={"wait_seconds": 4, "ring_seconds": 2},
            ),
            QueueEvent(
                at=joined + timedelta(seconds=184),
                call_id=call,
                event="completed",
                queue="retail",
                agent_login="a1",
                data={"talk_seconds": 180, "hold_seconds": 0, "by": "caller"},
            ),
        ]
    async with sessions() as session, session.begin():
        session.add_all(rows)


async def test_reference_example(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _reference_week(sessions, DAY - timedelta(weeks=1))
    stats = ContactCenterStats(sessions)
    forecast = await forecast_queue(stats, "retail", DAY, weeks=1, interval_minutes=30)
    assert (forecast.aht_seconds, forecast.aht_observed) == (180.0, True)
    [interval] = forecast.intervals
    assert interval.start == datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("UTC"))
    assert interval.offered == 100
    assert interval.traffic_erlangs == pytest.approx(10.0)
    assert interval.agents == 14
    assert round(interval.p_wait, 4) == 0.1741
    assert round(interval.service_level, 3) == 0.888
    assert round(interval.asa_seconds, 2) == 7.84
    assert round(interval.occupancy * 100, 1) == 71.4
    assert forecast.peak_agents == 14


async def test_weeks_are_averaged_and_other_weekdays_ignored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _reference_week(sessions, DAY - timedelta(weeks=2))
    await _reference_week(sessions, DAY - timedelta(days=1))  # a Thursday: not the same weekday
    forecast = await forecast_queue(ContactCenterStats(sessions), "retail", DAY, weeks=2, interval_minutes=60)
    [interval] = forecast.intervals
    assert interval.offered == 50  # 100 calls in one of two Fridays
    assert interval.agents == agents_for_service_level(50 / 3600, 180, 20, 0.8)


async def test_no_history_uses_the_default_aht(sessions: async_sessionmaker[AsyncSession]) -> None:
    forecast = await forecast_queue(ContactCenterStats(sessions), "retail", DAY, default_aht=240)
    assert (forecast.aht_seconds, forecast.aht_observed, forecast.intervals) == (240, False, [])
    with pytest.raises(InvalidInput):
        await forecast_queue(ContactCenterStats(sessions), "retail", DAY, weeks=0)


def test_plan_validation_and_empty_slots() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    plan = staffing_plan({0: 0.0, 20: 100.0}, day=DAY, zone=zone, interval_minutes=30, aht_seconds=180,
                         target_seconds=20, target_level=0.8)  # fmt: skip
    assert [(i.start.hour, i.start.minute, i.agents) for i in plan] == [(10, 0, 14)]
    with pytest.raises(InvalidInput):
        staffing_plan({}, day=DAY, zone=zone, interval_minutes=30, aht_seconds=math.nan,
                      target_seconds=20, target_level=0.8)  # fmt: skip
    with pytest.raises(InvalidInput):
        staffing_plan({}, day=DAY, zone=zone, interval_minutes=30, aht_seconds=180,
                      target_seconds=20, target_level=1.5)  # fmt: skip
