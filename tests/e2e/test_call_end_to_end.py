"""One phone call end to end, over real TCP, on a real database and a real bus.

Simulated Asterisk call → IVR keys → queue → agent offered → the agent's
websocket receives the pop with the right customer *before* the phone is
answered → the simulated phone answers → the agent writes a note → the caller
hangs up → exactly one interaction row holds the IVR path, the wait, the talk
time and the note.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bankcti.bench.console_client import AgentConsoleClient
from bankcti.bus import EventBus, MqttBus
from bankcti.settings import load_settings
from bankcti.stack import EmbeddedStack
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.accounts import AccountBook
from crm_core.customers.directory import CustomerDirectory
from crm_core.db import create_engine, session_factory
from crm_core.models import Interaction
from cti.simulator import AgentPhone, CallerScript

SPEED = 20.0  # the simulator runs 20x faster than real time


async def _seed(url: str) -> int:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        await AgentDirectory(sessions).create_agent(
            "anna",
            "Anna Li",
            "s3cret-pass",
            extension="1001",
            device="PJSIP/1001",
            queues=["accounts", "general", "priority"],
        )
        customers = CustomerDirectory(sessions)
        customer_id = await customers.create_customer("Wang Fang", tier="vip")
        await customers.add_phone(customer_id, "+86 138 0013 8000", "CN")
        await AccountBook(sessions, b"e2e-pepper-0123456789").open_account(
            customer_id, type="deposit", number="6222020200112233", balance="250000.00"
        )
        return customer_id
    finally:
        await engine.dispose()


async def test_inbound_call_pops_before_answer_and_lands_in_history(
    db_url: str, bus: EventBus, tmp_path: Path
) -> None:
    customer_id = await _seed(db_url)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path,
            "acd_wrapup_seconds": 0,
            "acd_hold_poll_ms": 50,
        },
    )
    # The agent's phone rings 10 simulated seconds (0.5 s real) before answering,
    # so the pop must be on screen while it rings.
    phone = AgentPhone(device="PJSIP/1001", answer_after=10.0)
    # With MQTT, a gateway at another site must see the same call events.
    remote = MqttBus(bus.url, topic_prefix=bus.topic_prefix) if isinstance(bus, MqttBus) else None
    remote_events = remote.subscribe() if remote is not None else None
    if remote is not None:
        await remote.start()
    async with EmbeddedStack(settings, speed=SPEED, phones=[phone], bus=bus) as stack:
        assert stack.simulator is not None
        agent = AgentConsoleClient(stack.http_url)
        try:
            await agent.login("anna", "s3cret-pass")
            hello = await agent.connect()
            assert hello.data["agent"]["login"] == "anna"
            await agent.set_state("available")

            call = await stack.simulator.place_call(
                CallerScript(
                    caller_id="013800138000",
                    caller_name="WANG FANG",
                    keys=["2", "0"],
                    hangup_after_answer=40.0,
                )
            )
            pop = await agent.next_message("call.offered", timeout=15)
            offered = pop.event
            assert offered["agent_login"] == "anna"
            assert offered["queue"] == "priority"  # a VIP asking for an agent
            assert offered["customer"]["id"] == customer_id
            assert offered["customer"]["name"] == "Wang Fang"
            assert offered["customer"]["tier"] == "vip"
            accounts = offered["customer"]["accounts"]
            assert [a["masked_number"] for a in accounts] == ["**** 2233"]
            assert "6222020200112233" not in pop.data.__repr__()
            nodes = [step["node"] for step in offered["ivr_path"]]
            assert nodes[:3] == ["welcome", "choose-language", "english"]
            assert {"identify", "vip-welcome", "main-menu"} <= set(nodes)
            call_id = offered["call_id"]
            assert call_id == call.linkedid
            # Before answer: the simulated phone has not answered yet.
            assert call.answered_by is None

            connected = await agent.next_message("call.connected", timeout=15)
            assert connected.event["call_id"] == call_id
            assert connected.received_at > pop.received_at
            saved = await agent.save_wrapup(call_id, "Asked about deposit rates; sent brochure.", "resolved")
            assert saved.status_code == 200, saved.text

            result = await call.wait_finished(timeout=20)
            assert result.answered_by == "PJSIP/1001"
            ended = await agent.next_message("call.ended", timeout=15)
            assert ended.event["outcome"] == "answered"
        finally:
            await agent.close()

        service = stack.service
        assert service is not None
        record = await service.interactions.get(call_id)
    assert record is not None
    if remote is not None and remote_events is not None:
        try:
            seen: list[str] = []
            async with asyncio.timeout(10):
                async for event in remote_events:
                    if getattr(event, "call_id", None) == call_id:
                        seen.append(event.type)
                    if event.type == "call.ended":
                        break
            assert seen[:1] == ["call.queued"]
            assert {"call.offered", "call.connected", "call.ended"} <= set(seen)
        finally:
            await remote.close()
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            rows = (
                (await session.execute(select(Interaction).where(Interaction.call_id == call_id)))
                .scalars()
                .all()
            )
            total = await session.scalar(select(func.count()).select_from(Interaction))
        assert total == 1 and len(rows) == 1
        row = rows[0]
        assert row.customer_id == customer_id
        assert row.caller_e164 == "+8613800138000"
        assert row.queue == "priority"
        assert row.outcome == "answered"
        assert row.content == "Asked about deposit rates; sent brochure."
        assert row.wrapped_up_by is not None and row.wrapped_up_at is not None
        assert row.disposition == "resolved"
        nodes = [step["node"] for step in row.ivr_path]
        assert "main-menu" in nodes and "priority-queue" in nodes
        keys = [step["keys"] for step in row.ivr_path if step["node"] == "main-menu"]
        assert "0" in keys
        assert row.wait_seconds is not None and row.wait_seconds >= 0
        # 40 simulated seconds of talk at SPEED 20 is about 2 s of real time.
        assert row.talk_seconds is not None and 1.0 <= row.talk_seconds <= 10.0
        assert row.answered_at is not None and row.ended_at is not None and row.offered_at is not None
    finally:
        await engine.dispose()


async def test_caller_hanging_up_in_the_ivr_is_recorded_as_abandoned(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    settings = load_settings(environ={}, overrides={"database_url": db_url, "data_dir": tmp_path})
    async with EmbeddedStack(settings, speed=SPEED) as stack:
        assert stack.simulator is not None and stack.service is not None
        call = await stack.simulator.place_call(CallerScript(caller_id="+8613800138000", hangup_after=2.0))
        await call.wait_finished(timeout=20)
        for _ in range(100):
            record = await stack.service.interactions.get(call.linkedid)
            if record is not None and record.outcome:
                break
            await asyncio.sleep(0.05)
    assert record is not None
    assert record.outcome == "abandoned_in_ivr"
    assert record.ivr_path and record.ivr_path[0].node == "welcome"
