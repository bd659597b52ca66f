"""Hand-computed event sequences and a fixed ACD view for the wallboard tests (see test_console_wallboard)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from acd.events import BusEvent, CallConnected, CallEnded, CallOffered, CallQueued, QueueTransition
from acd.views import AcdSnapshot, AgentView, QueueView, WaitingCallView
from agent_console.wallboard.figures import TodayFigures

DAY = date(2026, 11, 29)
NINE = datetime(2026, 11, 29, 9, 0, tzinfo=UTC).timestamp()


def at(hh_mm_ss: str) -> float:
    h, m, s = (int(x) for x in hh_mm_ss.split(":"))
    return datetime(2026, 11, 29, h, m, s, tzinfo=UTC).timestamp()


def queued(call: str, when: str, queue: str = "retail") -> CallQueued:
    return CallQueued(call_id=call, queue=queue, at=at(when))


def answered(call: str, when: str, agent: str, queue: str = "retail") -> list[BusEvent]:
    return [
        CallOffered(call_id=call, agent_login=agent, queue=queue, at=at(when) - 1),
        CallConnected(call_id=call, agent_login=agent, queue=queue, at=at(when)),
    ]


def ended(call: str, when: str, outcome: str, agent: str | None = None) -> CallEnded:
    return CallEnded(call_id=call, outcome=outcome, agent_login=agent, queue="retail", at=at(when))


def the_day() -> list[BusEvent]:
    return [
        queued("c1", "09:00:00"),
        *answered("c1", "09:00:10", "alice"),
        queued("c2", "09:01:00"),
        *answered("c2", "09:01:30", "bob"),
        queued("c3", "09:02:00"),
        ended("c3", "09:02:03", "abandoned_in_queue"),
        ended("c1", "09:03:00", "answered", "alice"),
        queued("c4", "09:05:00"),
        ended("c4", "09:05:40", "abandoned_in_queue"),
        queued("c5", "09:06:00"),
        ended("c5", "09:06:12", "abandoned_in_queue"),
        queued("c6", "09:14:59"),
        *answered("c6", "09:15:20", "alice"),
        queued("c7", "09:20:00"),
        ended("c7", "09:20:30", "callback"),
        queued("c8", "09:21:00"),
        queued("c9", "09:22:00"),
        ended("c8", "09:31:00", "no_agent"),
    ]


def fold(events: list[BusEvent]) -> TodayFigures:
    figures = TodayFigures(DAY, UTC)
    for event in events:
        figures.apply(event)
    return figures


def step(call: str, when: str, event: str, queue: str = "retail", **data: Any) -> QueueTransition:
    return QueueTransition(call_id=call, event=event, queue=queue, data=data, at=at(when))


def live_snapshot(now: float) -> AcdSnapshot:
    """The ACD at ``now``: c9 waits in retail; alice talks, bob lunches, carol is free, dave wraps up."""

    def agent(login: str, state: str, queues: list[str], reason: str | None = None) -> AgentView:
        return AgentView(
            login=login,
            name=login.title(),
            state=state,
            reason=reason,
            since=now - 65,
            seconds_in_state=65,
            call_id="c9" if state == "on_call" else None,
            queues=queues,
            calls_handled=99,
        )

    waiting = WaitingCallView(
        call_id="c9",
        position=1,
        priority=0,
        caller_number="+8613800138000",
        customer_id=None,
        enqueued_at=at("09:22:00"),
        wait_seconds=now - at("09:22:00"),
    )
    return AcdSnapshot(
        at=now,
        queues=[
            QueueView(
                name="retail",
                waiting=[waiting],
                longest_wait_seconds=180,
                agents_available=1,
                agents_logged_in=3,
            ),
            QueueView(name="vip", waiting=[], longest_wait_seconds=0, agents_available=0, agents_logged_in=0),
        ],
        agents=[
            agent("alice", "on_call", ["retail"]),
            agent("bob", "paused", ["retail"], "lunch"),
            agent("carol", "available", ["retail", "vip"]),
            agent("dave", "wrap_up", ["retail"]),
        ],
    )


class FixedAcd:
    """A :class:`~agent_console.ports.LiveAcd` always showing :func:`live_snapshot` at ``now``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def snapshot(self) -> AcdSnapshot:
        return live_snapshot(self.now)
