"""Device states: the trace's DeviceStateChange events, live over the AMI client, re-based on reconnection."""

from __future__ import annotations

import asyncio

from ami_fake_server import FakeAmi
from ami_trace_files import TRACES
from test_ami_reconnect import ConnectionLog, make_client

from cti.ami.client import AmiClient
from cti.ami.message import AmiMessage, parse_all
from cti.devices import (
    DeviceMonitor,
    DeviceState,
    DeviceStateChange,
    device_of,
    has_channels,
    parse_device_state,
)
from cti.simulator import PbxSimulator, SimulatorConfig

TRACE_N = TRACES / "ami-n-devicestate-extensionstatus.server-to-client.raw"
AGENT = "Local/1001@agents"
WAIT = 5.0


def trace_n() -> list[AmiMessage]:
    return parse_all(TRACE_N.read_bytes(), expect_banner=True)[1]


def test_the_traces_device_state_changes_parse_into_device_states() -> None:
    changes = [change for change in map(parse_device_state, trace_n()) if change is not None]
    assert changes == [
        DeviceStateChange(AGENT, DeviceState.INUSE),  # ringing: a Local device is in use at once
        DeviceStateChange(AGENT, DeviceState.INUSE),  # answered, once per half
        DeviceStateChange(AGENT, DeviceState.INUSE),
        DeviceStateChange(AGENT, DeviceState.NOT_INUSE),  # hung up, once per half
        DeviceStateChange(AGENT, DeviceState.NOT_INUSE),
        DeviceStateChange("Custom:agent1", DeviceState.RINGING),
        DeviceStateChange("Custom:agent1", DeviceState.INUSE),
        DeviceStateChange("Custom:agent1", DeviceState.ONHOLD),
        DeviceStateChange("Custom:agent1", DeviceState.NOT_INUSE),
        DeviceStateChange("Custom:agent1", DeviceState.UNAVAILABLE),
        DeviceStateChange("Custom:agent1", DeviceState.NOT_INUSE),
    ]
    assert [c.state.in_use for c in changes] == [True] * 3 + [False] * 2 + [True] * 3 + [False] * 3


def test_other_messages_and_unknown_states() -> None:
    assert parse_device_state(AmiMessage.of(Event="ExtensionStatus", Exten="1001", Status="1")) is None
    assert parse_device_state(AmiMessage.of(Event="DeviceStateChange", State="INUSE")) is None
    odd = parse_device_state(AmiMessage.of(Event="DeviceStateChange", Device="PJSIP/7", State="WEIRD"))
    assert odd == DeviceStateChange("PJSIP/7", DeviceState.UNKNOWN) and not odd.state.in_use
    assert device_of("Local/1001@agents-00000022;1") == AGENT
    assert device_of("PJSIP/1001-0000002a") == "PJSIP/1001"


class Observer:
    """Records what a DeviceMonitor reports; awaitable."""

    def __init__(self) -> None:
        self.seen: list[DeviceStateChange | frozenset[str]] = []
        self._changed = asyncio.Condition()

    async def device_changed(self, change: DeviceStateChange) -> None:
        await self._add(change)

    async def devices_resynced(self, in_use: frozenset[str]) -> None:
        await self._add(in_use)

    async def _add(self, item: DeviceStateChange | frozenset[str]) -> None:
        async with self._changed:
            self.seen.append(item)
            self._changed.notify_all()

    async def wait(self, count: int) -> list[DeviceStateChange | frozenset[str]]:
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(self.seen) >= count)
        return self.seen


async def test_live_device_states_over_the_ami_client_and_a_resync_after_reconnecting() -> None:
    async with FakeAmi() as server:
        ami = make_client(server)
        devices = DeviceMonitor()
        observer = Observer()
        devices.subscribe(observer)
        ami.on_event(devices.feed, "DeviceStateChange")

        async def resync(connected: bool) -> None:
            if connected:
                await devices.resync(await ami.core_show_channels())

        ami.on_connection(resync)
        connections = ConnectionLog()
        ami.on_connection(connections)
        await ami.connect()
        try:
            await observer.wait(1)
            assert observer.seen == [frozenset()]  # nothing in use at the first login
            session = await server.wait_session(1)
            await session.wait_action("Filter", 2)  # VarSet, Newexten: DeviceStateChange is not filtered
            raw = TRACE_N.read_bytes()
            session.write(raw[raw.index(b"\r\n") + 2 :])  # the whole recorded scenario n after the banner
            seen = await observer.wait(1 + 8)
            # Repeats of a state (INUSE per answered half, NOT_INUSE per hung-up half) are no change.
            assert seen[1:] == [
                DeviceStateChange(AGENT, DeviceState.INUSE),
                DeviceStateChange(AGENT, DeviceState.NOT_INUSE),
                DeviceStateChange("Custom:agent1", DeviceState.RINGING),
                DeviceStateChange("Custom:agent1", DeviceState.INUSE),
                DeviceStateChange("Custom:agent1", DeviceState.ONHOLD),
                DeviceStateChange("Custom:agent1", DeviceState.NOT_INUSE),
                DeviceStateChange("Custom:agent1", DeviceState.UNAVAILABLE),
                DeviceStateChange("Custom:agent1", DeviceState.NOT_INUSE),
            ]
            session.send(AmiMessage.of(Event="DeviceStateChange", Device="PJSIP/1002", State="INUSE"))
            await observer.wait(10)
            assert devices.in_use == {"PJSIP/1002"}
            # While the link is down the call on 1002 ends and one on 1001 begins: no event says so.
            server.channels = [
                AmiMessage.of(Channel="Local/1001@agents-00000030;1", Uniqueid="9.1", Linkedid="9.1"),
                AmiMessage.of(Channel="Local/1001@agents-00000030;2", Uniqueid="9.2", Linkedid="9.1"),
            ]
            session.abort()
            await connections.wait_for(True, False, True)
            seen = await observer.wait(11)
            assert seen[10] == frozenset({AGENT})
            assert devices.in_use == {AGENT}
            assert devices.state("PJSIP/1002") is DeviceState.NOT_INUSE
            assert devices.state("Custom:agent1") is DeviceState.NOT_INUSE
        finally:
            await ami.close()


async def test_a_resync_keeps_the_states_of_devices_without_channels() -> None:
    """``Custom:agent1`` has no channels: a reconnection's channel list must not make it idle.

    Against the simulated Asterisk: ``DEVICE_STATE(Custom:agent1)=ONHOLD``, the
    AMI link drops and comes back (resync with no channels), the device is
    still on hold and its later ``NOT_INUSE`` still reaches the observers.
    """
    config = SimulatorConfig(ami_username="cti", ami_secret="cti-secret", speed=20)
    async with PbxSimulator(config) as sim:
        ami = AmiClient(
            host="127.0.0.1",
            port=sim.ami_port,
            username="cti",
            secret="cti-secret",
            ping_interval=60.0,
            action_timeout=2.0,
            reconnect_min=0.01,
            reconnect_max=0.05,
        )
        devices = DeviceMonitor()
        observer = Observer()
        devices.subscribe(observer)
        ami.on_event(devices.feed, "DeviceStateChange")

        async def resync(connected: bool) -> None:
            if connected:
                await devices.resync(await ami.core_show_channels())

        ami.on_connection(resync)
        connections = ConnectionLog()
        ami.on_connection(connections)
        await ami.connect()
        try:
            await observer.wait(1)
            await ami.action("Setvar", Variable="DEVICE_STATE(Custom:agent1)", Value="ONHOLD")
            await observer.wait(2)
            await sim.drop_ami_clients()
            await connections.wait_for(True, False, True)
            await observer.wait(3)
            assert devices.state("Custom:agent1") is DeviceState.ONHOLD
            assert devices.in_use == {"Custom:agent1"}
            await ami.action("Setvar", Variable="DEVICE_STATE(Custom:agent1)", Value="NOT_INUSE")
            seen = await observer.wait(4)
            assert seen == [
                frozenset(),
                DeviceStateChange("Custom:agent1", DeviceState.ONHOLD),
                frozenset(),  # the channel list after reconnecting: no channel, no Custom device
                DeviceStateChange("Custom:agent1", DeviceState.NOT_INUSE),
            ]
        finally:
            await ami.close()
    assert [has_channels(d) for d in (AGENT, "PJSIP/1001", "Custom:agent1", "Queue:q_pause_PJSIP/1")] == [
        True,
        True,
        False,
        False,
    ]
