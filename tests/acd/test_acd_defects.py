"""ACD defects the property tests found (now fixed), kept as small deterministic regression scenarios."""

from __future__ import annotations

import asyncio

import pytest
from virtual_time import (
    Sink,
    VirtualTimeLoop,
    settle,
)

from acd import Acd, AgentState, QueueConfig, QueuedCall
from acd.config import BullseyeStep, OverflowRule


def _late_entry(how: str) -> AgentState:
    """A call enters ``cards`` (widen to ``general`` after 20 s) having waited 25 s already.

    Returns the state of the only agent, who serves ``general``, 30 s after
    they became available: the call has waited 55 s, so they should be ringing.
    """

    async def scenario() -> AgentState:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        acd = Acd(Sink(), clock=loop.time)
        acd.add_queue(QueueConfig("general"))
        acd.add_queue(
            QueueConfig(
                "cards", skills=frozenset({"cards"}), overflow=(OverflowRule(20.0, "widen", "general"),)
            )
        )
        acd.register_agent("g1", "G1", "PJSIP/g1", ["general"])
        await acd.set_agent_state("g1", "paused", "break")
        start = loop.now
        if how == "move":
            await acd.enqueue(QueuedCall("x", "general"))
        loop.now += 25
        await settle()
        if how == "move":
            await acd.move_call("x", "cards")
        else:
            await acd.enqueue(QueuedCall("x", "cards", enqueued_at=start, kind="callback"))
        await acd.set_agent_state("g1", "available")
        for _ in range(30):
            loop.now += 1
            await settle()
        state = acd.status("g1").state
        await acd.close()
        return state

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(scenario())


@pytest.mark.parametrize("how", ["move", "callback"])
def test_widen_rule_already_due_applies_on_late_entry(how: str) -> None:
    # A callback reserves its agent (the customer is dialled next); a call rings them.
    expected = AgentState.RESERVED if how == "callback" else AgentState.RINGING
    assert _late_entry(how) is expected


def _simultaneous_step() -> str | None:
    """Two calls of one queue reach the bullseye step letting the only agent in at the same moment."""

    async def scenario() -> str | None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        acd = Acd(Sink(), clock=loop.time)
        steps = (BullseyeStep(0, 3), BullseyeStep(10, 1))
        acd.add_queue(QueueConfig("loans", skills=frozenset({"loans"}), bullseye=steps))
        acd.register_agent("a1", "A1", "PJSIP/a1", ["loans"], skills={"loans": 1})
        await acd.set_agent_state("a1", "available")
        await acd.enqueue(QueuedCall("standard", "loans", tier="standard"))
        await acd.enqueue(QueuedCall("private", "loans", tier="private"))
        for _ in range(12):
            loop.now += 1
            await settle()
        call_id = acd.status("a1").call_id
        await acd.close()
        return call_id

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(scenario())


def test_simultaneous_reviews_serve_the_higher_priority_first() -> None:
    assert _simultaneous_step() == "private"


def _after_no_answer() -> str | None:
    """A callback and a higher-priority call wait; the only agent fails the callback's offer."""

    async def scenario() -> str | None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        acd = Acd(Sink(), clock=loop.time)
        acd.add_queue(QueueConfig("general", auto_pause=False))
        acd.register_agent("a1", "A1", "PJSIP/a1", ["general"])
        await acd.set_agent_state("a1", "available")
        await acd.enqueue(QueuedCall("cb", "general", kind="callback", enqueued_at=loop.now - 5))
        await acd.enqueue(QueuedCall("vip", "general", tier="private"))  # a1 is reserved for cb
        await acd.offer_failed("cb")  # the customer did not answer; a1 is available again
        call_id = acd.status("a1").call_id
        await acd.close()
        return call_id

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(scenario())


def test_released_agent_takes_the_best_call_after_no_answer() -> None:
    assert _after_no_answer() == "vip"
