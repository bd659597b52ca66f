"""Turning :class:`TodayFigures` (and the live ACD view, when there is one) into a snapshot."""

from __future__ import annotations

from datetime import datetime

from acd.views import AcdSnapshot
from agent_console.wallboard.figures import IntervalCounts, TodayFigures, kpis
from agent_console.wallboard.schemas import (
    IntervalSeries,
    WaitingCall,
    WallboardAgent,
    WallboardQueue,
    WallboardSnapshot,
    WallboardTotals,
)

__all__ = ["build_snapshot"]

_ON_CALL = frozenset({"on_call", "on_hold"})
_RINGING = frozenset({"ringing", "reserved"})


def _totals(counts: IntervalCounts) -> WallboardTotals:
    k = kpis(counts)
    return WallboardTotals(
        offered=counts.offered,
        answered=counts.answered,
        abandoned=counts.abandoned,
        short_abandoned=counts.short_abandoned,
        callbacks=counts.callbacks,
        timed_out=counts.timed_out,
        service_level=k.service_level,
        asa_seconds=k.asa_seconds,
        abandon_rate=k.abandon_rate,
    )


def _agents(figures: TodayFigures, live: AcdSnapshot | None, now: float) -> list[WallboardAgent]:
    if live is not None:
        return [
            WallboardAgent(
                login=a.login,
                name=a.name,
                state=a.state,
                reason=a.reason,
                since=a.since,
                seconds_in_state=max(0.0, now - a.since),
                call_id=a.call_id,
                queues=a.queues,
                calls_handled_today=_handled(figures, a.login),
            )
            for a in live.agents
        ]
    return [
        WallboardAgent(
            login=a.login,
            name=a.login,
            state=a.state,
            reason=a.reason,
            since=a.since,
            seconds_in_state=max(0.0, now - a.since),
            call_id=a.call_id,
            queues=sorted(a.queues),
            calls_handled_today=a.handled_today,
        )
        for a in figures.agents.values()
    ]


def _handled(figures: TodayFigures, login: str) -> int:
    agent = figures.agents.get(login)
    return agent.handled_today if agent is not None else 0


def _waiting(figures: TodayFigures, live: AcdSnapshot | None, queue: str) -> list[WaitingCall]:
    if live is not None:
        for view in live.queues:
            if view.name == queue:
                return [
                    WaitingCall(
                        call_id=w.call_id, position=w.position, priority=w.priority, enqueued_at=w.enqueued_at
                    )
                    for w in view.waiting
                ]
        return []
    return [
        WaitingCall(call_id=leg.call_id, position=i, priority=0, enqueued_at=leg.queued_at)
        for i, leg in enumerate(figures.waiting(queue), start=1)
    ]


def _series(figures: TodayFigures, queues: list[str], starts: list[int]) -> IntervalSeries:
    rows: list[IntervalCounts] = []
    for start in starts:
        counts = IntervalCounts()
        for queue in queues:
            bucket = figures.buckets.get(queue, {}).get(start)
            if bucket is not None:
                counts.add(bucket)
        rows.append(counts)
    return IntervalSeries(
        offered=[c.offered for c in rows],
        answered=[c.answered for c in rows],
        abandoned=[c.abandoned for c in rows],
        service_level=[kpis(c).service_level for c in rows],
    )


def build_snapshot(
    figures: TodayFigures, live: AcdSnapshot | None, now: float, watch: frozenset[str] | None
) -> WallboardSnapshot:
    """The wallboard at ``now``; agents narrowed to ``watch`` (``None``: all of them)."""
    everyone = _agents(figures, live, now)
    names = set(figures.queues())
    if live is not None:
        names.update(q.name for q in live.queues)
    queue_names = sorted(names)
    queues: list[WallboardQueue] = []
    grand = IntervalCounts()
    for name in queue_names:
        counts = figures.totals(name)
        grand.add(counts)
        waiting = _waiting(figures, live, name)
        oldest = min((w.enqueued_at for w in waiting), default=None)
        serving = [a for a in everyone if name in a.queues]
        states = [a.state for a in serving]
        queues.append(
            WallboardQueue(
                name=name,
                service_level_seconds=figures.service_level_seconds(name),
                waiting=len(waiting),
                longest_wait_seconds=max(0.0, now - oldest) if oldest is not None else 0.0,
                oldest_enqueued_at=oldest,
                waiting_calls=waiting,
                agents_available=states.count("available"),
                agents_ringing=sum(s in _RINGING for s in states),
                agents_on_call=sum(s in _ON_CALL for s in states),
                agents_paused=states.count("paused"),
                agents_wrap_up=states.count("wrap_up"),
                agents_logged_in=sum(s != "logged_out" for s in states),
                **_totals(counts).model_dump(),
            )
        )
    starts = [s for s in figures.interval_starts() if s <= now]
    tz = figures.tz
    return WallboardSnapshot(
        at=now,
        day=figures.day.isoformat(),
        timezone=str(tz),
        queues=queues,
        totals=_totals(grand),
        agents=[a for a in everyone if watch is None or a.login in watch],
        interval_starts=[float(s) for s in starts],
        interval_labels=[datetime.fromtimestamp(s, tz).strftime("%H:%M") for s in starts],
        intervals=_series(figures, queue_names, starts),
        queue_intervals={name: _series(figures, [name], starts) for name in queue_names},
    )
