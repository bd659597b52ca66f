"""Waiting callers through the PBX simulator: announcements, maximum wait, callbacks that keep their place."""

from __future__ import annotations

import asyncio
from pathlib import Path

from acd_kit import AgentSpec, CustomerSpec, World, world
from sqlalchemy import select

from acd.estimate import announce_minutes
from crm_core.models.activity import CallbackRequest, Interaction
from cti.simulator import SimulatedCall

FIRST, SECOND, THIRD = "+8613900000011", "+8613900000012", "+8613900000013"
CUSTOMERS = [
    CustomerSpec("First Caller", FIRST),
    CustomerSpec("Second Caller", SECOND),
    CustomerSpec("Third", THIRD),
]


async def command_seen(call: SimulatedCall, prefix: str, within: float = 15.0) -> None:
    for _ in range(int(within / 0.02)):
        if any(c.startswith(prefix) for c in call.agi_commands):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no AGI command {prefix!r} within {within} s")


async def test_position_and_estimated_wait_are_announced(db_url: str, tmp_path: Path) -> None:
    async with world(db_url, tmp_path, [AgentSpec("ann", "1001", ("general",))], CUSTOMERS) as w:
        await w.state("ann", "paused", "break")
        for _ in range(20):  # 20 observed calls of 120 s: the observed handling time is used
            w.acd.handling.observe("general", 120.0)
        first = await w.call(FIRST, "1")
        await w.waiting(first, "general")
        second = await w.call(SECOND, "1")
        await command_seen(second, "STREAM FILE bankcti/queue-callback-key")
        said = [c for c in second.agi_commands if c.startswith(("STREAM FILE bankcti/queue", "SAY NUMBER"))]
        # Caller 2 of 2, no agent available: two handling times of 120 s ahead, one agent coming back.
        minutes = announce_minutes(2 * 120.0)
        assert said[:5] == [
            'STREAM FILE bankcti/queue-position ""',
            'SAY NUMBER 2 ""',
            'STREAM FILE bankcti/queue-in-line ""',
            'STREAM FILE bankcti/queue-wait ""',
            f'SAY NUMBER {minutes} ""',
        ], said
        await first.hangup()
        await second.hangup()


async def callback_key(w: World, call: SimulatedCall) -> None:
    await w.waiting(call, "general")
    await command_seen(call, "WAIT FOR DIGIT")
    call.press("1")


async def test_a_callback_keeps_the_callers_place_and_reaches_the_customer(
    db_url: str, tmp_path: Path
) -> None:
    agent = AgentSpec("ann", "1001", ("general",), answer_after=0.5, talk_seconds=2.0)
    async with world(db_url, tmp_path, [agent], CUSTOMERS) as w:
        await w.state("ann", "paused", "break")
        first = await w.call(FIRST, "1", hangup_after_answer=1.0)
        await w.waiting(first, "general")
        second = await w.call(SECOND, "1")
        await callback_key(w, second)
        await second.wait_finished(timeout=20)
        assert any(c.startswith("STREAM FILE bankcti/callback-kept") for c in second.agi_commands)
        requested = await w.recorder.wait_for(
            lambda e: e.type == "queue.transition" and e.event == "callback_requested"
        )
        callback_id = requested.call_id  # type: ignore[union-attr]
        third = await w.call(THIRD, "1", hangup_after_answer=1.0)
        await w.waiting(third, "general")
        # The callback sits exactly where the second caller was: between the first and the third.
        assert [c.call_id for c in w.acd.waiting_calls("general")] == [
            first.linkedid,
            callback_id,
            third.linkedid,
        ]
        await w.state("ann", "available")
        completed = await w.recorder.transition(callback_id, "callback_completed", within=30)
        assert completed.agent_login == "ann"
        await w.recorder.offered(third.linkedid, within=30)
        offered = [e.call_id for e in w.recorder.transitions() if e.event == "offered"]
        assert offered == [first.linkedid, callback_id, third.linkedid]
        assert w.stack.service is not None
        async with w.stack.service.sessions() as session:
            request = await session.scalar(
                select(CallbackRequest).where(CallbackRequest.call_id == second.linkedid)
            )
            assert request is not None and request.status == "done" and request.queue == "general"
            outbound = (
                await session.scalars(select(Interaction).where(Interaction.direction == "outbound"))
            ).all()
        assert [(r.outcome, r.customer_id) for r in outbound] == [
            ("callback_completed", w.customers["Second Caller"])
        ]
        await third.hangup()


async def test_a_callback_the_customer_does_not_answer_is_retried_then_failed(
    db_url: str, tmp_path: Path
) -> None:
    queues = """
[queues.general]
wrapup_seconds = 0
callback_retries = 2
callback_retry_seconds = 1
ring_timeout = 6
"""
    async with world(
        db_url, tmp_path, [AgentSpec("ann", "1001", ("general",), answer_after=0.2)], CUSTOMERS, queues=queues
    ) as w:
        assert w.stack.simulator is not None
        from cti.simulator import AgentPhone

        w.stack.simulator.add_phone(AgentPhone(f"Local/{SECOND}@pstn", answers=False))
        await w.state("ann", "paused", "break")
        call = await w.call(SECOND, "1")
        await callback_key(w, call)
        requested = await w.recorder.wait_for(
            lambda e: e.type == "queue.transition" and e.event == "callback_requested"
        )
        callback_id = requested.call_id  # type: ignore[union-attr]
        await w.state("ann", "available")
        failed = await w.recorder.transition(callback_id, "callback_failed", within=60)
        assert failed.data["attempts"] == 2 and failed.data["result"].startswith("customer-")
        attempts = [e for e in w.recorder.transitions(callback_id) if e.event == "callback_attempt"]
        assert [e.data["attempt"] for e in attempts] == [1, 2]
        assert w.acd.status("ann").state == "available"  # the agent is free again


async def test_the_maximum_wait_ends_in_a_callback_offer(db_url: str, tmp_path: Path) -> None:
    async with world(db_url, tmp_path, [AgentSpec("ann", "1001", ("short",))], CUSTOMERS) as w:
        await w.state("ann", "paused", "break")
        call = await w.call(FIRST, "4")
        joined = await w.recorder.transition(call.linkedid, "joined")
        ended = await w.recorder.transition(call.linkedid, "max_wait", within=10)
        assert 2.5 <= ended.at - joined.at <= 4.5
        await command_seen(call, "GET DATA bankcti/callback-offer")
        call.press("1")
        await call.wait_finished(timeout=20)
        requested = await w.recorder.wait_for(
            lambda e: e.type == "queue.transition" and e.event == "callback_requested"
        )
        assert requested.queue == "short"  # type: ignore[union-attr]
        assert w.stack.service is not None
        record = await w.stack.service.interactions.get(call.linkedid)
        assert record is not None and record.outcome == "callback_requested"


async def test_nobody_logged_in_offers_a_callback_at_once(db_url: str, tmp_path: Path) -> None:
    async with world(db_url, tmp_path, [AgentSpec("ann", "1001", ("general",))], CUSTOMERS) as w:
        call = await w.call(FIRST, "1")
        await command_seen(call, "GET DATA bankcti/callback-offer")
        assert any(c.startswith("STREAM FILE bankcti/no-agents") for c in call.agi_commands)
        await call.hangup()
        await call.wait_finished(timeout=20)


async def test_an_agent_freed_during_the_announcement_is_rung_without_waiting_for_its_end(
    db_url: str, tmp_path: Path
) -> None:
    async with world(db_url, tmp_path, [AgentSpec("ann", "1001", ("general",))], CUSTOMERS) as w:
        await w.state("ann", "paused", "break")
        call = await w.call(FIRST, "1")
        await command_seen(call, "STREAM FILE bankcti/queue-position")
        await w.state("ann", "available")
        await command_seen(call, "EXEC Dial")
        # The rest of the message (and its callback offer) is dropped: ann's phone rings at once.
        assert not any(c.startswith("STREAM FILE bankcti/queue-callback-key") for c in call.agi_commands)
        await call.hangup()
