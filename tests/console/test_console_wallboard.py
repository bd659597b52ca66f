"""Wallboard figures from hand-computed event sequences (over a real server: test_console_wallboard_push).

The hand-computed day (queue ``retail``, service level threshold 20 s, UTC):

    call  entered   then                         counts in 09:00 (entered before 09:15)
    c1    09:00:00  answered 09:00:10 by alice    answered, wait 10 (within 20)
    c2    09:01:00  answered 09:01:30 by bob      answered, wait 30
    c3    09:02:00  abandoned 09:02:03            short abandon (3 s): not in the abandon rate
    c4    09:05:00  abandoned 09:05:40            abandoned, after 20 s
    c5    09:06:00  abandoned 09:06:12            abandoned, within 20 s
    c6    09:14:59  answered 09:15:20 by alice    answered, wait 21 — still the 09:00 interval
    c7    09:20:00  callback 09:20:30             09:15 interval: callback, excluded
    c8    09:21:00  no agent 09:31:00             09:15 interval: timed out, not an abandon
    c9    09:22:00  still waiting at 09:25:00     09:15 interval: offered, waiting 180 s

    09:00: offered 6, answered 3, SL = 1 / (3 + 1) = 0.25, ASA = (10 + 30 + 21) / 3, abandon rate 2 / (3 + 2)
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from wallboard_harness import (
    DAY,
    NINE,
    answered,
    at,
    ended,
    fold,
    live_snapshot,
    queued,
    step,
    the_day,
)

from acd.events import AgentStateChanged, CallConnected, CallOffered, CallQueued
from agent_console.wallboard.build import build_snapshot
from agent_console.wallboard.figures import TodayFigures, kpis
from agent_console.wallboard.seed import SeedCall, seed_figures


def test_hand_computed_day_per_interval_and_in_total() -> None:
    figures = fold(the_day())
    first = figures.buckets["retail"][int(NINE)]
    assert (first.offered, first.answered, first.answered_within) == (6, 3, 1)
    assert (first.abandoned, first.short_abandoned, first.abandoned_after) == (2, 1, 1)
    k = kpis(first)
    assert k.service_level == pytest.approx(1 / 4)
    assert k.asa_seconds == pytest.approx(61 / 3)
    assert k.abandon_rate == pytest.approx(2 / 5)

    second = figures.buckets["retail"][int(NINE) + 900]
    assert (second.offered, second.answered, second.callbacks, second.timed_out) == (3, 0, 1, 1)
    assert kpis(second) == kpis(second).__class__(None, None, None)

    t = figures.totals("retail")
    assert (t.offered, t.answered, t.abandoned, t.callbacks, t.timed_out) == (9, 3, 2, 1, 1)
    assert [leg.call_id for leg in figures.waiting("retail")] == ["c9"]
    assert figures.agents["alice"].handled_today == 2
    assert figures.agents["bob"].handled_today == 1


def test_every_event_twice_counts_once() -> None:
    once = fold(the_day())
    twice = fold([e for event in the_day() for e in (event, event)])
    assert twice.buckets == once.buckets
    assert twice.agents["alice"].handled_today == 2


def test_a_moved_call_is_offered_again_and_exactly_the_threshold_is_within() -> None:
    figures = fold(
        [
            queued("m1", "10:00:00", "retail"),
            queued("m1", "10:00:30", "vip"),
            *answered("m1", "10:00:50", "carol", "vip"),
        ]
    )
    retail, vip = figures.totals("retail"), figures.totals("vip")
    assert (retail.offered, retail.moved_out, retail.answered) == (1, 1, 0)
    assert (vip.offered, vip.answered, vip.answered_within) == (1, 1, 1)  # 20 s wait, threshold 20 s
    assert kpis(vip).asa_seconds == pytest.approx(20.0)
    assert kpis(retail).service_level is None


def test_the_acds_moves_overflows_and_exits_without_an_agent() -> None:
    figures = fold(
        [
            queued("t1", "10:00:00"),
            step("t1", "10:00:30", "overflowed", to_queue="vip", mode="widen"),  # still waiting in retail
            step("t1", "10:01:00", "moved", to_queue="vip", by="sue"),
            step("t1", "10:01:00", "moved", to_queue="vip", by="sue"),  # replayed
            *answered("t1", "10:01:10", "carol", "vip"),
            queued("t2", "10:02:00"),
            step("t2", "10:12:00", "max_wait", wait_seconds=600, to_queue=None),
            ended("t2", "10:12:01", "no_agent"),
            queued("t3", "10:03:00"),
            step("t3", "10:03:40", "callback_requested", callback_id=7),
            ended("t3", "10:03:41", "callback"),
            queued("t4", "10:04:00"),
            step("t4", "10:04:09", "abandoned", wait_seconds=9),
            ended("t4", "10:04:09", "abandoned_in_queue"),
        ]
    )
    retail, vip = figures.totals("retail"), figures.totals("vip")
    assert (retail.offered, retail.moved_out, retail.timed_out) == (4, 1, 1)
    assert (retail.callbacks, retail.abandoned) == (1, 1)
    assert (vip.offered, vip.answered, vip.answered_within) == (1, 1, 0)
    # The caller waited from 10:00:00 (first queue) to 10:01:10: 70 s, over the 20 s threshold.
    assert kpis(vip).asa_seconds == pytest.approx(70.0)
    assert kpis(retail).abandon_rate == pytest.approx(1.0)  # 1 abandon, nothing handled in retail


def test_a_live_service_level_lookup_is_asked_at_each_answer() -> None:
    thresholds = {"vip": 10.0}

    def lookup(queue: str) -> float:
        return thresholds[queue]  # KeyError for retail: the default 20 s applies

    figures = TodayFigures(DAY, UTC, service_levels=lookup)
    for event in [queued("v1", "10:00:00", "vip"), *answered("v1", "10:00:15", "carol", "vip")]:
        figures.apply(event)
    thresholds["vip"] = 30.0  # edited by an admin: applies to the next answer
    for event in [
        queued("v2", "10:01:00", "vip"),
        *answered("v2", "10:01:15", "carol", "vip"),
        queued("r1", "10:02:00"),
        *answered("r1", "10:02:15", "bob"),
    ]:
        figures.apply(event)
    assert figures.totals("vip").answered_within == 1  # v1 missed 10 s, v2 made 30 s
    assert figures.totals("retail").answered_within == 1


def test_a_call_ringing_an_agent_who_does_not_answer_waits_again() -> None:
    figures = fold(
        [
            queued("r1", "11:00:00"),
            CallOffered(call_id="r1", agent_login="bob", queue="retail", at=at("11:00:01")),
            AgentStateChanged(agent_login="bob", state="ringing", call_id="r1", at=at("11:00:01")),
        ]
    )
    assert figures.waiting("retail") == []
    figures.apply(AgentStateChanged(agent_login="bob", state="paused", reason="no-answer", at=at("11:00:16")))
    assert [leg.call_id for leg in figures.waiting("retail")] == ["r1"]
    assert (figures.agents["bob"].state, figures.agents["bob"].reason) == ("paused", "no-answer")


def test_seeded_rows_and_live_events_of_the_same_calls_count_once() -> None:
    figures = fold(the_day()[:4])  # c1 and c2 seen live
    seeded = seed_figures(
        figures,
        [
            SeedCall("c1", "retail", at("09:00:00"), "alice", at("09:00:10"), at("09:03:00"), "answered"),
            SeedCall("c2", "retail", at("09:01:00"), "bob", at("09:01:30")),
            SeedCall("c4", "retail", at("09:05:00"), None, None, at("09:05:40"), "abandoned_in_queue"),
        ],
    )
    assert seeded == 1
    for event in the_day():  # the whole feed again, as a replaying bus would
        figures.apply(event)
    assert figures.buckets == fold(the_day()).buckets


def test_calls_of_another_day_are_not_counted_and_a_new_day_starts_at_zero() -> None:
    figures = fold([queued("y1", "09:00:00")])
    figures.apply(CallQueued(call_id="old", queue="retail", at=NINE - 86400))
    figures.apply(CallConnected(call_id="old", agent_login="bob", queue="retail", at=NINE - 86000))
    assert figures.totals("retail").offered == 1
    assert figures.totals("retail").answered == 0
    figures.roll(DAY + timedelta(days=1))
    assert figures.totals("retail").offered == 0
    # y1 still waits: it stays on the board, counted for no day.
    assert [leg.call_id for leg in figures.waiting("retail")] == ["y1"]
    figures.apply(ended("y1", "09:01:00", "abandoned_in_queue"))
    assert figures.totals("retail").abandoned == 0


def test_snapshot_takes_waiting_calls_and_agents_from_the_live_acd() -> None:
    now = at("09:25:00")
    snap = build_snapshot(fold(the_day()), live_snapshot(now), now, None)
    retail = next(q for q in snap.queues if q.name == "retail")
    assert (retail.waiting, retail.longest_wait_seconds) == (1, 180.0)
    assert [w.call_id for w in retail.waiting_calls] == ["c9"]
    assert (retail.agents_available, retail.agents_on_call, retail.agents_paused, retail.agents_wrap_up) == (
        1,
        1,
        1,
        1,
    )
    assert (retail.offered, retail.answered, retail.service_level) == (9, 3, pytest.approx(0.25))
    assert [q.name for q in snap.queues] == ["retail", "vip"]  # vip: known to the ACD, no call yet
    agents = {a.login: a for a in snap.agents}
    assert agents["alice"].calls_handled_today == 2  # today's, not the ACD's counter since start
    assert (agents["bob"].reason, agents["bob"].seconds_in_state) == ("lunch", 65)
    # The chart series: one value per interval from midnight to now, 09:00 and 09:15 filled.
    assert len(snap.interval_starts) == 9 * 4 + 2
    assert snap.interval_labels[36:] == ["09:00", "09:15"]
    assert snap.intervals.offered[36:] == [6, 3]
    assert snap.intervals.service_level[36] == pytest.approx(0.25)
    assert snap.intervals.service_level[0] is None
    assert snap.queue_intervals["vip"].offered[36:] == [0, 0]


def test_snapshot_narrows_agents_to_the_watched_ones_but_not_the_queues() -> None:
    now = at("09:25:00")
    snap = build_snapshot(fold(the_day()), live_snapshot(now), now, frozenset({"alice", "bob"}))
    assert sorted(a.login for a in snap.agents) == ["alice", "bob"]
    retail = next(q for q in snap.queues if q.name == "retail")
    assert retail.agents_logged_in == 4


def test_without_a_live_acd_the_events_give_agents_and_waiting_calls() -> None:
    lunch = AgentStateChanged(agent_login="bob", state="paused", reason="lunch", at=NINE)
    figures = fold([*the_day(), lunch])
    now = at("09:25:00")
    snap = build_snapshot(figures, None, now, None)
    retail = snap.queues[0]
    assert (retail.waiting, retail.longest_wait_seconds) == (1, 180.0)
    assert {a.login: a.state for a in snap.agents}["bob"] == "paused"
