"""CallTracker rules on small hand-written event sequences."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from cti.ami.message import AmiMessage
from cti.tracker import Call, CallOutcome, CallState, CallTracker

S = CallState


@pytest.fixture(autouse=True)
def no_swallowed_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The tracker logs and swallows its own exceptions: none may happen here."""
    with caplog.at_level(logging.ERROR, logger="cti.tracker"):
        yield
    assert [r.getMessage() for r in caplog.records if r.getMessage() == "tracker.event_failed"] == []


def chan(uniqueid: str, linkedid: str, channel: str, **fields: str) -> dict[str, str]:
    return {"Channel": channel, "Uniqueid": uniqueid, "Linkedid": linkedid, **fields}


def ev(event: str, **fields: str) -> AmiMessage:
    return AmiMessage.of(("Event", event), **fields)


def dial(event: str, src: dict[str, str], dest: dict[str, str], **fields: str) -> AmiMessage:
    dest_fields = {f"Dest{k}": v for k, v in dest.items()}
    return ev(event, **src, **dest_fields, **fields)


class Recorder:
    def __init__(self, tracker: CallTracker) -> None:
        self.changes: list[tuple[str, CallState | None, CallState]] = []
        tracker.on_change(self)

    def __call__(self, call: Call, previous: CallState | None) -> None:
        self.changes.append((call.linkedid, previous, call.state))

    def states(self, linkedid: str) -> list[tuple[CallState | None, CallState]]:
        return [(p, s) for lid, p, s in self.changes if lid == linkedid]


CALLER = chan("1.1", "1.1", "PJSIP/trunk-00000001", CallerIDNum="+8613800000001", CallerIDName="Li Lei")
ALICE = chan("1.2", "1.1", "PJSIP/alice-00000002")
BOB = chan("1.3", "1.1", "PJSIP/bob-00000003")


def test_own_acd_flow_with_mark_no_answer_and_second_offer() -> None:
    tracker = CallTracker()
    seen = Recorder(tracker)
    tracker.feed(ev("Newchannel", ChannelStateDesc="Ring", **CALLER), now=10)
    tracker.feed(ev("AGIExecStart", Command="ANSWER", **CALLER), now=11)
    assert tracker.mark("1.1", S.QUEUED, queue="cards", now=20) is not None
    tracker.mark("1.1", S.OFFERED, agent="alice", now=21)
    tracker.feed(ev("Newchannel", **ALICE), now=21)
    tracker.feed(dial("DialBegin", CALLER, ALICE, DialString="PJSIP/alice"), now=21)
    call = tracker.get("1.1")
    assert call is not None and (call.state, call.agent) == (S.OFFERED, "alice")  # the ACD's name is kept
    tracker.feed(dial("DialEnd", CALLER, ALICE, DialStatus="NOANSWER"), now=36)
    assert (call.state, call.agent) == (S.QUEUED, None)
    tracker.feed(ev("Hangup", Cause="19", **ALICE), now=36)
    tracker.mark("1.1", S.OFFERED, agent="bob", now=40)
    tracker.feed(ev("Newchannel", **BOB), now=40)
    tracker.feed(dial("DialBegin", CALLER, BOB, DialString="PJSIP/bob"), now=40)
    tracker.feed(dial("DialEnd", CALLER, BOB, DialStatus="ANSWER"), now=43)
    assert (call.state, call.agent, call.connected_at, call.hold_time) == (S.CONNECTED, "bob", 43, 23)
    tracker.feed(ev("Hangup", Cause="16", **BOB), now=100)
    assert not call.ended  # the caller's leg is still up
    tracker.feed(ev("Hangup", Cause="16", **CALLER), now=101)
    assert (call.state, call.outcome, call.talk_time, call.ended_at) == (
        S.ENDED,
        CallOutcome.ANSWERED,
        58,
        101,
    )
    assert call.legs["1.2"].hangup_cause == 19
    assert seen.states("1.1") == [
        (None, S.RINGING), (S.RINGING, S.IN_IVR), (S.IN_IVR, S.QUEUED), (S.QUEUED, S.OFFERED),
        (S.OFFERED, S.QUEUED), (S.QUEUED, S.OFFERED), (S.OFFERED, S.CONNECTED), (S.CONNECTED, S.ENDED),
    ]  # fmt: skip
    assert call.queued_at == 20 and call.offered_at == 40 and call.queue == "cards"


def test_late_no_answer_of_a_previous_offer_does_not_requeue_the_next_one() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", **CALLER), now=0)
    tracker.mark("1.1", S.OFFERED, queue="cards", agent="alice", now=1)
    tracker.feed(ev("Newchannel", **ALICE), now=1)
    tracker.feed(dial("DialBegin", CALLER, ALICE, DialString="PJSIP/alice"), now=1)
    # The ACD learnt of alice's no-answer from its AGI and already offers to bob…
    tracker.mark("1.1", S.QUEUED, now=16)
    tracker.mark("1.1", S.OFFERED, agent="bob", now=16)
    # …when Asterisk's DialEnd for alice arrives.
    tracker.feed(dial("DialEnd", CALLER, ALICE, DialStatus="NOANSWER"), now=16.001)
    call = tracker.get("1.1")
    assert call is not None and (call.state, call.agent) == (S.OFFERED, "bob")


def test_dial_from_the_ivr_offers_to_the_dialled_device_and_busy_requeues() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", **CALLER), now=0)
    tracker.feed(ev("AGIExecStart", **CALLER), now=1)
    tracker.feed(ev("Newchannel", **ALICE), now=5)
    tracker.feed(dial("DialBegin", CALLER, ALICE, DialString="PJSIP/alice"), now=5)
    call = tracker.get("1.1")
    assert call is not None and (call.state, call.agent, call.offered_at) == (S.OFFERED, "PJSIP/alice", 5)
    tracker.feed(dial("DialEnd", CALLER, ALICE, DialStatus="BUSY"), now=6)
    assert call.state is S.QUEUED and call.agent is None
    tracker.feed(ev("Hangup", **ALICE), now=6)
    tracker.feed(ev("Hangup", **CALLER), now=9)
    assert call.outcome is CallOutcome.ABANDONED_IN_QUEUE
    assert call.hold_time == 3  # queued at 6 (first requeue) until the end at 9


def test_bridge_with_the_dialled_leg_connects_without_dial_end() -> None:
    tracker = CallTracker()
    for msg in (
        ev("Newchannel", **CALLER),
        ev("AGIExecStart", **CALLER),
        ev("Newchannel", **ALICE),
        dial("DialBegin", CALLER, ALICE, DialString="PJSIP/alice"),
        ev("BridgeEnter", BridgeUniqueid="br-1", **ALICE),
    ):
        tracker.feed(msg, now=1)
    call = tracker.get("1.1")
    assert call is not None and call.state is S.OFFERED  # one leg in the bridge is not a conversation
    tracker.feed(ev("BridgeEnter", BridgeUniqueid="br-1", **CALLER), now=2)
    assert call.state is S.CONNECTED and call.connected_at == 2
    assert call.legs["1.1"].bridge_id == "br-1"
    tracker.feed(ev("BridgeLeave", BridgeUniqueid="br-1", **CALLER), now=3)
    assert call.legs["1.1"].bridge_id is None


def test_originate_response_before_newchannel_still_names_the_caller() -> None:
    tracker = CallTracker()
    early = ev(
        "OriginateResponse", ActionID="o-1", Response="Success", Channel="Local/s@ivr-in-00000009;1",
        Uniqueid="7.1", CallerIDNum="+15551230009", CallerIDName="Dora Early",
    )  # fmt: skip
    assert tracker.feed(early, now=1) is None
    unknown = chan(
        "7.1", "7.1", "Local/s@ivr-in-00000009;1", CallerIDNum="<unknown>", CallerIDName="<unknown>"
    )
    call = tracker.feed(ev("Newchannel", **unknown), now=1)
    assert call is not None and (call.caller_number, call.caller_name) == ("+15551230009", "Dora Early")
    failed = ev("OriginateResponse", Response="Failure", Uniqueid="<null>", Reason="0")
    assert tracker.feed(failed, now=2) is None


def test_agent_complete_is_matched_by_channel_and_only_then_by_agent() -> None:
    tracker = CallTracker()
    for n, agent in ((1, "Agent 1"), (2, "Agent 2")):
        caller = chan(f"{n}.1", f"{n}.1", f"PJSIP/c{n}")
        member = chan(f"{n}.2", f"{n}.1", f"Local/{n}@agents-1;1")
        for msg in (
            ev("Newchannel", **caller),
            ev("QueueCallerJoin", Queue="support", **caller),
            ev("Newchannel", **member),
            dial(
                "AgentCalled",
                caller,
                member,
                Queue="support",
                MemberName=agent,
                Interface=f"Local/{n}@agents/n",
            ),
            dial(
                "AgentConnect", caller, member, Queue="support", MemberName=agent, HoldTime="3", RingTime="1"
            ),
        ):
            tracker.feed(msg, now=float(n))
    first, second = tracker.get("1.1"), tracker.get("2.1")
    assert first is not None and second is not None
    assert (first.state, first.agent, first.hold_time) == (S.CONNECTED, "Agent 1", 3)
    # No channel fields (trace b): the agent decides.
    assert (
        tracker.feed(ev("AgentComplete", Queue="support", MemberName="Agent 2", TalkTime="42"), now=9)
        is second
    )
    assert second.talk_time == 42 and second.agent_complete and first.talk_time is None
    # A named channel that is not ours is never re-matched by agent.
    stranger = ev("AgentComplete", Uniqueid="99.9", Linkedid="99.9", MemberName="Agent 1", TalkTime="5")
    assert tracker.feed(stranger, now=9) is None
    assert first.talk_time is None
    # After the end, a named channel still finds its (recently ended) call.
    tracker.feed(ev("Hangup", **chan("1.1", "1.1", "PJSIP/c1")), now=10)
    tracker.feed(ev("Hangup", **chan("1.2", "1.1", "Local/1@agents-1;1")), now=10)
    assert first.ended and first.talk_time == 9  # measured: connected at 1, ended at 10
    late = ev("AgentComplete", **chan("1.1", "1.1", "PJSIP/c1"), MemberName="Agent 1", TalkTime="8")
    assert tracker.feed(late, now=11) is first
    assert first.talk_time == 8 and first.state is S.ENDED


def test_agent_ring_no_answer_requeues() -> None:
    tracker = CallTracker()
    member = chan("1.2", "1.1", "Local/1@agents-1;1")
    for msg in (
        ev("Newchannel", **CALLER),
        ev("QueueCallerJoin", Queue="support", **CALLER),
        ev("Newchannel", **member),
        dial("AgentCalled", CALLER, member, Queue="support", MemberName="Agent 1"),
    ):
        tracker.feed(msg, now=1)
    call = tracker.get("1.1")
    assert call is not None and call.state is S.OFFERED
    tracker.feed(dial("AgentRingNoAnswer", CALLER, member, MemberName="Agent 1", RingTime="15"), now=16)
    assert call.state is S.QUEUED and call.agent is None
    tracker.feed(dial("DialEnd", CALLER, member, DialStatus="NOANSWER"), now=16)  # the same news again
    assert call.state is S.QUEUED


def test_relinked_leg_moves_to_the_surviving_call() -> None:
    tracker = CallTracker()
    other = chan("5.1", "5.1", "PJSIP/other")
    tracker.feed(ev("Newchannel", **CALLER), now=1)
    tracker.feed(ev("Newchannel", **other), now=1)
    moved = tracker.feed(ev("BridgeEnter", BridgeUniqueid="b", **{**other, "Linkedid": "1.1"}), now=2)
    assert moved is tracker.get("1.1") and "5.1" in moved.legs  # type: ignore[union-attr]
    old = tracker.get("5.1")
    assert old is not None and old.ended and old.outcome is CallOutcome.UNANSWERED
    assert tracker.by_uniqueid("5.1") is moved


def test_a_leg_seen_first_in_a_later_event_joins_its_linkedid_call() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", **CALLER), now=1)
    call = tracker.feed(ev("Newstate", ChannelStateDesc="Up", **ALICE), now=2)  # its Newchannel was missed
    assert call is tracker.get("1.1") and call is not None and "1.2" in call.legs
    assert tracker.by_uniqueid("1.2") is call
    tracker.feed(ev("Hangup", **CALLER), now=3)
    assert not call.ended  # alice's leg is still up
    tracker.feed(ev("Hangup", **ALICE), now=4)
    assert call.ended and call.ended_at == 4


def test_garbage_and_unknown_events_are_ignored() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", **CALLER), now=1)
    before = tracker.get("1.1")
    for msg in (
        AmiMessage(),
        AmiMessage.of(Response="Success"),
        ev("Hangup"),
        ev("Hangup", Uniqueid="nope"),
        ev("DialEnd", DestUniqueid="x"),
        ev("NoSuchEvent", **CALLER),
        ev("AgentConnect", HoldTime="abc", **CALLER),
        ev("Hangup", Cause="not-a-number", Uniqueid="1.1"),
        AmiMessage([("", "garbage line"), ("Event", "Newchannel")]),
        None,
        "Event: Hangup",
    ):
        tracker.feed(msg, now=2)  # type: ignore[arg-type]
    assert before is tracker.get("1.1")
    assert before is not None and before.ended and before.legs["1.1"].hangup_cause is None


def test_a_failing_change_callback_does_not_stop_tracking(caplog: pytest.LogCaptureFixture) -> None:
    tracker = CallTracker()

    def broken(call: Call, previous: CallState | None) -> None:
        raise RuntimeError("consumer bug")

    seen = Recorder(tracker)
    tracker.on_change(broken)
    with caplog.at_level(logging.ERROR, logger="cti"):
        tracker.feed(ev("Newchannel", **CALLER), now=1)
        tracker.feed(ev("Hangup", **CALLER), now=2)
    assert seen.states("1.1") == [(None, S.RINGING), (S.RINGING, S.ENDED)]
    assert sum(r.getMessage() == "tracker.callback_failed" for r in caplog.records) == 2


def test_leg_snapshot_fields() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", ChannelStateDesc="Ring", **CALLER), now=1)
    changed = tracker.feed(ev("Newstate", ChannelStateDesc="Up", **CALLER), now=2)
    assert changed is not None
    assert tracker.feed(ev("Newstate", ChannelStateDesc="Up", **CALLER), now=3) is None  # nothing new
    leg = changed.legs["1.1"]
    assert (leg.state_desc, leg.answered_at, leg.created_at) == ("Up", 2, 1)
    variables = ev("VarSet", **CALLER)
    variables.add("ChanVariable", "IVR_ACCOUNT=4711")
    tracker.feed(variables, now=4)
    assert leg.variables == {"IVR_ACCOUNT": "4711"}
    assert (changed.caller_number, changed.caller_name) == ("+8613800000001", "Li Lei")


def test_mark_rules() -> None:
    tracker = CallTracker()
    assert tracker.mark("nope", S.QUEUED) is None
    tracker.feed(ev("Newchannel", **CALLER), now=1)
    with pytest.raises(ValueError, match="cannot end"):
        tracker.mark("1.1", S.ENDED)
    call = tracker.mark("1.1", S.CONNECTED, agent="carol", now=5)
    assert call is not None and (call.state, call.agent, call.connected_at) == (S.CONNECTED, "carol", 5)
    tracker.feed(ev("Hangup", **CALLER), now=6)
    assert tracker.mark("1.1", S.QUEUED) is None  # ended calls are not revived


def test_ended_calls_leave_the_live_set_and_memory_is_bounded() -> None:
    tracker = CallTracker(recent_limit=3)
    for n in range(10):
        leg = chan(f"{n}.1", f"{n}.1", f"PJSIP/c{n}")
        tracker.feed(ev("Newchannel", **leg), now=n)
        tracker.feed(ev("Hangup", **leg), now=n + 0.5)
    assert tracker.live_calls == []
    assert [c.linkedid for c in tracker.recent_calls] == ["7.1", "8.1", "9.1"]
    assert tracker.get("0.1") is None and tracker.by_uniqueid("0.1") is None
    assert tracker.by_uniqueid("9.1") is tracker.get("9.1")
    assert len(tracker._linkedid_of) == 3
    with pytest.raises(ValueError):
        CallTracker(recent_limit=0)


def test_resync_ends_vanished_calls_and_adds_unknown_ones() -> None:
    tracker = CallTracker()
    seen = Recorder(tracker)
    queued = chan("1.1", "1.1", "PJSIP/q")
    talking = [chan("2.1", "2.1", "PJSIP/t"), chan("2.2", "2.1", "PJSIP/agent")]
    ivr = [chan("3.1", "3.1", "PJSIP/i"), chan("3.2", "3.1", "Local/x;1")]
    abandoned = chan("6.1", "6.1", "PJSIP/gone")
    tracker.feed(ev("Newchannel", **queued), now=1)
    tracker.feed(ev("QueueCallerJoin", Queue="support", **queued), now=2)
    for leg in talking + ivr:
        tracker.feed(ev("Newchannel", **leg), now=1)
    tracker.mark("2.1", S.CONNECTED, agent="alice", now=3)
    tracker.feed(ev("AGIExecStart", **ivr[0]), now=3)
    tracker.feed(ev("Newchannel", **abandoned), now=1)
    tracker.feed(ev("QueueCallerAbandon", Queue="support", HoldTime="5", **abandoned), now=6)
    snapshot = [
        ev("CoreShowChannel", Application="AGI", Duration="00:00:20", **ivr[0]),
        ev("CoreShowChannel", BridgeId="br-9", Duration="00:01:00", Application="AppDial",
           **chan("4.2", "4.1", "PJSIP/agent2")),
        ev("CoreShowChannel", BridgeId="br-9", Duration="00:01:05", Application="Dial",
           **chan("4.1", "4.1", "PJSIP/caller4", CallerIDNum="+15550004")),
        ev("CoreShowChannel", Application="Queue", ApplicationData="support,,,,120", Duration="00:00:42",
           **chan("5.1", "5.1", "PJSIP/caller5")),
        AmiMessage.of(Event="CoreShowChannel"),  # no Uniqueid: ignored
    ]  # fmt: skip
    tracker.resync(snapshot, now=100)
    outcomes = {c.linkedid: c.outcome for c in tracker.recent_calls}
    assert outcomes == {
        "1.1": CallOutcome.LOST,
        "2.1": CallOutcome.ANSWERED,
        "6.1": CallOutcome.ABANDONED_IN_QUEUE,
    }
    ivr_call = tracker.get("3.1")
    assert ivr_call is not None and ivr_call.state is S.IN_IVR and not ivr_call.legs["3.2"].live
    bridged = tracker.get("4.1")
    assert bridged is not None and bridged.state is S.CONNECTED and bridged.caller_number == "+15550004"
    assert bridged.arrived_at == 35 and bridged.legs["4.2"].created_at == 40
    waiting = tracker.get("5.1")
    assert waiting is not None and (waiting.state, waiting.queue, waiting.queued_at) == (
        S.QUEUED,
        "support",
        100,
    )
    assert seen.states("4.1") == [(None, S.CONNECTED)] and seen.states("5.1") == [(None, S.QUEUED)]
    assert {c.linkedid for c in tracker.live_calls} == {"3.1", "4.1", "5.1"}
    # A second, identical resync changes nothing.
    before = list(seen.changes)
    tracker.resync(snapshot, now=101)
    assert seen.changes == before


def test_resync_connects_a_known_call_now_bridged() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", **CALLER), now=1)
    tracker.feed(ev("Newchannel", **ALICE), now=1)
    tracker.mark("1.1", S.OFFERED, agent="alice", now=2)
    tracker.resync(
        [ev("CoreShowChannel", BridgeId="b", **CALLER), ev("CoreShowChannel", BridgeId="b", **ALICE)], now=9
    )
    call = tracker.get("1.1")
    assert call is not None and (call.state, call.connected_at) == (S.CONNECTED, 9)
