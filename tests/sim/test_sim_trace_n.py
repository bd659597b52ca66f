"""Faithfulness: scenario n (device state of a Local agent device: idle → ring → in use → idle).

The same ``Originate Channel=Local/1001@agents Context=driver-caller`` and
``Hangup`` as ``ami-n-devicestate-extensionstatus.client-to-server.raw``
must give the same ``DeviceStateChange`` events, at the same places among the
channel events, as the real Asterisk: one ``INUSE`` when the device rings
(never ``RINGING``), two more when both halves answer, two ``NOT_INUSE``
after both halves hung up.  The simulator has no dialplan hints, so the
trace's ``ExtensionStatus`` events and hint actions are not part of it; the
``OriginateResponse`` is left out of the order because its place varies
between real traces (b2 has it between the two ``Newstate Up``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_harness import AmiTestClient, normalise, trace_messages

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

TRACE = "ami-n-devicestate-extensionstatus"
DEVICE = "Local/1001@agents"
ORDERED = {
    "Newchannel",
    "LocalBridge",
    "DialBegin",
    "Newstate",
    "DialState",
    "DialEnd",
    "SoftHangupRequest",
    "HangupRequest",
    "Hangup",
    "DeviceStateChange",
}


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(SimulatorConfig(ami_username="cti", ami_secret="cti-secret", speed=20))
    await simulator.start()
    # The lab phone of trace n answers and echoes until hung up (conf-live-h-o [agents]).
    simulator.set_global("AGENT_1001_TALK", "600")
    yield simulator
    await simulator.close()


def call_part(messages: list[AmiMessage]) -> list[AmiMessage]:
    """The events of the agent-device call, from its first Newchannel to its last DeviceStateChange."""
    start = next(i for i, m in enumerate(messages) if m.event == "Newchannel")
    end = max(
        i for i, m in enumerate(messages) if m.event == "DeviceStateChange" and m.get("Device") == DEVICE
    )
    return [m for m in messages[start : end + 1] if m.event in ORDERED]


def with_channel(message: AmiMessage, channel: str) -> AmiMessage:
    return AmiMessage([(k, channel if k == "Channel" else v) for k, v in message.fields])


async def run_n(sim: PbxSimulator) -> list[AmiMessage]:
    """Replay the trace's Login, Originate and Hangup (the hint actions need dialplan hints)."""
    requests = {m["ActionID"]: m for m in trace_messages(TRACE, "client-to-server")}
    client = await AmiTestClient.connect(sim.ami_port)
    client.send_message(requests["login-1"])
    await client.wait_for(lambda m: m.get("Message") == "Authentication accepted")
    client.send_message(requests["orig-5"])
    answered = await client.wait_for(lambda m: m.event == "OriginateResponse")
    await client.wait_count(lambda m: m.event == "DeviceStateChange", 3)
    client.send_message(with_channel(requests["hangup-7"], answered["Channel"]))
    await client.wait_count(lambda m: m.event == "DeviceStateChange" and m["State"] == "NOT_INUSE", 2)
    client.send_message(requests["logoff-17"])
    await client.wait_closed()
    await client.close()
    return client.messages


async def test_device_states_of_a_local_agent_device_match_the_trace(sim: PbxSimulator) -> None:
    ours = call_part(await run_n(sim))
    real = call_part(trace_messages(TRACE))
    assert [m.event for m in ours] == [m.event for m in real]
    assert normalise(ours, skip=set()) == normalise(real, skip=set())
