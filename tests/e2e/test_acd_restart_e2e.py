"""Agent states survive a restart, and are reconciled with what the PBX reports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from acd_kit import AgentSpec, CustomerSpec, world
from sqlalchemy import update

from crm_core.db import create_engine, session_factory
from crm_core.models.acd import AgentStateRow

AGENTS = [
    AgentSpec("ann", "1001", ("general",), talk_seconds=30.0),
    AgentSpec("bob", "1002", ("general",)),
    AgentSpec("cat", "1003", ("general",)),
]
CALLER = "+8613900000021"


async def eventually(check: Callable[[], bool], what: str, within: float = 15.0) -> None:
    for _ in range(int(within / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what}: not within {within} s")


async def test_agent_states_come_back_after_a_restart_and_ghost_calls_are_cleared(
    db_url: str, tmp_path: Path
) -> None:
    async with world(db_url, tmp_path, AGENTS, [CustomerSpec("Caller", CALLER)]) as w:
        await w.state("ann", "available")
        await w.state("bob", "paused", "lunch")
        await w.state("cat", "available")
        assert w.stack.service is not None
        await w.stack.service.acd_runtime.recorder.drained()
    # The process died while cat was on a call (no clean shutdown wrote her state back).
    engine = create_engine(db_url)
    try:
        async with session_factory(engine).begin() as session:
            await session.execute(
                update(AgentStateRow)
                .where(AgentStateRow.login == "cat")
                .values(state="on_call", call_id="gone")
            )
    finally:
        await engine.dispose()
    async with world(db_url, tmp_path, AGENTS, seeded=True) as w:
        assert w.acd.status("ann").state == "available"
        bob = w.acd.status("bob")
        assert (bob.state, bob.reason) == ("paused", "lunch")
        # Restored busy until the PBX said otherwise: it has no such call, so cat is free again.
        await eventually(lambda: w.acd.status("cat").state == "available", "cat reconciled")
        call = await w.call(CALLER, "1")
        # ann has been available the longest (her time survived the restart); bob is still at lunch.
        assert await w.recorder.offered(call.linkedid) == "ann"
        await call.hangup()


async def test_an_ami_reconnection_marks_agents_busy_on_calls_the_acd_did_not_route(
    db_url: str, tmp_path: Path
) -> None:
    async with world(db_url, tmp_path, AGENTS, [CustomerSpec("Caller", CALLER)]) as w:
        assert w.stack.service is not None and w.stack.simulator is not None
        await w.state("ann", "available")
        await w.state("bob", "available")
        ami = w.stack.service.ami
        assert ami is not None
        await eventually(lambda: ami.connected, "AMI up")
        # ann's phone places a call of its own (not through the ACD): she talks for 3 s (30 simulated).
        await ami.originate("PJSIP/1001", context="bankcti-dial", exten="+8613900000099")
        await asyncio.sleep(0.3)
        await w.stack.simulator.drop_ami_clients()
        await eventually(lambda: w.acd.status("ann").state == "on_call", "ann marked busy")
        reconciled = w.acd.status("ann").call_id
        assert reconciled
        call = await w.call(CALLER, "1")
        assert await w.recorder.offered(call.linkedid) == "bob"  # never ann while she is busy
        # Her own call ends: the PBX reports it and she is offered calls again.
        await eventually(lambda: w.acd.status("ann").state in ("wrap_up", "available"), "ann freed", 20)
        await call.hangup()
