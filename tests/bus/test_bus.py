"""The event bus, in-process and over a real Mosquitto broker."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from acd.events import AgentStateChanged, CallOffered
from bankcti.bus import EventBus, InProcessBus, MqttBus, create_bus

MQTT_URL = os.environ.get("BANKCTI_TEST_MQTT_URL", "")


async def _roundtrip(publisher: EventBus, subscriber: EventBus) -> None:
    sub = subscriber.subscribe()
    offered = CallOffered(call_id="1795907163.4", agent_login="agent1", queue="general")
    state = AgentStateChanged(agent_login="agent1", state="available")
    await publisher.publish(offered)
    await publisher.publish(state)
    async with asyncio.timeout(5):
        first = await anext(sub)
        second = await anext(sub)
    assert first == offered
    assert second == state


async def test_in_process_bus_delivers_in_order_to_every_subscriber() -> None:
    bus = InProcessBus()
    other = bus.subscribe()
    await _roundtrip(bus, bus)
    async with asyncio.timeout(1):
        assert (await anext(other)).type == "call.offered"


async def test_slow_subscriber_loses_oldest_not_newest() -> None:
    bus = InProcessBus(queue_size=2)
    sub = bus.subscribe()
    for n in range(5):
        await bus.publish(AgentStateChanged(agent_login=f"a{n}", state="available"))
    got = [(await anext(sub)).agent_login for _ in range(2)]  # type: ignore[union-attr]
    assert got == ["a3", "a4"]


def test_create_bus_picks_implementation() -> None:
    assert isinstance(create_bus(""), InProcessBus)
    assert isinstance(create_bus("mqtt://127.0.0.1:1883"), MqttBus)
    with pytest.raises(ValueError, match="MQTT URL"):
        MqttBus("http://nope")


@pytest.mark.mqtt
@pytest.mark.skipif(not MQTT_URL, reason="BANKCTI_TEST_MQTT_URL not set (no broker for this run)")
async def test_mqtt_bus_carries_events_between_two_processes_worth_of_clients() -> None:
    prefix = f"bankcti-test-{uuid.uuid4().hex[:8]}"
    site_a = MqttBus(MQTT_URL, topic_prefix=prefix)
    site_b = MqttBus(MQTT_URL, topic_prefix=prefix)
    await site_a.start()
    await site_b.start()
    try:
        await _roundtrip(site_a, site_b)
    finally:
        await site_a.close()
        await site_b.close()


@pytest.mark.mqtt
@pytest.mark.skipif(not MQTT_URL, reason="BANKCTI_TEST_MQTT_URL not set (no broker for this run)")
async def test_mqtt_bus_delivers_locally_once_and_remotely_once() -> None:
    prefix = f"bankcti-test-{uuid.uuid4().hex[:8]}"
    local = MqttBus(MQTT_URL, topic_prefix=prefix)
    remote = MqttBus(MQTT_URL, topic_prefix=prefix)
    await local.start()
    await remote.start()
    try:
        mine = local.subscribe()
        theirs = remote.subscribe()
        for n in range(20):
            await local.publish(AgentStateChanged(agent_login=f"a{n}", state="available"))
        async with asyncio.timeout(5):
            here = [(await anext(mine)).agent_login for _ in range(20)]  # type: ignore[union-attr]
            there = [(await anext(theirs)).agent_login for _ in range(20)]  # type: ignore[union-attr]
        expected = [f"a{n}" for n in range(20)]
        assert here == expected and there == expected
        # Our own copies coming back from the broker are not delivered twice.
        await asyncio.sleep(0.3)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await anext(mine)
    finally:
        await local.close()
        await remote.close()
