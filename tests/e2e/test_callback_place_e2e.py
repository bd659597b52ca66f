"""Callbacks keep their rank and their time, through the real engine and a real restart (issue 12, item 7).

* A VIP who presses the callback key keeps the VIP's rank: the callback is
  served before standard callers who were waiting before the VIP.
* After a restart, a callback booked in the IVR for a later window, and one
  whose next attempt is due later, are dialled at their time, not at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from acd_kit import AgentSpec, CustomerSpec, World, world
from sqlalchemy import select

from crm_core.models.activity import CallbackRequest
from cti.simulator import AgentPhone, SimulatedCall

STANDARD_1, VIP, STANDARD_2 = "+8613900000071", "+8613900000072", "+8613900000073"
CUSTOMERS = [
    CustomerSpec("Standard One", STANDARD_1),
    CustomerSpec("Very Important", VIP, tier="vip"),
    CustomerSpec("Standard Two", STANDARD_2),
]


async def command_seen(call: SimulatedCall, prefix: str, within: float = 15.0) -> None:
    for _ in range(int(within / 0.02)):
        if any(c.startswith(prefix) for c in call.agi_commands):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no AGI command {prefix!r} within {within} s")


async def callbacks_running(w: World, within: float = 15.0) -> None:
    """The restarted service is linked to the PBX and has restored its callbacks."""
    assert w.stack.service is not None
    runtime = w.stack.service.acd_runtime
    for _ in range(int(within / 0.02)):
        if runtime._callbacks_started:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("callbacks never started")


async def test_a_vip_callback_keeps_the_vips_rank_over_standard_callers(db_url: str, tmp_path: Path) -> None:
    agent = AgentSpec("ann", "1001", ("general",), answer_after=0.5)
    async with world(db_url, tmp_path, [agent], CUSTOMERS) as w:
        await w.state("ann", "paused", "break")
        first = await w.call(STANDARD_1, "1")
        await w.waiting(first, "general")
        vip = await w.call(VIP, "1")
        await w.waiting(vip, "general")
        # The VIP's call ranks before the standard caller who was there first.
        assert [c.call_id for c in w.acd.waiting_calls("general")] == [vip.linkedid, first.linkedid]
        await command_seen(vip, "WAIT FOR DIGIT")
        vip.press("1")  # the callback key: the VIP hangs up and is called back
        requested = await w.recorder.wait_for(
            lambda e: e.type == "queue.transition" and e.event == "callback_requested"
        )
        callback_id = requested.call_id  # type: ignore[union-attr]
        await vip.wait_finished(timeout=20)
        second = await w.call(STANDARD_2, "1")
        await w.waiting(second, "general")
        waiting = w.acd.waiting_calls("general")
        assert [c.call_id for c in waiting] == [callback_id, first.linkedid, second.linkedid]
        held = waiting[0]
        assert (held.kind, held.tier) == ("callback", "vip")
        await w.state("ann", "available")
        await w.recorder.transition(callback_id, "callback_attempt", within=15)
        offered = [e.call_id for e in w.recorder.transitions() if e.event == "offered"]
        assert offered[:1] == [callback_id]
        await first.hangup()
        await second.hangup()


async def test_after_a_restart_an_ivr_callback_is_not_dialled_before_its_window(
    db_url: str, tmp_path: Path
) -> None:
    agents = [AgentSpec("ann", "1001", ("general",), answer_after=0.2)]
    opens = datetime.now(UTC) + timedelta(seconds=5)
    async with world(db_url, tmp_path, agents, CUSTOMERS) as w:
        assert w.stack.service is not None
        service = w.stack.service
        await w.state("ann", "paused", "break")
        customer_id = w.customers["Standard One"]
        # What the IVR's callback node does (ivr.handlers_bank): store the request, hand it over.
        ref = await service.selfservice.request_callback(
            customer_id,
            number_e164=STANDARD_1,
            window_start=opens,
            window_end=opens + timedelta(hours=1),
            reason="call me back later",
            call_id=None,
        )
        service.callbacks.hand_off(
            callback_id=ref.id,
            reference=ref.reference,
            customer_id=customer_id,
            number_e164=STANDARD_1,
            window_start=opens,
            window_end=opens + timedelta(hours=1),
            reason="call me back later",
            call_id=None,
        )
        await w.recorder.wait_for(lambda e: e.type == "queue.transition" and e.event == "callback_requested")
        await w.state("ann", "available")
        await service.acd_runtime.recorder.drained()
    assert datetime.now(UTC) < opens, "the test took too long to reach the restart"
    # The service restarts before the window opens, with ann free to dial at once.
    async with world(db_url, tmp_path, agents, seeded=True) as w:
        await callbacks_running(w)
        assert w.acd.status("ann").state.value == "available"
        attempt = await w.recorder.transition(f"callback-{ref.id}", "callback_attempt", within=20)
        assert attempt.at >= opens.timestamp(), f"dialled {opens.timestamp() - attempt.at:.1f} s early"
        await w.recorder.transition(f"callback-{ref.id}", "callback_completed", within=20)


async def test_after_a_restart_a_callback_waits_for_its_next_attempt(db_url: str, tmp_path: Path) -> None:
    queues = """
[queues.general]
wrapup_seconds = 0
callback_retries = 3
callback_retry_seconds = 6
ring_timeout = 6
"""
    agents = [AgentSpec("ann", "1001", ("general",), answer_after=0.2)]
    async with world(db_url, tmp_path, agents, CUSTOMERS, queues=queues) as w:
        assert w.stack.simulator is not None and w.stack.service is not None
        # The customer's phone rings out (60 simulated seconds): the first attempt fails.
        w.stack.simulator.add_phone(AgentPhone(f"Local/{STANDARD_2}@pstn", answers=False))
        await w.state("ann", "paused", "break")
        call = await w.call(STANDARD_2, "1")
        await w.waiting(call, "general")
        await command_seen(call, "WAIT FOR DIGIT")
        call.press("1")
        requested = await w.recorder.wait_for(
            lambda e: e.type == "queue.transition" and e.event == "callback_requested"
        )
        callback_id = requested.call_id  # type: ignore[union-attr]
        await w.state("ann", "available")
        await w.recorder.transition(callback_id, "callback_attempt", within=15)
        sessions = w.stack.service.sessions
        next_attempt: datetime | None = None
        for _ in range(1500):
            async with sessions() as session:
                query = select(CallbackRequest).where(CallbackRequest.call_id == call.linkedid)
                row = await session.scalar(query)
            if row is not None and row.next_attempt_at is not None and row.status == "pending":
                next_attempt = row.next_attempt_at
                break
            await asyncio.sleep(0.02)
        assert next_attempt is not None, "the failed attempt was not recorded"
        await w.stack.service.acd_runtime.recorder.drained()
    due = (next_attempt if next_attempt.tzinfo else next_attempt.replace(tzinfo=UTC)).timestamp()
    assert datetime.now(UTC).timestamp() < due, "the test took too long to reach the restart"
    async with world(db_url, tmp_path, agents, seeded=True, queues=queues) as w:
        assert w.stack.simulator is not None
        w.stack.simulator.add_phone(AgentPhone(f"Local/{STANDARD_2}@pstn", answer_after=0.5))
        await callbacks_running(w)
        assert w.acd.status("ann").state.value == "available"
        attempt = await w.recorder.transition(callback_id, "callback_attempt", within=20)
        assert attempt.at >= due, f"dialled {due - attempt.at:.1f} s before its next attempt"
        assert attempt.data["attempt"] == 2
        await w.recorder.transition(callback_id, "callback_completed", within=20)
