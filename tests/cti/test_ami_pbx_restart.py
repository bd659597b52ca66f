"""bankcti's AMI client and call tracker against the simulator: resync lists and a PBX ``core restart``.

A bridged call (customer ``Local/agent@bankcti-dial;2`` in ``Dial`` with the
agent ``Local/1001@agents;1``) is listed by ``CoreShowChannels`` (``BridgeId``)
and by ``Status`` (``BridgeID``, ``Seconds``, ``Data``): a tracker that
resynchronises from either list finds the call connected.  Then the PBX
restarts (traces o1/o2): the client logs the ``Shutdown`` event, sees the
link drop, retries through the refused connects with back-off, logs in
again and resynchronises — the call that died with the PBX ends, as
answered, and a call placed after the restart is tracked again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from test_ami_reconnect import RecordWaiter

from cti.ami.client import AmiClient
from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig
from cti.tracker import CallOutcome, CallState, CallTracker

WAIT = 10.0


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(SimulatorConfig(speed=20))
    await simulator.start()
    yield simulator
    await simulator.close()


def client_for(sim: PbxSimulator) -> AmiClient:
    return AmiClient(
        host="127.0.0.1",
        port=sim.ami_port,
        username="bankcti",
        secret="bankcti-secret",
        ping_interval=60.0,
        reconnect_min=0.05,
        reconnect_max=0.1,
    )


class Bridged:
    """Counts customers entering an agent's bridge, from the client's events; awaitable."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Condition()

    async def __call__(self, message: AmiMessage) -> None:
        if message.event == "BridgeEnter" and (message.get("Channel") or "").startswith("Local/agent@"):
            async with self._changed:
                self.count += 1
                self._changed.notify_all()

    async def wait(self, count: int) -> None:
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: self.count >= count)


async def place_bridged_call(ami: AmiClient, agent: str = "1001") -> None:
    await ami.action(
        "Originate",
        Channel="Local/agent@bankcti-dial",
        Context="driver-caller",
        Exten="s",
        Priority=1,
        CallerID='"Alice Customer" <+15551230001>',
        Variable=f"BANKCTI_TRANSFER_DEVICE=Local/{agent}@agents",
        Async="true",
    )


async def test_resync_from_coreshowchannels_or_status_finds_the_call_connected(sim: PbxSimulator) -> None:
    sim.set_global("AGENT_1001_TALK", "")  # the agent talks until hung up
    ami = client_for(sim)
    bridged = Bridged()
    ami.on_event(bridged)
    await ami.connect()
    try:
        await place_bridged_call(ami)
        await bridged.wait(1)
        listed = await ami.core_show_channels()
        statuses = await ami.action_list("Status")
    finally:
        await ami.close()
    assert {m.event for m in listed} == {"CoreShowChannel"} and {m.event for m in statuses} == {"Status"}
    for channels in (listed, statuses):
        tracker = CallTracker()
        tracker.resync(channels, now=1000.0)
        (call,) = tracker.live_calls
        assert call.state is CallState.CONNECTED
        in_bridge = [leg for leg in call.live_legs if leg.bridge_id]
        assert len(in_bridge) == 2 and in_bridge[0].bridge_id == in_bridge[1].bridge_id
        assert len(call.live_legs) == 4


async def test_pbx_restart_is_logged_retried_with_backoff_and_resynced(sim: PbxSimulator) -> None:
    sim.set_global("AGENT_1001_TALK", "")
    ami = client_for(sim)
    tracker = CallTracker()
    bridged = Bridged()
    resynced = asyncio.Event()

    async def on_event(message: AmiMessage) -> None:
        tracker.feed(message)
        await bridged(message)

    async def resync(up: bool) -> None:
        if up:
            tracker.resync(await ami.core_show_channels())
            resynced.set()

    ami.on_event(on_event)
    ami.on_connection(resync)
    await ami.connect()
    try:
        await place_bridged_call(ami)
        await bridged.wait(1)
        (call,) = tracker.live_calls
        assert call.state is CallState.CONNECTED
        resynced.clear()
        with (
            RecordWaiter("ami.pbx_shutdown") as shutdowns,
            RecordWaiter("ami.disconnected") as losses,
            RecordWaiter("ami.reconnect_failed") as refused,
            RecordWaiter("ami.reconnected") as reconnects,
        ):
            await sim.restart(down_for=0.5)
            (shutdown,) = await shutdowns.wait(1)
            await losses.wait(1)
            await reconnects.wait(1)
            async with asyncio.timeout(WAIT):
                await resynced.wait()
        assert (shutdown.shutdown, shutdown.restart) == ("Uncleanly", "True")  # type: ignore[attr-defined]
        assert shutdown.levelname == "WARNING"
        assert len(refused.records) >= 2  # connects refused while the PBX was down, retried
        assert tracker.live_calls == []
        assert call.state is CallState.ENDED and call.outcome is CallOutcome.ANSWERED
        sim.set_global("AGENT_1002_TALK", "")  # AMI-set globals died with the old process
        await place_bridged_call(ami, "1002")
        await bridged.wait(2)
        (after,) = tracker.live_calls
        assert after.state is CallState.CONNECTED and after.linkedid != call.linkedid
    finally:
        await ami.close()
