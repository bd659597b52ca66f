"""CallTracker on the real Asterisk traces (b, b2, c, g) and the cacofonisk recordings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from ami_trace_files import CACOFONISK, SCENARIOS, fixture_events, timed_server_messages

from cti.ami.message import AmiMessage
from cti.tracker import Call, CallOutcome, CallState, CallTracker

S = CallState


@pytest.fixture(autouse=True)
def no_swallowed_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The tracker logs and swallows its own exceptions: none may happen here."""
    with caplog.at_level(logging.ERROR, logger="cti.tracker"):
        yield
    assert [r.getMessage() for r in caplog.records if r.getMessage() == "tracker.event_failed"] == []


def replay(scenario: str) -> tuple[CallTracker, list[tuple[float, AmiMessage]], list[tuple[str | None, str]]]:
    """Feed a trace with its transcript times; return tracker, timed messages, transitions."""
    tracker = CallTracker()
    transitions: list[tuple[str | None, str]] = []
    tracker.on_change(lambda call, previous: transitions.append((previous, call.state)))
    messages = timed_server_messages(SCENARIOS[scenario])
    for at, msg in messages:
        tracker.feed(msg, now=at)
    return tracker, messages, transitions


def time_of(messages: list[tuple[float, AmiMessage]], event: str, **fields: str) -> float:
    """Receive time of the first ``event`` whose fields match."""
    return next(
        at for at, m in messages if m.event == event and all(m.get(k) == v for k, v in fields.items())
    )


def only_call(tracker: CallTracker) -> Call:
    assert tracker.live_calls == []
    (call,) = tracker.recent_calls
    return call


@pytest.mark.parametrize("scenario", ["b", "b2"])
def test_answered_call(scenario: str) -> None:
    tracker, messages, transitions = replay(scenario)
    call = only_call(tracker)
    assert transitions == [
        (None, S.RINGING), (S.RINGING, S.IN_IVR), (S.IN_IVR, S.QUEUED),
        (S.QUEUED, S.OFFERED), (S.OFFERED, S.CONNECTED), (S.CONNECTED, S.ENDED),
    ]  # fmt: skip
    assert call.outcome is CallOutcome.ANSWERED
    assert (call.caller_number, call.caller_name) == ("+15551230001", "Alice Customer")
    assert (call.queue, call.agent) == ("support", "Agent 1001")
    assert call.hold_time == 2 and call.talk_time == 6  # Asterisk's AgentConnect / AgentComplete
    assert call.agent_complete
    assert len(call.legs) == 4 and all(not leg.live for leg in call.legs.values())
    caller_leg = call.legs[call.linkedid]
    assert caller_leg.channel.endswith(";1") and caller_leg.hangup_cause == 16
    ivr_leg = next(leg for leg in call.legs.values() if leg.variables.get("IVR_CHOICE") == "support")
    assert ivr_leg.variables["IVR_ACCOUNT"] == "4711"
    (dial,) = call.dials.values()
    assert (dial.dial_string, dial.status) == ("Local/1001@agents/n", "ANSWER")
    assert call.legs[dial.dest_uniqueid].channel.startswith("Local/1001@agents-")
    # Times are the transcript's receive times of the deciding events.
    assert call.ivr_at == time_of(messages, "AGIExecStart")
    assert call.queued_at == time_of(messages, "QueueCallerJoin")
    assert call.offered_at == time_of(messages, "AgentCalled")
    assert call.connected_at == time_of(messages, "DialEnd", DestUniqueid=dial.dest_uniqueid)
    assert call.ended_at == max(at for at, m in messages if m.event == "Hangup")
    assert abs((call.connected_at - call.queued_at) - 2) < 1  # type: ignore[operator]
    assert abs((call.ended_at - call.connected_at) - 6) < 1  # type: ignore[operator]
    assert tracker.by_uniqueid(ivr_leg.uniqueid) is call


def test_abandoned_while_the_agent_rang() -> None:
    tracker, _, transitions = replay("c")
    call = only_call(tracker)
    assert transitions[-2:] == [(S.QUEUED, S.OFFERED), (S.OFFERED, S.ENDED)]
    assert call.outcome is CallOutcome.ABANDONED_IN_QUEUE
    assert (call.caller_number, call.caller_name) == ("+15551230002", "Bob Impatient")
    assert (call.queue, call.agent) == ("support", "Agent 1001")
    assert call.hold_time == 4  # QueueCallerAbandon HoldTime
    assert call.connected_at is None and call.talk_time is None
    (dial,) = call.dials.values()
    assert dial.status == "CANCEL"


def test_second_dial_end_cancel_is_ignored() -> None:
    tracker = CallTracker()
    results = []
    for at, msg in timed_server_messages(SCENARIOS["c"]):
        result = tracker.feed(msg, now=at)
        if msg.event == "DialEnd" and msg.get("DialStatus") == "CANCEL":
            results.append((result, result.state if result else None))
    (first, first_state), (second, _) = results
    assert first is not None and first_state is S.OFFERED
    assert second is None


def test_abandoned_in_ivr() -> None:
    tracker, _, transitions = replay("g")
    call = only_call(tracker)
    assert transitions == [(None, S.RINGING), (S.RINGING, S.IN_IVR), (S.IN_IVR, S.ENDED)]
    assert call.outcome is CallOutcome.ABANDONED_IN_IVR
    assert (call.caller_number, call.caller_name) == ("+15551230003", "Carol Gone")
    assert call.queue is None and call.agent is None and call.hold_time is None
    assert len(call.legs) == 2


def test_traces_without_calls_leave_no_call() -> None:
    for scenario in ("a", "d", "e1", "e2"):
        tracker, _, transitions = replay(scenario)
        assert tracker.live_calls == [] and tracker.recent_calls == [] and transitions == []


CACOFONISK_FILES = sorted(CACOFONISK.rglob("*.json"))


def feed_fixture(path: Path) -> CallTracker:
    tracker = CallTracker()
    for n, msg in enumerate(fixture_events(path)):
        tracker.feed(msg, now=1000.0 + n)
    return tracker


@pytest.mark.parametrize("path", CACOFONISK_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_cacofonisk_recording_feeds_and_closes_every_call(path: Path) -> None:
    tracker = feed_fixture(path)
    assert tracker.live_calls == []
    assert tracker.recent_calls
    for call in tracker.recent_calls:
        assert call.ended and call.outcome is not None


@pytest.mark.parametrize(
    ("name", "caller", "outcome"),
    [
        ("simple/a_created_no_answer", "+31150010001", CallOutcome.UNANSWERED),
        ("simple/ab_a_cancel", "201", CallOutcome.UNANSWERED),
        ("simple/ab_reject", "201", CallOutcome.UNANSWERED),
        ("simple/ab_dnd", "201", CallOutcome.UNANSWERED),
        ("simple/ab_callgroup_no_answer", "201", CallOutcome.UNANSWERED),
        ("simple/ab_callgroup", "201", CallOutcome.ANSWERED),
        ("simple/ab_success_a_hangup", "201", CallOutcome.ANSWERED),
        ("simple/ab_success_b_hangup", "201", CallOutcome.ANSWERED),
        ("simple/ab_success_o3", "201", CallOutcome.ANSWERED),
        ("queue/queue_simple", "+31150010001", CallOutcome.ANSWERED),
        ("queue/queue_group", "+31150010001", CallOutcome.ANSWERED),
        ("queue/queue_a_cancel", "+31150010001", CallOutcome.ABANDONED_IN_QUEUE),
    ],
)
def test_cacofonisk_outcomes(name: str, caller: str, outcome: CallOutcome) -> None:
    tracker = feed_fixture(CACOFONISK / f"{name}.json")
    (call,) = tracker.recent_calls
    assert (call.caller_number, call.outcome) == (caller, outcome)
    if outcome is CallOutcome.ANSWERED:
        assert call.agent is not None and call.connected_at is not None
    else:
        assert call.connected_at is None


def test_cacofonisk_b_answered_dial_names_the_callee() -> None:
    tracker = feed_fixture(CACOFONISK / "simple" / "ab_success_a_hangup.json")
    (call,) = tracker.recent_calls
    answered = [d for d in call.dials.values() if d.status == "ANSWER"]
    assert any(call.legs[d.dest_uniqueid].channel.startswith("SIP/150010002-") for d in answered)
    assert call.agent is not None and "150010002" in call.agent


def test_cacofonisk_two_calls_at_once_stay_apart() -> None:
    tracker = feed_fixture(CACOFONISK / "simple" / "ab_success_twoclients.json")
    calls = tracker.recent_calls
    assert len(calls) == 2 and len({c.linkedid for c in calls}) == 2
    assert all(c.outcome is CallOutcome.ANSWERED for c in calls)
