"""Turning :class:`TodayFigures` (and the live ACD view, when there is one) into a snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from acd.views import AcdSnapshot
from agent_console.wallboard.counts import IntervalCounts, kpis
from agent_console.wallboard.directory import Names, unique_names
from agent_console.wallboard.figures import TodayFigures
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
        aht_seconds=k.aht_seconds,
    )


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


#: (handling, idle) seconds today per agent login, from the events (see :mod:`.figures`).
Times = dict[str, tuple[float, float]]
_NO_TIME = (0.0, 0.0)


def _times(figures: TodayFigures, now: float) -> Times:
    """Every agent's time today, once per picture: the agents, queues and centre all read it."""
    start = figures.day_start
    return {login: agent.time_at(now, start) for login, agent in figures.agents.items()}


def _occupancy(times: Times, login: str) -> float | None:
    handling, idle = times.get(login, _NO_TIME)
    return _ratio(handling, handling + idle)


def _agents(
    figures: TodayFigures, live: AcdSnapshot | None, now: float, names: Names, times: Times
) -> list[WallboardAgent]:
    shown = unique_names(
        {a.login: a.name for a in live.agents}
        if live is not None
        else {a.login: names.agents.get(a.login, a.login) for a in figures.agents.values()}
    )
    if live is not None:
        return [
            WallboardAgent(
                login=a.login,
                name=a.name,
                display_name=shown[a.login],
                occupancy=_occupancy(times, a.login),
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
            name=names.agents.get(a.login, a.login),
            display_name=shown[a.login],
            occupancy=_occupancy(times, a.login),
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


def _call(
    names: Names,
    call_id: str,
    position: int,
    priority: int,
    at: float,
    number: str | None,
    customer: int | None,
) -> WaitingCall:
    badge = names.customer(customer)
    return WaitingCall(
        call_id=call_id,
        position=position,
        priority=priority,
        enqueued_at=at,
        caller_number=number,
        customer_name=badge.name if badge else None,
        customer_tier=badge.tier if badge else None,
    )


def waiting_customers(figures: TodayFigures, live: AcdSnapshot | None) -> set[int]:
    """The customer ids of every waiting call (what the names should cover)."""
    if live is not None:
        return {w.customer_id for q in live.queues for w in q.waiting if w.customer_id is not None}
    return {leg.customer_id for leg in figures.open_legs() if leg.waiting and leg.customer_id is not None}


def _waiting(figures: TodayFigures, live: AcdSnapshot | None, queue: str, names: Names) -> list[WaitingCall]:
    if live is not None:
        for view in live.queues:
            if view.name == queue:
                return [
                    _call(
                        names,
                        w.call_id,
                        w.position,
                        w.priority,
                        w.enqueued_at,
                        w.caller_number,
                        w.customer_id,
                    )
                    for w in view.waiting
                ]
        return []
    return [
        _call(names, leg.call_id, i, 0, leg.queued_at, leg.caller_number, leg.customer_id)
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
    figures: TodayFigures,
    live: AcdSnapshot | None,
    now: float,
    watch: frozenset[str] | None,
    names: Names | None = None,
) -> WallboardSnapshot:
    """The wallboard at ``now``; agents narrowed to ``watch`` (``None``: all of them).

    The centre's occupancy counts every agent's time today, whoever watches.
    """
    names = names or Names()
    times = _times(figures, now)
    everyone = _agents(figures, live, now, names, times)
    serving_of: dict[str, list[WallboardAgent]] = {}
    for agent in everyone:
        for queue in agent.queues:
            serving_of.setdefault(queue, []).append(agent)
    seen = set(figures.queues())
    if live is not None:
        seen.update(q.name for q in live.queues)
    queue_names = sorted(seen)
    queues: list[WallboardQueue] = []
    grand = IntervalCounts()
    for name in queue_names:
        counts = figures.totals(name)
        grand.add(counts)
        waiting = _waiting(figures, live, name, names)
        oldest = min((w.enqueued_at for w in waiting), default=None)
        serving = serving_of.get(name, [])
        states = [a.state for a in serving]
        queues.append(
            WallboardQueue(
                name=name,
                display_name=names.queue_title(name),
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
                **{
                    **_totals(counts).model_dump(),
                    "occupancy": _group_occupancy(times, [a.login for a in serving]),
                },
            )
        )
    starts = [s for s in figures.interval_starts() if s <= now]
    tz = figures.tz
    return WallboardSnapshot(
        at=now,
        day=figures.day.isoformat(),
        timezone=str(tz),
        queues=queues,
        totals=_totals(grand).model_copy(
            update={"occupancy": _group_occupancy(times, _centre(figures, everyone))}
        ),
        agents=[a for a in everyone if watch is None or a.login in watch],
        interval_starts=[float(s) for s in starts],
        interval_labels=[datetime.fromtimestamp(s, tz).strftime("%H:%M") for s in starts],
        intervals=_series(figures, queue_names, starts),
        queue_intervals={name: _series(figures, [name], starts) for name in queue_names},
    )


def _centre(figures: TodayFigures, agents: list[WallboardAgent]) -> set[str]:
    """The centre's agents: every one shown and every one the events told of."""
    return {a.login for a in agents} | set(figures.agents)


def _group_occupancy(times: Times, logins: Iterable[str]) -> float | None:
    """Handling ÷ (handling + idle) of ``logins`` together (a queue's: the agents serving it)."""
    handling = idle = 0.0
    for login in logins:
        h, i = times.get(login, _NO_TIME)
        handling += h
        idle += i
    return _ratio(handling, handling + idle)
