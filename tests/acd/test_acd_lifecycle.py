"""ACD agent life cycle: wrap-up, legal and illegal state changes, calls that end or vanish."""

from __future__ import annotations

import pytest
from acd_testkit import make_acd, offered_to

from acd import AgentState, CallWithdrawn, InvalidTransition, QueuedCall, UnknownAgent, UnknownQueue
from acd.events import AgentStateChanged


async def test_wrapup_then_available_automatically() -> None:
    acd, sink = make_acd(wrapup=0.05)
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    await acd.set_agent_state("a1", "available")
    await acd.enqueue(QueuedCall("c1", "general"))
    await acd.call_connected("c1")
    assert acd.status("a1").state is AgentState.ON_CALL
    waiting = await acd.enqueue(QueuedCall("c2", "general"))
    await acd.call_ended("c1")
    assert acd.status("a1").state is AgentState.WRAP_UP
    assert acd.status("a1").call_id == "c1"

    offer = await offered_to(waiting.offer)  # wrap-up over: available, then c2 offered
    assert offer.agent_login == "a1"
    await sink.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.call_id == "c2" and e.state == "ringing"
    )
    assert [s for s, _ in sink.states("a1")] == [
        "available",
        "ringing",
        "on_call",
        "wrap_up",
        "available",
        "ringing",
    ]
    await acd.close()


async def test_leaving_wrapup_early_cancels_its_timer() -> None:
    acd, sink = make_acd(wrapup=0.05)
    logins = ("a1", "a2", "a3")
    for login in logins:
        acd.register_agent(login, login, f"PJSIP/{login}", ["general"])
        await acd.set_agent_state(login, "available")
    for n, login in enumerate(logins, start=1):
        await acd.enqueue(QueuedCall(f"c{n}", "general"))
        assert acd.status(login).call_id == f"c{n}"
        await acd.call_connected(f"c{n}")

    await acd.call_ended("c1")
    await acd.set_agent_state("a1", "available")  # ends wrap-up early
    assert acd.status("a1").state is AgentState.AVAILABLE
    await acd.call_ended("c2")
    await acd.set_agent_state("a2", "paused", "coffee")
    mark = len(sink.events)
    await acd.call_ended("c3")
    # a3's timer was started last, so a1's and a2's would have fired by now had they not been cancelled.
    await sink.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.agent_login == "a3" and e.state == "available",
        since=mark,
    )
    assert sink.states("a1")[-2:] == [("wrap_up", None), ("available", None)]
    assert sink.states("a2")[-2:] == [("wrap_up", None), ("paused", "coffee")]
    assert acd.status("a2").state is AgentState.PAUSED
    await acd.close()


async def test_wrapup_zero_is_available_at_once() -> None:
    acd, _ = make_acd(wrapup=0)
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    await acd.set_agent_state("a1", "available")
    await acd.enqueue(QueuedCall("c1", "general"))
    await acd.call_connected("c1")
    before = acd.status("a1").last_available_at
    await acd.call_ended("c1")
    record = acd.status("a1")
    assert record.state is AgentState.AVAILABLE and record.call_id is None
    assert record.last_available_at is not None and before is not None and record.last_available_at > before
    await acd.call_ended("c1")  # replayed: ignored


async def test_illegal_transitions_and_bad_input() -> None:
    acd, _ = make_acd()
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    for requested in ("ringing", "on_call", "wrap_up", "busy"):
        with pytest.raises(InvalidTransition):
            await acd.set_agent_state("a1", requested)
    await acd.set_agent_state("a1", "available")
    await acd.enqueue(QueuedCall("c1", "general"))
    with pytest.raises(InvalidTransition, match="ringing on call c1"):
        await acd.set_agent_state("a1", "paused", "break")
    with pytest.raises(InvalidTransition):
        await acd.set_agent_state("a1", "logged_out")
    await acd.call_connected("c1")
    with pytest.raises(InvalidTransition, match="on_call"):
        await acd.set_agent_state("a1", "available")
    assert issubclass(InvalidTransition, ValueError)

    with pytest.raises(UnknownAgent):
        acd.status("nobody")
    with pytest.raises(UnknownAgent):
        await acd.set_agent_state("nobody", "available")
    with pytest.raises(UnknownQueue):
        await acd.enqueue(QueuedCall("c9", "mortgages"))
    acd.register_agent("a2", "A2", "PJSIP/a2", ["mortgages"])  # serving a queue creates it
    assert "mortgages" in [q.name for q in acd.snapshot().queues]
    with pytest.raises(ValueError, match="already registered"):
        acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    with pytest.raises(ValueError, match="already in the ACD"):
        await acd.enqueue(QueuedCall("c1", "general"))
    # Lifecycle reports that do not fit the call are ignored, not fatal.
    await acd.offer_failed("c1")
    await acd.call_connected("c1")
    await acd.offer_failed("ghost")
    assert acd.status("a1").state is AgentState.ON_CALL


async def test_same_state_requests_are_no_ops_but_pause_reason_changes() -> None:
    acd, sink = make_acd()
    acd.register_agent("a1", "A1", "PJSIP/a1", "general")
    await acd.set_agent_state("a1", "logged_out")
    assert sink.states("a1") == []
    await acd.set_agent_state("a1", AgentState.PAUSED, "training")
    await acd.set_agent_state("a1", "paused", "training")
    await acd.set_agent_state("a1", "paused", "lunch")
    await acd.set_agent_state("a1", "available")
    await acd.set_agent_state("a1", "available")
    assert sink.states("a1") == [("paused", "training"), ("paused", "lunch"), ("available", None)]
    assert acd.status("a1").queues == frozenset({"general"})


async def test_cancel_or_end_of_connected_call_starts_wrapup() -> None:
    acd, _ = make_acd(wrapup=30)
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    await acd.set_agent_state("a1", "available")
    await acd.enqueue(QueuedCall("c1", "general"))
    await acd.call_connected("c1")
    await acd.cancel("c1")
    assert acd.status("a1").state is AgentState.WRAP_UP
    await acd.set_agent_state("a1", "available")
    assert acd.status("a1").state is AgentState.AVAILABLE

    ticket = await acd.enqueue(QueuedCall("c2", "general"))
    await acd.call_ended("c2")  # ended while ringing: same as a cancel
    assert acd.status("a1").state is AgentState.AVAILABLE
    with pytest.raises(CallWithdrawn):
        await ticket.next_offer()
    await acd.close()
