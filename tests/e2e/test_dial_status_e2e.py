"""How each Dial status reaches the agents, through the PBX simulator over TCP (issue 12, item 1).

The bug report: one caller hung up while agent6's phone rang, and within
milliseconds all six agents were "no answer" and paused — the call flow took
the ``CANCEL`` for an agent no-answer and dialled again from the dead channel.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from acd_kit import AgentSpec, CustomerSpec, World, world
from sqlalchemy import select

from acd import DEVICE_UNAVAILABLE, device_busy_call
from acd.events import AgentStateChanged, QueueTransition
from crm_core.models import QueueEvent
from cti.simulator import AgentPhone, SimulatedCall

CALLER = "+8613900000061"
CUSTOMERS = [CustomerSpec("Impatient Caller", CALLER)]
SIX = [AgentSpec(f"agent{n}", f"10{n:02d}", ("general",), answers=False) for n in range(1, 7)]


async def dial_seen(call: SimulatedCall, count: int = 1, within: float = 15.0) -> None:
    """Wait until the service has sent ``count`` ``EXEC Dial`` commands for ``call``."""
    for _ in range(int(within / 0.01)):
        if sum(c.startswith("EXEC Dial") for c in call.agi_commands) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} EXEC Dial within {within} s: {call.agi_commands}")


def states(w: World) -> dict[str, tuple[str, str | None]]:
    return {a.login: (a.state.value, a.reason) for a in w.acd.agents()}


async def test_a_caller_hanging_up_while_one_agent_rings_abandons_only_that_call(
    db_url: str, tmp_path: Path
) -> None:
    async with world(db_url, tmp_path, SIX, CUSTOMERS) as w:
        # agent6 has been available the longest: the call rings agent6 first.
        for login in ["agent6", "agent1", "agent4", "agent3", "agent5", "agent2"]:
            await w.state(login, "available")
        call = await w.call(CALLER, "1")
        assert await w.recorder.offered(call.linkedid) == "agent6"
        await dial_seen(call)
        await call.hangup()
        result = await call.wait_finished(timeout=15)
        await w.recorder.transition(call.linkedid, "abandoned")
        assert w.stack.service is not None
        await w.stack.service.acd_runtime.recorder.drained()

        # One Dial only, ended by the caller: never dialled again from the dead channel.
        assert result.dial_statuses == ["CANCEL"]
        assert sum(c.startswith("EXEC Dial") for c in call.agi_commands) == 1
        events = [(e.event, e.agent_login) for e in w.recorder.transitions(call.linkedid)]
        assert events == [
            ("joined", None),
            ("offered", "agent6"),
            ("ring_cancelled", "agent6"),
            ("abandoned", None),
        ], events
        # The same transitions are in the database: the statistics and the queue_log export read them
        # (the schema refused ring_cancelled until migration 0010).
        async with w.stack.service.sessions() as session:
            stored = (
                await session.execute(
                    select(QueueEvent.event, QueueEvent.agent_login)
                    .where(QueueEvent.call_id == call.linkedid)
                    .order_by(QueueEvent.id)
                )
            ).all()
        assert [tuple(row) for row in stored] == events
        abandoned = w.recorder.transitions(call.linkedid)[-1]
        assert abandoned.data["ringing"] == ["agent6"]
        # Nobody is paused: the floor goes on taking calls.
        assert states(w) == {f"agent{n}": ("available", None) for n in range(1, 7)}
        paused = [e for e in w.recorder.events if isinstance(e, AgentStateChanged) and e.state == "paused"]
        assert paused == []
        # Only agent6 changed state for this call: ringing, then available again.
        changes = [
            (e.agent_login, e.state)
            for e in w.recorder.events
            if isinstance(e, AgentStateChanged) and e.call_id == call.linkedid
        ]
        assert changes == [("agent6", "ringing")]
        record = await w.stack.service.interactions.get(call.linkedid)
        assert record is not None
        assert (record.outcome, record.agent_login) == ("abandoned_in_queue", "agent6")
        assert record.answered_at is None
        assert record.offered_at is not None


@pytest.mark.parametrize(
    ("phone", "status", "expected"),
    [
        pytest.param(AgentPhone("PJSIP/1001", reject_cause=17), "BUSY", ("on_call", None), id="busy"),
        pytest.param(None, "CHANUNAVAIL", ("paused", DEVICE_UNAVAILABLE), id="chanunavail"),
        pytest.param(
            AgentPhone("PJSIP/1001", reject_cause=34),
            "CONGESTION",
            ("paused", DEVICE_UNAVAILABLE),
            id="congestion",
        ),
    ],
)
async def test_a_device_that_cannot_ring_is_not_an_agent_no_answer(
    db_url: str, tmp_path: Path, phone: AgentPhone | None, status: str, expected: tuple[str, str | None]
) -> None:
    agents = [
        AgentSpec("ann", "1001", ("general",)),
        AgentSpec("bob", "1002", ("general",), answer_after=0.5),
    ]
    async with world(db_url, tmp_path, agents, CUSTOMERS) as w:
        assert w.stack.simulator is not None
        if phone is None:
            w.stack.simulator.remove_phone("PJSIP/1001")  # not registered: nothing to ring
        else:
            w.stack.add_phone(phone)
        await w.state("ann", "available")  # ann first: her device is tried first
        await w.state("bob", "available")
        call = await w.call(CALLER, "1", hangup_after_answer=1.0)
        result = await call.wait_finished(timeout=20)
        # The caller kept waiting and bob took the call.
        assert result.dial_statuses == [status, "ANSWER"]
        assert result.answered_by == "PJSIP/1002"
        failed = await w.recorder.transition(call.linkedid, "ring_failed")
        assert failed.agent_login == "ann"
        assert failed.data["dial_status"] == status
        assert not [e for e in w.recorder.transitions(call.linkedid) if e.event == "no_answer"]
        ann = w.acd.status("ann")
        assert (ann.state.value, ann.reason) == expected
        if status == "BUSY":
            # On a call the ACD did not route: never offered anything until the device is idle.
            assert ann.call_id == device_busy_call("ann")
            freed = await w.acd.device_idle("ann")
            assert freed.state.value == "available"
        else:
            # Not the no-answer pause: the agent is back as soon as the device is reachable.
            freed = await w.acd.device_idle("ann")
            assert freed.state.value == "available"


async def test_a_true_no_answer_still_pauses_the_agent(db_url: str, tmp_path: Path) -> None:
    agents = [
        AgentSpec("ann", "1001", ("general",), answers=False),
        AgentSpec("bob", "1002", ("general",), answer_after=0.5),
    ]
    async with world(db_url, tmp_path, agents, CUSTOMERS) as w:
        await w.state("ann", "available")
        await w.state("bob", "available")
        call = await w.call(CALLER, "1", hangup_after_answer=1.0)
        result = await call.wait_finished(timeout=30)
        assert result.dial_statuses == ["NOANSWER", "ANSWER"]
        no_answer = await w.recorder.transition(call.linkedid, "no_answer")
        assert no_answer.agent_login == "ann"
        ann = w.acd.status("ann")
        assert (ann.state.value, ann.reason) == ("paused", "no-answer")
        assert not any(isinstance(e, QueueTransition) and e.event == "ring_failed" for e in w.recorder.events)
