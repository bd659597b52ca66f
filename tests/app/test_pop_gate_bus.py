"""The pop gate hears the consoles' receipts across the bus: in-process, and between two MQTT processes.

The console gateway's :class:`ReceiptPublisher` publishes on one bus, the
call flow's :class:`PopGate` listens on another connected to the same broker
(as two bankcti processes would): the gate must learn who has a console and
release the call as soon as that console received its pop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from agent_console.receipts import ReceiptPublisher
from bankcti.bus import EventBus, InProcessBus, MqttBus
from bankcti.calls.pop_gate import PopGate

MQTT_ENV = "BANKCTI_TEST_MQTT_URL"


@contextlib.asynccontextmanager
async def two_processes(kind: str) -> AsyncIterator[tuple[EventBus, EventBus]]:
    """(the console gateway's bus, the call flow's bus)."""
    if kind == "inprocess":
        shared = InProcessBus()
        yield shared, shared
        return
    url = os.environ.get(MQTT_ENV)
    if not url:
        pytest.skip(f"{MQTT_ENV} is not set: MQTT variant not run")
    prefix = f"bankcti-popgate-{uuid.uuid4().hex[:8]}"
    gateway, flow = MqttBus(url, topic_prefix=prefix), MqttBus(url, topic_prefix=prefix)
    await gateway.start()
    await flow.start()
    try:
        yield gateway, flow
    finally:
        await gateway.close()
        await flow.close()


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    # Presence changes wake nobody (the gate only answers has_console): poll them.
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", ["inprocess", pytest.param("mqtt", marks=pytest.mark.mqtt)])
async def test_the_gate_waits_for_the_console_receipt_published_by_the_gateway(kind: str) -> None:
    async with two_processes(kind) as (gateway_bus, flow_bus):
        gate = PopGate(flow_bus, wait_ms=3000)
        await gate.start()
        receipts = ReceiptPublisher(gateway_bus)
        publishing = asyncio.create_task(receipts.run())
        try:
            receipts.presence("ann", 1)
            await until(lambda: gate.has_console("ann"))
            assert not gate.has_console("bob")

            receipt = gate.expect("call-1", ["ann", "bob"])  # bob has no console: not waited for
            started = time.monotonic()
            settling = asyncio.create_task(gate.settle(receipt))
            await asyncio.sleep(0.2)
            assert not settling.done()  # ann has not seen the pop yet
            receipts.received("ann", "call-1")
            assert await settling == []
            assert time.monotonic() - started < 2.0  # released by the receipt, not by the 3 s bound
            assert gate.counters.as_dict() == {"gated": 1, "received_in_time": 1, "late": 0, "no_console": 1}

            receipts.presence("ann", 0)
            await until(lambda: not gate.has_console("ann"))
        finally:
            publishing.cancel()
            await gate.close()
