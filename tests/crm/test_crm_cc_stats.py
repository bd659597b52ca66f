"""Contact-center KPIs per queue, agent, team and interval on the hand-computed morning of cc_stats_kit.

Every expected figure below is worked out by hand from the kit's docstring
(e.g. retail SL = answered within 20 s (c1) ÷ (answered (c1, c2) + abandoned
after 20 s (c4)) = 1/3).  Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from cc_stats_kit import NOW, D, at, morning_events, seed_morning
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.errors import InvalidInput
from crm_core.stats.contact_center import ContactCenterStats, interval_series
from crm_core.stats.csv_export import BOM, report_csv
from crm_core.stats.intervals import MAX_RANGE_DAYS, Granularity, ReportRange, parse_zone
from crm_core.stats.schemas import CSV_COLUMNS, GroupBy, StatsRow

DAY: date = D.date()


@pytest.fixture
async def stats(sessions: async_sessionmaker[AsyncSession]) -> ContactCenterStats:
    await seed_morning(sessions)
    return ContactCenterStats(sessions, clock=lambda: NOW)


def _rows(rows: list[StatsRow]) -> dict[Any, StatsRow]:
    return {(row.group, row.interval_start) if row.interval_start else row.group: row for row in rows}


def _pick(row: StatsRow, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


async def test_queue_totals(stats: ContactCenterStats) -> None:
    report = await stats.report(GroupBy.QUEUE, DAY, DAY)
    rows = _rows(report.rows)
    assert set(rows) == {"retail", "vip"}
    assert report.service_level_seconds == {"retail": 20, "vip": 10}
    retail = rows["retail"]
    assert retail.model_dump() == {
        "group": "retail",
        "interval_start": None,
        "offered": 8,  # c1..c8 (c7 counts here, where it arrived)
        "answered": 2,
        "answered_within_threshold": 1,
        "abandoned": 2,  # c4, c5; c3 is a short abandon
        "short_abandoned": 1,
        "abandoned_after_threshold": 1,
        "timed_out": 0,
        "service_level": 0.3333,  # 1 / (2 + 1)
        "abandon_rate": 0.5,  # 2 / (2 + 2)
        "asa_seconds": 20.0,  # (10 + 30) / 2
        "handled": 2,
        "aht_seconds": 180.0,  # (180 + 20 + 30 + 120 + 0 + 10) / 2
        "talk_seconds": 300.0,
        "hold_seconds": 20.0,
        "wrap_up_seconds": 40.0,
        "handling_seconds": 0.0,
        "idle_seconds": 0.0,
        "occupancy": None,
        "longest_wait_seconds": 5400.0,  # c8, queued 09:30, still waiting at 11:00
        "callbacks_requested": 1,
        "callbacks_completed": 1,
        "transfers": 1,
        "ring_no_answer": 1,
        "fcr_contacts": 0,
        "fcr_resolved": 0,
        "fcr_rate": None,
        "not_wrapped_up": 0,
    }
    vip = rows["vip"]
    assert _pick(vip, "offered", "answered", "service_level", "asa_seconds", "aht_seconds") == {
        "offered": 1,
        "answered": 1,
        "service_level": 1.0,  # 5 s within vip's 10 s
        "asa_seconds": 5.0,
        "aht_seconds": 180.0,
    }


async def test_agent_rows(stats: ContactCenterStats) -> None:
    rows = _rows((await stats.report(GroupBy.AGENT, DAY, DAY)).rows)
    names = ("offered", "answered", "service_level", "asa_seconds", "aht_seconds", "occupancy")
    assert _pick(rows["alice"], *names, "handling_seconds", "idle_seconds") == {
        "offered": 1,
        "answered": 1,
        "service_level": 1.0,
        "asa_seconds": 10.0,
        "aht_seconds": 230.0,  # 180 talk + 20 hold + 30 wrap-up
        # on_call 50 + on_hold 20 + on_call 130 + wrap_up 30 = 230;
        # available 605 + ringing 5 + available 360 = 970; paused not counted
        "occupancy": round(230 / 1200, 4),
        "handling_seconds": 230.0,
        "idle_seconds": 970.0,
    }
    assert _pick(rows["bob"], *names, "ring_no_answer", "callbacks_completed") == {
        "offered": 2,
        "answered": 1,
        "service_level": 1.0,
        "asa_seconds": 5.0,
        "aht_seconds": 180.0,
        "occupancy": None,  # no state rows
        "ring_no_answer": 1,
        "callbacks_completed": 1,
    }
    assert _pick(rows["carol"], *names, "transfers") == {
        "offered": 1,
        "answered": 1,
        "service_level": 0.0,  # 30 s > 20 s
        "asa_seconds": 30.0,
        "aht_seconds": 130.0,  # 120 talk + 10 wrap-up (inherited from the on_call of c2)
        "occupancy": round(130 / 300, 4),
        "transfers": 1,
    }
    assert all(row.abandoned == 0 for row in rows.values())


async def test_team_rows_and_supervisor_scope(stats: ContactCenterStats) -> None:
    rows = _rows((await stats.report(GroupBy.TEAM, DAY, DAY)).rows)
    assert set(rows) == {"North", "South"}
    assert _pick(rows["North"], "offered", "answered", "asa_seconds", "aht_seconds", "occupancy") == {
        "offered": 3,
        "answered": 2,
        "asa_seconds": 7.5,
        "aht_seconds": 205.0,  # (230 + 180) / 2
        "occupancy": round(230 / 1200, 4),
    }
    assert rows["South"].aht_seconds == 130.0
    scoped = await stats.report(GroupBy.TEAM, DAY, DAY, agents=["alice"])
    assert [(r.group, r.answered, r.offered) for r in scoped.rows] == [("North", 1, 1)]
    agents = await stats.report(GroupBy.AGENT, DAY, DAY, agents=["carol"])
    assert [r.group for r in agents.rows] == ["carol"]


async def test_quarter_hours_and_hours(stats: ContactCenterStats) -> None:
    zone = parse_zone("UTC")
    report = await stats.report(GroupBy.QUEUE, DAY, DAY, granularity=Granularity.QUARTER_HOUR)
    rows = _rows(report.rows)
    first = rows[("retail", at(9, 0).astimezone(zone))]
    assert _pick(first, "offered", "answered", "abandoned", "short_abandoned", "service_level") == {
        "offered": 6,
        "answered": 2,
        "abandoned": 2,
        "short_abandoned": 1,
        "service_level": 0.3333,
    }
    overflow = rows[("retail", at(9, 15))]
    assert (overflow.offered, overflow.answered, overflow.longest_wait_seconds) == (1, 0, 60.0)
    assert rows[("retail", at(9, 30))].longest_wait_seconds == 5400.0
    assert rows[("retail", at(10, 30))].callbacks_completed == 1
    assert rows[("vip", at(9, 15))].answered == 1
    hours = _rows((await stats.report(GroupBy.ALL, DAY, DAY, granularity=Granularity.HOUR)).rows)
    assert hours[("all", at(9, 0))].offered == 9  # 8 in retail + c7 again in vip
    assert hours[("all", at(9, 0))].answered == 3
    assert hours[("all", at(10, 0))].callbacks_completed == 1


async def test_day_buckets_follow_the_time_zone(stats: ContactCenterStats) -> None:
    # 09:00 UTC is 17:00 in Shanghai: the whole morning falls on the local 20th.
    report = await stats.report(
        GroupBy.QUEUE, DAY, DAY, granularity=Granularity.QUARTER_HOUR, tz="Asia/Shanghai"
    )
    starts = {row.interval_start for row in report.rows if row.group == "retail"}
    assert at(9, 0).astimezone(parse_zone("Asia/Shanghai")) in starts
    assert min(s for s in starts if s is not None).hour == 17
    before = await stats.report(
        GroupBy.QUEUE, DAY - timedelta(days=1), DAY - timedelta(days=1), tz="Asia/Shanghai"
    )
    assert before.rows == []


async def test_interval_series_for_the_wallboard(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_morning(sessions)
    async with sessions() as session:
        series = await interval_series(session, DAY, ["retail", "vip", "loans"], "UTC", now=NOW)
    assert set(series.queues) == {"retail", "vip", "loans"}
    assert all(len(points) == 96 for points in series.queues.values())
    nine = series.queues["retail"][36]
    assert nine.start == at(9, 0)
    assert (nine.offered, nine.answered, nine.abandoned, nine.service_level) == (6, 2, 2, 0.3333)
    assert series.queues["vip"][37].service_level == 1.0
    assert series.queues["loans"][36].offered == 0


async def test_csv_has_every_figure(stats: ContactCenterStats) -> None:
    text = report_csv(await stats.report(GroupBy.QUEUE, DAY, DAY))
    assert text.startswith(BOM)
    lines = text.removeprefix(BOM).splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    retail = dict(zip(CSV_COLUMNS, lines[1].split(","), strict=True))
    assert (retail["group"], retail["offered"], retail["service_level"], retail["occupancy"]) == (
        "retail",
        "8",
        "0.3333",
        "",
    )


def test_range_validation() -> None:
    zone = parse_zone("UTC")
    with pytest.raises(InvalidInput) as reversed_:
        ReportRange.of_days(DAY, DAY - timedelta(days=1), zone)
    assert reversed_.value.field == "to"
    with pytest.raises(InvalidInput):
        ReportRange.of_days(DAY, DAY + timedelta(days=MAX_RANGE_DAYS), zone)
    with pytest.raises(InvalidInput) as bad_zone:
        parse_zone("Mars/Olympus")
    assert bad_zone.value.field == "tz"
    # A DST day in Berlin has 23 hours: 92 quarter hours.
    spring = ReportRange.of_days(
        date(2026, 3, 29), date(2026, 3, 29), parse_zone("Europe/Berlin"), Granularity.QUARTER_HOUR
    )
    assert len(list(spring.buckets())) == 92


async def test_day_buckets_over_two_days(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_morning(sessions)
    async with sessions() as session, session.begin():
        session.add_all(morning_events(D + timedelta(days=1), tag="next-"))
    stats = ContactCenterStats(sessions, clock=lambda: NOW + timedelta(days=1))
    last = DAY + timedelta(days=1)
    days = _rows((await stats.report(GroupBy.QUEUE, DAY, last, granularity=Granularity.DAY)).rows)
    first_day, second_day = days[("retail", D)], days[("retail", D + timedelta(days=1))]
    # Each day is the same morning: the day rows repeat it, the total doubles it.
    assert (first_day.offered, first_day.answered, first_day.abandoned) == (8, 2, 2)
    assert (second_day.offered, second_day.answered, second_day.service_level) == (8, 2, 0.3333)
    total = _rows((await stats.report(GroupBy.QUEUE, DAY, last)).rows)["retail"]
    assert (total.offered, total.answered, total.handled, total.aht_seconds) == (16, 4, 4, 180.0)
    assert total.callbacks_completed == 2
