"""The wallboard looks only through the calls not over yet: the same answers as a scan of the whole day.

The figures keep every leg of the day (for replays) and, apart, the legs not
closed; waiting calls, queues and agents' ringing calls are read from the
latter.  After every event of a day with moves, overflows, replays, a ring
not answered, seeding and a new day, the index must be exactly the open legs.
"""

from __future__ import annotations

from datetime import timedelta

from wallboard_harness import DAY, answered, at, ended, fold, queued, step, the_day

from acd.events import AgentStateChanged, BusEvent, CallOffered
from agent_console.wallboard.figures import CallLeg, TodayFigures
from agent_console.wallboard.seed import SeedCall, seed_figures


def scanned_open(figures: TodayFigures) -> dict[str, CallLeg]:
    return {call_id: leg for call_id, leg in figures.calls.items() if not leg.closed}


def scanned_waiting(figures: TodayFigures, queue: str) -> list[str]:
    legs = [leg for leg in figures.calls.values() if leg.queue == queue and leg.waiting]
    return [leg.call_id for leg in sorted(legs, key=lambda leg: leg.queued_at)]


def assert_index_matches(figures: TodayFigures) -> None:
    assert {leg.call_id: leg for leg in figures.open_legs()} == scanned_open(figures)
    for queue in ("retail", "vip"):
        assert [leg.call_id for leg in figures.waiting(queue)] == scanned_waiting(figures, queue)
    assert figures.queues() == set(figures.buckets) | {leg.queue for leg in scanned_open(figures).values()}


def a_busy_day() -> list[BusEvent]:
    return [
        *the_day(),
        queued("t1", "10:00:00"),
        step("t1", "10:00:30", "overflowed", to_queue="vip", mode="widen"),
        step("t1", "10:01:00", "moved", to_queue="vip", by="sue"),
        step("t1", "10:01:00", "moved", to_queue="vip", by="sue"),  # replayed
        queued("r1", "10:02:00"),
        CallOffered(call_id="r1", agent_login="bob", queue="retail", at=at("10:02:01")),
        AgentStateChanged(agent_login="bob", state="ringing", call_id="r1", at=at("10:02:01")),
        AgentStateChanged(agent_login="bob", state="paused", reason="no-answer", at=at("10:02:16")),
        *answered("t1", "10:02:30", "carol", "vip"),
        queued("t2", "10:03:00"),
        step("t2", "10:13:00", "max_wait", wait_seconds=600, to_queue=None),
        ended("t2", "10:13:01", "no_agent"),
        ended("t1", "10:20:00", "answered", "carol"),
        *the_day(),  # the whole morning replayed
    ]


def test_the_open_calls_are_exactly_the_legs_not_closed_after_every_event() -> None:
    figures = fold([])
    for event in a_busy_day():
        figures.apply(event)
        assert_index_matches(figures)
    assert sorted(leg.call_id for leg in figures.open_legs()) == ["c2", "c6", "c9", "r1"]
    seed_figures(figures, [SeedCall("s1", "retail", at("11:00:00"))])
    assert_index_matches(figures)
    assert "s1" in [leg.call_id for leg in figures.waiting("retail")]
    figures.roll(DAY + timedelta(days=1))  # closed calls forgotten, the open ones kept
    assert_index_matches(figures)
    assert set(figures.calls) == {"c2", "c6", "c9", "r1", "s1"}
    figures.apply(ended("c9", "23:59:00", "abandoned_in_queue"))
    assert_index_matches(figures)
    assert "c9" not in [leg.call_id for leg in figures.open_legs()]
