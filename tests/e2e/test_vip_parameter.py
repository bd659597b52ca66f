"""``analytics.vip_tiers`` decides who is a VIP: in the screen-pop and in the bank IVR's routing.

The running service (real database, FastAGI, the simulator over TCP) takes
calls from two customers, a ``gold`` one and a ``vip`` one, who each ask
for an agent (keys: English, then 0).  A VIP hears the VIP greeting and
reaches the ``priority`` queue; anyone else goes to ``general``.  With the
parameter at its default (private, vip) only the ``vip`` customer is a VIP;
after an administrator sets it to (private, gold) — through the service's
own parameter store, as the console's admin page does — the same two
callers swap places, without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from acd.events import AgentStateChanged, BusEvent, CallConnected, CallOffered, CallQueued
from bankcti.bus import InProcessBus
from bankcti.settings import load_settings
from bankcti.stack import EmbeddedStack
from crm_core.actor import Actor
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.directory import CustomerDirectory
from crm_core.db import create_engine, session_factory
from cti.simulator import AgentPhone, CallerScript

SPEED = 20.0
GOLD_PHONE = "+8613700137000"
VIP_PHONE = "+8613900139000"


async def _seed(url: str) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        await AgentDirectory(sessions).create_agent(
            "anna",
            "Anna Li",
            "pass-anna",
            extension="1001",
            device="PJSIP/1001",
            queues=["general", "priority"],
        )
        customers = CustomerDirectory(sessions)
        for name, tier, phone in (("Zhou Min", "gold", GOLD_PHONE), ("Li Na", "vip", VIP_PHONE)):
            customer_id = await customers.create_customer(name, tier=tier)
            await customers.add_phone(customer_id, phone, "CN")
    finally:
        await engine.dispose()


async def _route(
    stack: EmbeddedStack, events: AsyncIterator[BusEvent], caller: str
) -> tuple[str, bool, bool]:
    """One call asking for an agent: (queue, the pop's VIP flag, whether the VIP greeting played)."""
    assert stack.simulator is not None and stack.service is not None
    call = await stack.simulator.place_call(CallerScript(caller, keys=["2", "0"]))
    queue = None
    async with asyncio.timeout(20):
        async for event in events:
            if isinstance(event, CallQueued) and event.call_id == call.linkedid:
                queue = event.queue
            if isinstance(event, CallOffered) and event.call_id == call.linkedid:
                offered = event
            if isinstance(event, CallConnected) and event.call_id == call.linkedid:
                break  # hang up once anna talks to the caller (not while her phone rings)
    await call.hangup()
    await call.wait_finished(timeout=20)
    async with asyncio.timeout(10):  # no wrap-up: anna is free for the next call once this one ends
        async for event in events:
            if isinstance(event, AgentStateChanged) and (event.agent_login, event.state) == (
                "anna",
                "available",
            ):
                break
    assert queue is not None and offered.queue == queue and offered.customer is not None
    greeted = "vip-welcome" in [step.node for step in offered.ivr_path]
    return queue, offered.customer.vip, greeted


async def test_the_vip_tiers_parameter_drives_the_pop_and_the_ivr(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    bus = InProcessBus()
    events = bus.subscribe()
    settings = load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path,
            "acd_wrapup_seconds": 0,
            "acd_hold_poll_ms": 50,
            "ivr_ignore_business_hours": True,
        },
    )
    phone = AgentPhone(device="PJSIP/1001", answer_after=1.0)
    async with EmbeddedStack(settings, speed=SPEED, phones=[phone], bus=bus) as stack:
        assert stack.service is not None
        await stack.service.acd.set_agent_state("anna", "available")
        assert await _route(stack, events, GOLD_PHONE) == ("general", False, False)
        assert await _route(stack, events, VIP_PHONE) == ("priority", True, True)

        await stack.service.parameters.set(
            Actor.system(), "analytics.vip_tiers", ["private", "gold"], reason="gold is served as VIP"
        )
        assert await _route(stack, events, GOLD_PHONE) == ("priority", True, True)
        assert await _route(stack, events, VIP_PHONE) == ("general", False, False)
