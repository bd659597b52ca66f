"""Contact-center statistics: per queue, agent, team and interval, from the ACD's event tables.

The figures and their definitions are in :mod:`crm_core.stats.metrics`;
this module reads what they need (queue visits, agent state spans, first
contacts, calls not wrapped up, each queue's service-level threshold, each agent's team) and
hands it over.  Everything is folded in Python over one bounded range
(at most :data:`~crm_core.stats.intervals.MAX_RANGE_DAYS` days), so the
results are the same on SQLite and PostgreSQL.

:func:`interval_series` is the wallboard's entry point: today per 15 minutes
per queue.  :meth:`ContactCenterStats.arrivals` feeds the Erlang C staffing
forecast (:mod:`acd.staffing`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.errors import InvalidInput
from crm_core.models import AcdQueue, Agent, Team
from crm_core.models.coltypes import utcnow
from crm_core.stats.agents import AgentSpan, agent_time, load_spans, per_call
from crm_core.stats.fcr import load_fcr
from crm_core.stats.intervals import Granularity, ReportRange, check_day, parse_zone
from crm_core.stats.metrics import DEFAULT_SERVICE_LEVEL_SECONDS, NO_TEAM, Inputs, aggregate
from crm_core.stats.queue_log import queue_log_lines
from crm_core.stats.schemas import GroupBy, IntervalPoint, IntervalSeries, StatsReport
from crm_core.stats.visits import Visit, load_visits
from crm_core.stats.wrapups import load_missed_wrapups

__all__ = [
    "ArrivalHistory",
    "ContactCenterStats",
    "ServiceLevelLookup",
    "attach_agent_time",
    "build_report",
    "interval_series",
]

log = logging.getLogger(__name__)

MAX_HISTORY_WEEKS = 12


#: A live threshold lookup (the ACD's queue settings): seconds, or ``None`` / ``LookupError`` if unknown.
ServiceLevelLookup = Callable[[str], float | None]


async def _thresholds(
    session: AsyncSession, live: ServiceLevelLookup | None = None, queues: Iterable[str] = ()
) -> dict[str, float]:
    """Each queue's service-level threshold (stored queues and ``queues``): live lookup first.

    The live lookup (the ACD's queue settings) is what the wallboard folds
    with, so both pages count "answered within T" alike; without it, or
    where it has no answer, the ``acd_queues`` row, else the default.
    """
    rows = await session.execute(select(AcdQueue.name, AcdQueue.service_level_seconds))
    stored: dict[str, float] = {name: float(seconds) for name, seconds in rows}
    result: dict[str, float] = {}
    for queue in sorted(set(stored) | set(queues)):
        value: float | None = None
        if live is not None:
            try:
                value = live(queue)
            except (LookupError, ValueError):
                value = None
        if value is None or value <= 0:
            value = stored.get(queue, float(DEFAULT_SERVICE_LEVEL_SECONDS))
        result[queue] = float(value)
    return result


async def _teams(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Agent.login, Team.name).outerjoin(Team, Team.id == Agent.team_id))
    return {login: team or NO_TEAM for login, team in rows}


async def _assigned_queues(session: AsyncSession) -> dict[str, list[str]]:
    rows = await session.execute(select(Agent.login, Agent.queues))
    return {login: list(queues or ()) for login, queues in rows}


def attach_agent_time(visits: Sequence[Visit], spans: Sequence[AgentSpan]) -> None:
    """Charge each answered visit its agent's wrap-up for the call (and held time, if unreported)."""
    wrap = per_call(spans, "wrap_up")
    hold = per_call(spans, "on_hold")
    for visit in visits:
        if visit.agent is None:
            continue
        visit.wrap_up_seconds = wrap.get((visit.agent, visit.call_id), 0.0)
        if visit.handled and visit.hold_seconds is None:
            visit.hold_seconds = hold.get((visit.agent, visit.call_id), 0.0)


async def build_report(
    session: AsyncSession,
    report: ReportRange,
    group_by: GroupBy,
    *,
    now: datetime,
    queues: Sequence[str] | None = None,
    agents: Sequence[str] | None = None,
    service_levels: ServiceLevelLookup | None = None,
) -> StatsReport:
    """The report of ``group_by`` over ``report``; ``agents`` keeps only those agents' rows.

    ``service_levels`` (the live queue settings) overrides the stored thresholds.

    ``agents`` applies to agent and team groupings: a team row then sums
    only the listed members (a supervisor's view of their teams).
    """
    visits, facts = await load_visits(session, report, queues)
    spans = await load_spans(session, report, now)
    attach_agent_time(visits, spans)
    thresholds = await _thresholds(session, service_levels, {v.queue for v in visits})
    team_of = await _teams(session)
    fcr = await load_fcr(session, report, queues)
    missed = await load_missed_wrapups(session, report, queues)
    times = agent_time(spans, report)
    if agents is not None and group_by in {GroupBy.AGENT, GroupBy.TEAM}:
        allowed = set(agents)
        visits = [v for v in visits if v.agent in allowed]
        facts = [f for f in facts if f.agent in allowed]
        times = {k: t for k, t in times.items() if k[0] in allowed}
        fcr = [c for c in fcr if c.agent in allowed]
        missed = [m for m in missed if m.agent in allowed]
    queues_of = await _assigned_queues(session) if group_by is GroupBy.QUEUE else {}
    inputs = Inputs(visits, facts, times, fcr, thresholds, team_of, min(report.end, now), queues_of, missed)
    rows = aggregate(inputs, group_by, report)
    used = {v.queue for v in visits}
    return StatsReport(
        group_by=group_by,
        granularity=report.granularity,
        tz=report.zone.key,
        start=report.start,
        end=report.end,
        service_level_seconds={
            q: thresholds.get(q, float(DEFAULT_SERVICE_LEVEL_SECONDS)) for q in sorted(used)
        },
        rows=rows,
    )


async def interval_series(
    session: AsyncSession,
    day: date,
    queues: Sequence[str] | None,
    tz: str | ZoneInfo,
    *,
    now: datetime | None = None,
    service_levels: ServiceLevelLookup | None = None,
) -> IntervalSeries:
    """``day`` per 15 minutes per queue: offered, answered, abandoned, service level.

    Every interval of the day is present (zeros where nothing happened) for
    every queue with a call that day and every queue named in ``queues``.
    This is what the supervisor wallboard's charts draw.
    """
    zone = parse_zone(tz) if isinstance(tz, str) else tz
    report = ReportRange.of_days(day, day, zone, Granularity.QUARTER_HOUR)
    stats = await build_report(
        session, report, GroupBy.QUEUE, now=now or utcnow(), queues=queues, service_levels=service_levels
    )
    names = sorted({row.group for row in stats.rows} | set(queues or ()))
    by_key = {(row.group, row.interval_start): row for row in stats.rows}
    series: dict[str, list[IntervalPoint]] = {}
    for name in names:
        points = []
        for start, _ in report.buckets():
            row = by_key.get((name, start))
            points.append(
                IntervalPoint(
                    start=start,
                    offered=row.offered if row else 0,
                    answered=row.answered if row else 0,
                    abandoned=row.abandoned if row else 0,
                    service_level=row.service_level if row else None,
                )
            )
        series[name] = points
    return IntervalSeries(day=day, tz=zone.key, queues=series)


@dataclass(frozen=True)
class ArrivalHistory:
    """Calls offered to one queue per interval of the day, over ``weeks`` past same weekdays.

    ``offered[slot]`` is the average count of interval ``slot`` (0 = the
    first ``interval_minutes`` after local midnight); ``aht_seconds`` is the
    queue's AHT over the same days (``None``: nothing handled).
    """

    queue: str
    day: date
    weeks: int
    interval_minutes: int
    offered: dict[int, float]
    aht_seconds: float | None
    days: tuple[date, ...]


class ContactCenterStats:
    """The statistics service: opens its own sessions; times come from ``clock`` (aware UTC).

    ``service_levels`` is the live threshold lookup the wallboard uses too
    (``None``: the ``acd_queues`` rows alone).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utcnow,
        service_levels: ServiceLevelLookup | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._service_levels = service_levels

    def now(self) -> datetime:
        return self._clock()

    async def report(
        self,
        group_by: GroupBy,
        first: date,
        last: date,
        *,
        granularity: Granularity = Granularity.TOTAL,
        tz: str = "UTC",
        queues: Sequence[str] | None = None,
        agents: Sequence[str] | None = None,
    ) -> StatsReport:
        """The report for local days ``first`` to ``last`` (see :func:`build_report`)."""
        report = ReportRange.of_days(first, last, parse_zone(tz), granularity)
        async with self._sessions() as session:
            result = await build_report(
                session,
                report,
                group_by,
                now=self._clock(),
                queues=queues,
                agents=agents,
                service_levels=self._service_levels,
            )
        log.info(
            "cc_stats.report",
            extra={"group_by": group_by.value, "days": (last - first).days + 1, "rows": len(result.rows)},
        )
        return result

    async def intervals(self, day: date, queues: Sequence[str] | None, tz: str) -> IntervalSeries:
        """:func:`interval_series` in a session of its own."""
        async with self._sessions() as session:
            return await interval_series(
                session, day, queues, tz, now=self._clock(), service_levels=self._service_levels
            )

    async def logins_in_teams(self, team_ids: Iterable[int]) -> list[str]:
        """The logins of the agents belonging to any of ``team_ids``."""
        wanted = sorted(set(team_ids))
        if not wanted:
            return []
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Agent.login).where(Agent.team_id.in_(wanted)).order_by(Agent.login)
            )
            return list(rows.all())

    async def queue_log(
        self,
        first: date,
        last: date,
        *,
        tz: str = "UTC",
        queues: Sequence[str] | None = None,
        agents: Sequence[str] | None = None,
    ) -> list[str]:
        """The queue_log lines of local days ``first`` to ``last`` (:mod:`crm_core.stats.queue_log`)."""
        report = ReportRange.of_days(first, last, parse_zone(tz))
        async with self._sessions() as session:
            lines = await queue_log_lines(session, report, queues=queues, agents=agents)
        return [line.text() for line in lines]

    async def service_levels(self, queues: Iterable[str] = ()) -> dict[str, float]:
        """The threshold of every stored queue and of ``queues``, as the reports apply it."""
        async with self._sessions() as session:
            thresholds = await _thresholds(session, self._service_levels, queues)
        return thresholds

    async def queue_titles(self) -> dict[str, str]:
        """Each stored queue's display name (the queue name where it has none)."""
        async with self._sessions() as session:
            rows = await session.execute(select(AcdQueue.name, AcdQueue.display_name))
        return {name: (title or name) for name, title in rows}

    async def queue_names(self) -> list[str]:
        """The queues defined in the database."""
        async with self._sessions() as session:
            return list((await session.scalars(select(AcdQueue.name).order_by(AcdQueue.name))).all())

    async def arrivals(
        self, queue: str, day: date, *, weeks: int = 4, interval_minutes: int = 30, tz: str = "UTC"
    ) -> ArrivalHistory:
        """Average calls offered per interval on the ``weeks`` same weekdays before ``day``."""
        if not 1 <= weeks <= MAX_HISTORY_WEEKS:
            raise InvalidInput("weeks", f"must be 1 to {MAX_HISTORY_WEEKS}")
        if interval_minutes not in {15, 30, 60}:
            raise InvalidInput("interval_minutes", "must be 15, 30 or 60")
        zone = parse_zone(tz)
        check_day(day, "day")
        days = tuple(day - timedelta(weeks=w) for w in range(weeks, 0, -1))
        counts: dict[int, float] = defaultdict(float)
        handled = 0
        handling = 0.0
        async with self._sessions() as session:
            for past in days:
                report = ReportRange.of_days(past, past, zone)
                visits, _ = await load_visits(session, report, [queue])
                attach_agent_time(visits, await load_spans(session, report, self._clock()))
                for visit in visits:
                    local = visit.entered_at.astimezone(zone)
                    counts[(local.hour * 60 + local.minute) // interval_minutes] += 1
                    if visit.handled:
                        handled += 1
                        handling += (visit.talk_seconds or 0.0) + (visit.hold_seconds or 0.0)
                        handling += visit.wrap_up_seconds
        offered = {slot: count / weeks for slot, count in sorted(counts.items())}
        aht = handling / handled if handled else None
        return ArrivalHistory(queue, day, weeks, interval_minutes, offered, aht, days)


def utc_day(at: datetime) -> date:
    """The UTC date of ``at`` (helper for callers without a zone)."""
    return at.astimezone(UTC).date()
