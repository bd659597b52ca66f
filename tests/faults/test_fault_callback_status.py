"""A database fault while a callback's outcome is written never makes the customer be dialled twice (item 7).

The customer answers the callback while the test's own PostgreSQL cluster is
stopped: the ``done`` cannot reach the database.  The service is then
stopped too (the cluster still down), the cluster started again, and the
service restarted.  The settlement, kept in the callback status spool on
disk, reaches the database before the restarted service looks for pending
callbacks: the customer is not dialled again, and the agent is free for the
next call.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from fault_kit import AcdEventLog, fault_settings, seed_agents, seed_customer, wait_until
from pg_cluster import PgCluster
from sqlalchemy import select

from acd.events import QueueTransition
from bankcti.bus import InProcessBus
from bankcti.settings import Settings
from bankcti.stack import EmbeddedStack
from crm_core.models.activity import CallbackRequest
from cti.simulator import AgentPhone, CallerScript, SimulatedCall

CUSTOMER = "+8613800000031"
OTHER = "+8613800000032"
SPEED = 10.0
MENU = """
description = "callback fault test: identify the caller, then queue"
entry = "identify"
agent_queue = "general"

[nodes.identify]
type = "identify"
next = "queue"

[nodes.queue]
type = "queue"
queue = "general"
"""
QUEUES = """
[queues.general]
wrapup_seconds = 0
ring_timeout = 10
callback_retries = 3
callback_retry_seconds = 2
"""
PHONES = [
    AgentPhone("PJSIP/2001", answer_after=0.5),
    # The customer answers 4 s (real) after the agent: time to stop the cluster in between.
    AgentPhone(f"Local/{CUSTOMER}@pstn", answer_after=40.0),
]


def settings_for(tmp_path: Path, db_url: str) -> Settings:
    menus = tmp_path / "callback-menus"
    menus.mkdir(exist_ok=True)
    (menus / "callback.toml").write_text(MENU, encoding="utf-8")
    queue_file = tmp_path / "callback-queues.toml"
    queue_file.write_text(QUEUES, encoding="utf-8")
    return fault_settings(
        tmp_path,
        db_url,
        ivr_menu_dir=menus,
        ivr_entry_menu="callback",
        acd_queue_file=queue_file,
        acd_hold_poll_ms=50,
    )


def transitions(log: AcdEventLog, event: str) -> list[QueueTransition]:
    return [e for e in log.events if isinstance(e, QueueTransition) and e.event == event]


async def press_when_waiting(call: SimulatedCall, digit: str, within: float = 15.0) -> None:
    for _ in range(int(within / 0.02)):
        if any(c.startswith("WAIT FOR DIGIT") for c in call.agi_commands):
            call.press(digit)
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the caller never waited on hold within {within} s")


async def test_a_callback_answered_during_an_outage_is_not_dialled_again_after_a_restart(
    pg: PgCluster, pg_db_url: str, tmp_path: Path
) -> None:
    await seed_agents(pg_db_url, ["ann"])
    await seed_customer(pg_db_url, "Li Na", CUSTOMER)
    await seed_customer(pg_db_url, "Zhao Lei", OTHER)
    settings = settings_for(tmp_path, pg_db_url)
    spool = settings.data_dir / "callback-status-spool.jsonl"

    bus = InProcessBus()
    log = AcdEventLog(bus)
    try:
        async with EmbeddedStack(settings, speed=SPEED, phones=PHONES, bus=bus) as stack:
            assert stack.simulator is not None and stack.service is not None
            service = stack.service
            await service.acd.set_agent_state("ann", "paused", "break")
            call = await stack.simulator.place_call(CallerScript(caller_id=CUSTOMER))
            await press_when_waiting(call, "1")  # the callback key
            await wait_until(
                lambda: _true(transitions(log, "callback_requested")), within=15, what="callback requested"
            )
            await call.wait_finished(timeout=15)
            await service.acd.set_agent_state("ann", "available")
            # Claimed and dialled: the agent's phone rings, then the customer's.
            await wait_until(lambda: _true(transitions(log, "callback_attempt")), within=15, what="attempt")
            await pg.stop_async("fast")
            await wait_until(
                lambda: _true(transitions(log, "callback_completed")), within=20, what="customer answered"
            )
            # The database could not take the "done": it waits on disk, it is not lost.
            await wait_until(
                lambda: _true(service.callbacks.status_writes_waiting), within=15, what="settlement spooled"
            )
        assert spool.exists()
    finally:
        await log.close()

    await pg.start_async()
    bus = InProcessBus()
    log = AcdEventLog(bus)
    try:
        async with EmbeddedStack(settings, speed=SPEED, phones=PHONES, bus=bus) as stack:
            assert stack.simulator is not None and stack.service is not None
            service = stack.service
            runtime = service.acd_runtime

            async def callbacks_started() -> bool:
                return runtime._callbacks_started and not service.callbacks.status_writes_waiting

            await wait_until(callbacks_started, within=20, what="callbacks restored after the restart")

            async def stored() -> CallbackRequest | None:
                async with service.sessions() as session:
                    query = select(CallbackRequest).where(CallbackRequest.number_e164 == CUSTOMER)
                    return await session.scalar(query)

            async def settled() -> bool:
                request = await stored()
                return request is not None and request.status == "done"

            await wait_until(settled, within=20, what="the spooled settlement in the database")
            assert transitions(log, "callback_attempt") == [], "the customer was dialled again"
            request = await stored()
            assert request is not None
            assert (request.status, request.result, request.attempts) == ("done", "answered", 1)
            assert not spool.exists()
            ann_free = lambda: _true(service.acd.status("ann").state.value == "available")  # noqa: E731
            await wait_until(ann_free, within=20, what="ann free")
            # A new caller reaches ann: nothing else (no second dial of the customer) was given to her.
            other = await stack.simulator.place_call(CallerScript(caller_id=OTHER))
            await wait_until(lambda: _true(transitions(log, "offered")), within=15, what="new call offered")
            offered = transitions(log, "offered")
            assert [(e.call_id, e.agent_login) for e in offered] == [(other.linkedid, "ann")]
            assert transitions(log, "callback_attempt") == []
            await other.hangup()
    finally:
        await log.close()


async def _true(value: object) -> bool:
    return bool(value)
