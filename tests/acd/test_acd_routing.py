"""ACD routing: who gets which call, no-answer, cancel, offers that outlive their waiters."""

from __future__ import annotations

import asyncio

import pytest
from acd_testkit import Sink, make_acd, standby

from acd import Acd, AgentState, CallWithdrawn, QueuedCall
from acd.events import BusEvent, CallQueued


async def test_longest_available_agent_gets_the_call() -> None:
    acd, sink = make_acd()
    for login in ("a1", "a2", "a3"):
        acd.register_agent(login, f"Agent {login}", f"PJSIP/{login}", ["general"])
    await acd.set_agent_state("a2", "available")
    await acd.set_agent_state("a1", "available")
    await acd.set_agent_state("a3", "available")

    first = await acd.enqueue(QueuedCall("c1", "general", caller_number="+8613800138000"))
    offer = await first.next_offer()
    assert (offer.agent_login, offer.device, offer.call.call_id) == ("a2", "PJSIP/a2", "c1")
    assert acd.status("a2").state is AgentState.RINGING and acd.status("a2").call_id == "c1"
    second = await acd.enqueue(QueuedCall("c2", "general"))
    assert (await second.next_offer()).agent_login == "a1"

    queued = [e for e in sink.events if isinstance(e, CallQueued)]
    assert [(e.call_id, e.queue, e.caller_number) for e in queued] == [
        ("c1", "general", "+8613800138000"),
        ("c2", "general", None),
    ]
    # CallQueued precedes the ringing it caused.
    legacy = [e for e in sink.events if e.type != "queue.transition"]
    kinds = [(e.type, getattr(e, "state", None)) for e in legacy[-4:]]
    assert kinds == [
        ("call.queued", None),
        ("agent.state", "ringing"),
        ("call.queued", None),
        ("agent.state", "ringing"),
    ]


async def test_agent_serves_only_their_queues() -> None:
    acd, _ = make_acd(queues=("general", "cards"))
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    acd.register_agent("a2", "A2", "PJSIP/a2", ["cards", "general"])
    await acd.set_agent_state("a1", "available")
    await acd.set_agent_state("a2", "available")
    ticket = await acd.enqueue(QueuedCall("c1", "cards"))
    assert (await ticket.next_offer()).agent_login == "a2"


async def test_priority_then_fifo() -> None:
    acd, _ = make_acd()
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    await acd.set_agent_state("a1", "paused", "break")  # logged in: the queue accepts calls
    low1 = await acd.enqueue(QueuedCall("low1", "general"))
    low2 = await acd.enqueue(QueuedCall("low2", "general"))
    vip = await acd.enqueue(QueuedCall("vip", "general", priority=5))
    assert (vip.position(), low1.position(), low2.position()) == (1, 2, 3)
    snapshot = acd.snapshot()
    assert [w.call_id for w in snapshot.queues[0].waiting] == ["vip", "low1", "low2"]
    assert snapshot.queues[0].longest_wait_seconds > snapshot.queues[0].waiting[0].wait_seconds

    await acd.set_agent_state("a1", "available")
    order = []
    for _ in range(3):
        call_id = acd.status("a1").call_id
        assert call_id is not None and acd.status("a1").state is AgentState.RINGING
        order.append(call_id)
        await acd.call_connected(call_id)
        await acd.call_ended(call_id)  # wrap-up 0: available again, then offered the next call
    assert order == ["vip", "low1", "low2"]
    assert all(t.offer.done() for t in (vip, low1, low2))
    assert acd.status("a1").calls_handled == 3
    assert acd.status("a1").state is AgentState.AVAILABLE


async def test_priority_fifo_order_over_three_agents() -> None:
    acd, _ = make_acd()
    await standby(acd)
    tickets = [
        await acd.enqueue(QueuedCall("low1", "general")),
        await acd.enqueue(QueuedCall("low2", "general")),
        await acd.enqueue(QueuedCall("vip", "general", priority=5)),
    ]
    for login in ("a1", "a2", "a3"):
        acd.register_agent(login, login, f"PJSIP/{login}", ["general"])
    for login in ("a1", "a2", "a3"):
        await acd.set_agent_state(login, "available")
    offers = {t.call.call_id: (await t.next_offer()).agent_login for t in tickets}
    assert offers == {"vip": "a1", "low1": "a2", "low2": "a3"}
    assert all(t.position() is None for t in tickets)


async def test_no_answer_requeues_at_head_pauses_agent_and_offers_next() -> None:
    acd, sink = make_acd()
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    acd.register_agent("a2", "A2", "PJSIP/a2", ["general"])
    await acd.set_agent_state("a1", "available")
    first = await acd.enqueue(QueuedCall("c1", "general"))
    assert (await first.next_offer()).agent_login == "a1"
    second = await acd.enqueue(QueuedCall("c2", "general"))
    assert second.position() == 1

    await acd.offer_failed("c1")
    assert acd.status("a1").state is AgentState.PAUSED
    assert acd.status("a1").reason == "no-answer"
    assert sink.states("a1")[-1] == ("paused", "no-answer")
    assert (first.position(), second.position()) == (1, 2)
    assert not first.offer.done()  # a fresh future for the next attempt

    await acd.set_agent_state("a2", "available")
    retry = await first.next_offer()
    assert (retry.agent_login, retry.call.call_id) == ("a2", "c1")
    assert first.attempts == 2
    assert second.position() == 1

    # With an agent already available, the failed call goes straight to them.
    await acd.set_agent_state("a1", "available")
    assert acd.status("a1").state is AgentState.RINGING  # took c2
    await acd.offer_failed("c1", reason="busy")
    assert acd.status("a2").reason == "busy"
    assert first.position() == 1
    await acd.set_agent_state("a2", "available")
    assert (await first.next_offer()).agent_login == "a2"


async def test_cancel_while_ringing_frees_the_agent() -> None:
    acd, _ = make_acd()
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    acd.register_agent("a2", "A2", "PJSIP/a2", ["general"])
    await acd.set_agent_state("a1", "available")
    await acd.set_agent_state("a2", "available")
    idle_since = acd.status("a1").last_available_at
    ticket = await acd.enqueue(QueuedCall("c1", "general"))
    assert (await ticket.next_offer()).agent_login == "a1"

    await acd.cancel("c1")
    assert acd.status("a1").state is AgentState.AVAILABLE
    assert acd.status("a1").call_id is None
    assert acd.status("a1").last_available_at == idle_since  # keeps their place
    with pytest.raises(CallWithdrawn):
        await ticket.next_offer()
    await acd.cancel("c1")  # a replayed cancel is harmless

    again = await acd.enqueue(QueuedCall("c2", "general"))
    assert (await again.next_offer()).agent_login == "a1"


async def test_cancel_waiting_call_leaves_the_queue() -> None:
    acd, _ = make_acd()
    await standby(acd)
    ticket = await acd.enqueue(QueuedCall("c1", "general"))
    other = await acd.enqueue(QueuedCall("c2", "general"))
    await acd.cancel("c1")
    assert ticket.position() is None and other.position() == 1
    assert [w.call_id for w in acd.snapshot().queues[0].waiting] == ["c2"]
    with pytest.raises(CallWithdrawn):
        async with asyncio.timeout(1):
            await ticket.next_offer()


async def test_waiting_for_an_offer_can_time_out_without_losing_it() -> None:
    acd, _ = make_acd()
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    await acd.set_agent_state("a1", "paused", "break")
    ticket = await acd.enqueue(QueuedCall("c1", "general"))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await ticket.next_offer()
    ticket.offer.cancel()  # a careless waiter cancels the future itself: the offer must still arrive
    await acd.set_agent_state("a1", "available")
    async with asyncio.timeout(1):
        assert (await ticket.next_offer()).agent_login == "a1"
    assert ticket.attempts == 1


async def test_a_failing_sink_does_not_break_routing(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenSink:
        async def publish(self, event: BusEvent) -> None:
            raise ConnectionError("broker down")

    acd = Acd(BrokenSink(), ring_timeout=15, wrapup_seconds=0)
    acd.add_queue("general")
    acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
    await acd.set_agent_state("a1", "available")
    ticket = await acd.enqueue(QueuedCall("c1", "general"))
    assert (await ticket.next_offer()).agent_login == "a1"
    assert any(r.message == "acd.publish_failed" for r in caplog.records)


def test_bad_timers_are_refused() -> None:
    with pytest.raises(ValueError):
        Acd(Sink(), ring_timeout=0, wrapup_seconds=1)
    with pytest.raises(ValueError):
        Acd(Sink(), ring_timeout=5, wrapup_seconds=-1)


async def test_a_waiting_call_interrupted_by_a_stop_is_no_abandon() -> None:
    # bankcti stops under a waiting call: the ACD says so ("interrupted"), never that the caller left.
    acd, sink = make_acd()
    await standby(acd)
    ticket = await acd.enqueue(QueuedCall("c1", "general"))
    await acd.cancel("c1", reason="interrupted")
    events = [e.event for e in sink.events if e.type == "queue.transition" and e.call_id == "c1"]
    assert "abandoned" not in events and events[-1] == "interrupted"
    assert ticket.position() is None
