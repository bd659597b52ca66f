"""A bankcti restart during a connected call records the truth, over real sockets on the simulated Asterisk.

The PBX simulator keeps running while the bankcti service of the stack is
shut down (as on SIGTERM: ``Service.close``) and a new one is started on
the same database, data directory and PBX, as after a restart.  The call
stays up at the PBX meanwhile (its ``EXEC Dial`` does not notice the
FastAGI socket).  Two endings:

* the caller hangs up after the restart: the new bankcti adopted the call,
  and its row ends at the PBX's hang-up with the true talk time;
* the caller hangs up while bankcti is down: the row says the call ended
  unobserved, between the moment bankcti stopped observing it and the
  moment it found it gone; no end time, no talk time is made up.

Either way the shutdown wrote no end and the ACD no ``completed`` event; an
adopted call's ``completed`` comes at the PBX's end, with the true talk time.
A caller still waiting in the queue when bankcti stops gets no ``abandoned``
event: the caller did not leave, bankcti did.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from test_call_control import _seed

from bankcti.app import Service
from bankcti.settings import Settings, load_settings
from bankcti.stack import EmbeddedStack
from crm_core.db import create_engine, session_factory
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import QueueEvent
from crm_core.schemas import InteractionRecord
from cti.simulator import AgentPhone, CallerScript, SimulatedCall

SPEED = 20.0


def settings_for(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path,
            "acd_wrapup_seconds": 0,
            "acd_hold_poll_ms": 50,
            "ivr_ignore_business_hours": True,
        },
    )


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = 20.0) -> Any:
    for _ in range(int(within / 0.05)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {within} s")


async def record_of(stack: EmbeddedStack, call_id: str) -> InteractionRecord | None:
    assert stack.service is not None
    return await stack.service.interactions.get(call_id)


async def queue_events(db_url: str, call_id: str, event: str) -> list[QueueEvent]:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.scalars(
                select(QueueEvent).where(QueueEvent.call_id == call_id, QueueEvent.event == event)
            )
            return list(rows)
    finally:
        await engine.dispose()


async def completed_events(db_url: str, call_id: str) -> list[datetime]:
    return [row.at for row in await queue_events(db_url, call_id, "completed")]


async def connected(stack: EmbeddedStack) -> tuple[SimulatedCall, InteractionRecord]:
    """anna (the only agent available) answers a call; returns it once the history has the answer."""
    assert stack.service is not None and stack.simulator is not None
    await stack.service.set_agent_available("anna")
    call = await stack.simulator.place_call(CallerScript(caller_id="+8613900000031", keys=["2", "0"]))

    async def answered() -> InteractionRecord | None:
        record = await record_of(stack, call.linkedid)
        return record if record is not None and record.answered_at is not None else None

    return call, await eventually(answered, "anna answers")


async def stop(stack: EmbeddedStack) -> float:
    """Shut the stack's bankcti down as on SIGTERM (the PBX goes on); returns when it had stopped."""
    assert stack.service is not None
    await stack.service.close()
    return time.time()


async def start_again(stack: EmbeddedStack, settings: Settings) -> Service:
    """A new bankcti on the same database, data directory and PBX, its AMI link up."""
    assert stack.simulator is not None
    service = Service(settings.model_copy(update={"ami_port": stack.simulator.ami_port, "http_port": 0}))
    await service.start()
    stack.service = service
    stack.simulator.config.agi_port = service.ports.fastagi
    ami = service.ami
    assert ami is not None
    for _ in range(400):
        if ami.connected:
            break
        await asyncio.sleep(0.05)
    return service


async def test_a_call_that_outlives_a_restart_is_closed_by_the_pbx_with_its_true_talk_time(
    db_url: str, tmp_path: Path
) -> None:
    await _seed(db_url)
    settings = settings_for(db_url, tmp_path)
    phones = [AgentPhone(device="PJSIP/1001", answer_after=1.0)]
    async with EmbeddedStack(settings, speed=SPEED, phones=phones) as stack:
        call, answered = await connected(stack)
        call_id = call.linkedid
        await asyncio.sleep(0.5)
        stopped = await stop(stack)
        # The shutdown recorded that bankcti stopped observing the call, and nothing else.
        down = await eventually(lambda: record_of_db(db_url, call_id), "row readable")
        assert down.ended_at is None and down.outcome is None
        assert down.last_seen_at is not None and down.last_seen_at.timestamp() <= stopped
        assert await completed_events(db_url, call_id) == []

        service = await start_again(stack, settings)
        await eventually(lambda: _true(service.call_watch.following(call_id)), "call adopted")
        assert service.acd.status("anna").state == "on_call"
        assert service.acd.status("anna").call_id == call_id
        await asyncio.sleep(0.5)
        hung_up = time.time()
        await call.hangup()
        await call.wait_finished(timeout=20)

        async def ended() -> InteractionRecord | None:
            record = await record_of(stack, call_id)
            return record if record is not None and record.outcome is not None else None

        record = await eventually(ended, "the PBX's end written")
        assert record.outcome == "answered"
        assert record.ended_at is not None and record.answered_at == answered.answered_at
        assert hung_up - 0.05 <= record.ended_at.timestamp() <= time.time()
        totals = await service.interactions.totals(call_id)
        assert totals is not None and totals[1] is not None
        talk = totals[1]
        assert abs(talk - (record.ended_at - answered.answered_at).total_seconds()) < 1e-3
        assert talk >= 1.0  # 0.5 s before the restart, the restart itself, 0.5 s after
        legs = await service.interactions.legs(call_id)
        agent = [leg for leg in legs if leg.kind == "agent"]
        assert [(leg.agent_login, leg.end_reason, leg.ended_at) for leg in agent] == [
            ("anna", "completed", record.ended_at)
        ]
        # One "completed", at the PBX's end (not at the shutdown), with the true talk time.
        completed = await eventually(
            lambda: queue_events(db_url, call_id, "completed"), "the queue's completed event"
        )
        assert len(completed) == 1 and completed[0].agent_login == "anna"
        assert completed[0].queue == answered.queue
        assert completed[0].at.timestamp() >= hung_up - 0.05
        assert completed[0].data is not None
        assert abs(float(completed[0].data["talk_seconds"]) - talk) < 0.5
        await eventually(lambda: _true(service.acd.status("anna").state == "available"), "anna free")


async def test_a_call_that_ends_while_bankcti_is_down_is_closed_as_unobserved(
    db_url: str, tmp_path: Path
) -> None:
    await _seed(db_url)
    settings = settings_for(db_url, tmp_path)
    phones = [AgentPhone(device="PJSIP/1001", answer_after=1.0)]
    async with EmbeddedStack(settings, speed=SPEED, phones=phones) as stack:
        call, _ = await connected(stack)
        call_id = call.linkedid
        stopped = await stop(stack)
        await call.hangup()
        await call.wait_finished(timeout=20)
        gone = time.time()
        service = await start_again(stack, settings)

        async def closed() -> InteractionRecord | None:
            record = await record_of(stack, call_id)
            return record if record is not None and record.outcome is not None else None

        record = await eventually(closed, "the call closed after the restart")
        assert record.outcome == "ended_unobserved" and record.ended_at is None
        assert record.last_seen_at is not None and record.last_seen_at.timestamp() <= stopped
        assert record.found_gone_at is not None and record.found_gone_at.timestamp() >= gone
        totals = await service.interactions.totals(call_id)
        assert totals is not None and totals[1:] == (None, None)  # talk not known: never guessed
        legs = await service.interactions.legs(call_id)
        agent = [leg for leg in legs if leg.kind == "agent"]
        assert [(leg.end_reason, leg.ended_at) for leg in agent] == [("ended_unobserved", None)]
        assert await completed_events(db_url, call_id) == []
        await eventually(lambda: _true(service.acd.status("anna").state == "available"), "anna reconciled")


async def test_a_caller_waiting_when_bankcti_stops_is_not_recorded_as_abandoned(
    db_url: str, tmp_path: Path
) -> None:
    """The caller did not leave; bankcti did.  The queue says ``interrupted``, never ``abandoned``.

    With its FastAGI session gone the PBX drops the caller (the sample dialplan
    hangs up after ``AGI``).  Whether the stopping bankcti still sees that end on
    its AMI link or only the next one finds the call gone is a race; either way
    the record is what was seen: ``interrupted`` at the PBX's end, or
    ``ended_unobserved`` without a time.
    """
    await _seed(db_url)
    settings = settings_for(db_url, tmp_path)
    phones = [AgentPhone(device="PJSIP/1001", answer_after=1.0)]
    async with EmbeddedStack(settings, speed=SPEED, phones=phones) as stack:
        assert stack.simulator is not None and stack.service is not None
        # anna is logged in but paused: the caller waits in the queue.
        await stack.service.acd.set_agent_state("anna", "paused", "meeting")
        call = await stack.simulator.place_call(CallerScript(caller_id="+8613900000031", keys=["2", "0"]))

        async def queued() -> InteractionRecord | None:
            record = await record_of(stack, call.linkedid)
            return record if record is not None and record.queued_at is not None else None

        await eventually(queued, "the caller queued")
        await asyncio.sleep(0.3)
        stopped = await stop(stack)
        await call.wait_finished(timeout=20)
        assert await queue_events(db_url, call.linkedid, "abandoned") == []
        interrupted = await queue_events(db_url, call.linkedid, "interrupted")
        assert len(interrupted) == 1 and interrupted[0].at.timestamp() <= stopped
        assert interrupted[0].data is not None and float(interrupted[0].data["wait_seconds"]) >= 0.3

        service = await start_again(stack, settings)

        async def closed() -> InteractionRecord | None:
            record = await record_of(stack, call.linkedid)
            return record if record is not None and record.outcome is not None else None

        record = await eventually(closed, "the call closed")
        legs = await service.interactions.legs(call.linkedid)
        queue_legs = [leg for leg in legs if leg.kind == "queue"]
        assert len(queue_legs) == 1
        if record.outcome == "interrupted":  # the PBX's end, seen before the AMI link closed
            assert record.ended_at is not None and record.ended_at.timestamp() <= time.time()
            assert (queue_legs[0].end_reason, queue_legs[0].ended_at) == ("interrupted", record.ended_at)
        else:
            assert record.outcome == "ended_unobserved" and record.ended_at is None
            assert (queue_legs[0].end_reason, queue_legs[0].ended_at) == ("ended_unobserved", None)
        assert await queue_events(db_url, call.linkedid, "abandoned") == []
        assert service.acd.status("anna").state == "paused"


async def record_of_db(db_url: str, call_id: str) -> InteractionRecord | None:
    """The row as the database has it while no bankcti runs."""
    engine = create_engine(db_url)
    try:
        return await InteractionWriter(session_factory(engine)).get(call_id)
    finally:
        await engine.dispose()


async def _true(value: bool) -> bool:
    return value
