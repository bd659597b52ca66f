"""Faithfulness: scenario m2 (AMI Hangup with a Cause, by channel name and by regex).

The requests of ``ami-m2-hangup-with-cause.client-to-server.raw`` replayed
against the simulator must give the trace's answers and events: ``Hangup
Channel=<;1> Cause=17`` → ``Channel Hungup``, ``SoftHangupRequest`` with
``Cause: 16`` (the soft-hangup reason, never the requested cause), the
other half's ``HangupRequest`` and both ``Hangup`` events with ``Cause: 17``
/ ``User busy``; a regex Channel with ``Cause=21`` → the ``ChannelHungup``
list, then the same events with ``Call Rejected``; a regex matching nothing →
an empty list.  The trace's ``ExtensionStatus`` events come from dialplan
hints, a part of scenario n (see ``test_sim_trace_n``), and are left out here,
as is ``SuccessfulAuth`` (the lab user of h–o has no ``security`` read class).
``OriginateResponse`` is compared apart from the order: its place varies
between the two calls of the trace itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_harness import AmiTestClient, kinds, normalise, trace_messages

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

TRACE = "ami-m2-hangup-with-cause"
SKIP = {"ExtensionStatus", "VarSet", "Newexten", "SuccessfulAuth"}


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(SimulatorConfig(ami_username="cti", ami_secret="cti-secret", speed=20))
    await simulator.start()
    simulator.set_global("AGENT_1001_TALK", "")  # conf-live-h-o [agents]: Answer(), Echo()
    yield simulator
    await simulator.close()


def _with_channel(message: AmiMessage, channel: str) -> AmiMessage:
    return AmiMessage([(k, channel if k == "Channel" else v) for k, v in message.fields])


async def run_m2(sim: PbxSimulator) -> list[AmiMessage]:
    requests = {m["ActionID"]: m for m in trace_messages(TRACE, "client-to-server")}
    client = await AmiTestClient.connect(sim.ami_port)
    try:
        client.send_message(requests["login-1"])
        await client.wait_for(lambda m: m.get("Message") == "Authentication accepted")
        for originate, hangup, hung_up in (("orig-2", "hangup-3", 2), ("orig-4", "hangup-5", 4)):
            client.send_message(requests[originate])
            answered = await client.wait_for(
                lambda m, action_id=originate: m.event == "OriginateResponse" and m["ActionID"] == action_id
            )
            await client.wait_count(
                lambda m: m.event == "DeviceStateChange" and m["State"] == "INUSE", hung_up + 1
            )
            request = requests[hangup]
            if not request["Channel"].startswith("/"):
                request = _with_channel(request, answered["Channel"])  # this run's ;1
            client.send_message(request)
            await client.wait_count(
                lambda m: m.event == "DeviceStateChange" and m["State"] == "NOT_INUSE", hung_up
            )
        client.send_message(requests["hangup-6"])
        client.send_message(requests["logoff-7"])
        await client.wait_closed()
    finally:
        await client.close()
    return client.messages


async def test_hangup_with_a_cause_matches_the_trace(sim: PbxSimulator) -> None:
    ours = await run_m2(sim)
    real = trace_messages(TRACE)
    ordered = SKIP | {"OriginateResponse"}
    assert kinds(ours, ordered) == kinds(real, ordered)
    assert normalise(ours, ordered) == normalise(real, ordered)
    responses = [m for m in ours if m.event == "OriginateResponse"]
    assert normalise(responses, set()) == normalise(
        [m for m in real if m.event == "OriginateResponse"], set()
    )
    soft = [m["Cause"] for m in ours if m.event == "SoftHangupRequest"]
    assert soft == ["16"] * 4
    assert [(m["Cause"], m["Cause-txt"]) for m in ours if m.event == "Hangup"] == [
        ("17", "User busy"),
        ("17", "User busy"),
        ("21", "Call Rejected"),
        ("21", "Call Rejected"),
    ]
