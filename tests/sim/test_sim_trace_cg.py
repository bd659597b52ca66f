"""Faithfulness: scenarios c (caller abandons while the agent rings) and g
(caller hangs up during the IVR's GET DATA).

Compared with the real traces without VarSet/Newexten/DeviceStateChange and
without ``OriginateResponse``, whose position relative to the channel events
is a race in Asterisk itself (it precedes ``LocalBridge`` in c, follows
``DialEnd`` in g and ``Newstate`` in b2); its presence is asserted apart.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sim_harness import (
    LAB_AGI_SCRIPT,
    NOISE,
    AgiScriptConn,
    AmiTestClient,
    ScriptedAgi,
    kinds,
    normalise,
    trace_bytes,
    trace_messages,
)

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

SKIP = NOISE | {"OriginateResponse"}


def config(agi_port: int) -> SimulatorConfig:
    return SimulatorConfig(
        ami_username="cti",
        ami_secret="cti-secret",
        agi_port=agi_port,
        channelvars=("IVR_CHOICE", "IVR_ACCOUNT"),
        speed=50,
        prompt_ms=1420,
    )


@pytest.fixture
async def sim_with() -> AsyncIterator[Callable[[ScriptedAgi], Awaitable[PbxSimulator]]]:
    started: list[tuple[PbxSimulator, ScriptedAgi]] = []

    async def make(agi: ScriptedAgi) -> PbxSimulator:
        port = await agi.start()
        sim = PbxSimulator(config(port))
        await sim.start()
        started.append((sim, agi))
        return sim

    yield make
    for sim, agi in started:
        await sim.close()
        await agi.close()


def requests(name: str) -> dict[str, AmiMessage]:
    return {m["ActionID"]: m for m in trace_messages(name, "client-to-server")}


def with_channel(message: AmiMessage, channel: str) -> AmiMessage:
    return AmiMessage([(k, channel if k == "Channel" else v) for k, v in message.fields])


def assert_same_as_trace(ours: list[AmiMessage], trace: str) -> None:
    real = trace_messages(trace)
    assert kinds(ours, SKIP) == kinds(real, SKIP)
    assert normalise(ours, SKIP) == normalise(real, SKIP)
    assert [m["Response"] for m in ours if m.event == "OriginateResponse"] == ["Success"]


async def test_c_caller_abandons_while_agent_rings(
    sim_with: Callable[[ScriptedAgi], Awaitable[PbxSimulator]],
) -> None:
    agi = ScriptedAgi.running(line.format(account="815") for line in LAB_AGI_SCRIPT)
    sim = await sim_with(agi)
    by_id = requests("ami-c-queue-caller-abandon")
    client = await AmiTestClient.connect(sim.ami_port)
    for action_id in ("login-1", "setvar-2", "c-originate"):
        client.send_message(by_id[action_id])
    caller_leg = (await client.wait_for(lambda m: m.event == "Newchannel"))["Channel"]
    await client.wait_for(lambda m: m.event == "AGIExecStart" and m["Command"] == "GET DATA beep 5000 1")
    client.send_message(with_channel(by_id["playdtmf-3"], caller_leg))
    await client.wait_for(lambda m: m.event == "AGIExecStart" and m["Command"] == "GET DATA beep 6000 6")
    for action_id in ("playdtmf-4", "playdtmf-5", "playdtmf-6", "playdtmf-7"):
        client.send_message(with_channel(by_id[action_id], caller_leg))
    await client.wait_for(lambda m: m.event == "DialState", within=15)
    client.send_message(with_channel(by_id["hangup-8"], caller_leg))
    await client.wait_count(lambda m: m.event == "QueueMemberStatus", 2)
    client.send_message(by_id["setvar-9"])
    client.send_message(by_id["logoff-10"])
    await client.wait_closed()
    assert_same_as_trace(client.messages, "ami-c-queue-caller-abandon")
    abandon = next(m for m in client.messages if m.event == "QueueCallerAbandon")
    assert abandon["Position"] == "1" and abandon["OriginalPosition"] == "1"
    assert [m["DialStatus"] for m in client.messages if m.event == "DialEnd"][-2:] == ["CANCEL", "CANCEL"]


G_SCRIPT = [
    "ANSWER",
    'STREAM FILE hello-world ""',
    "GET DATA beep 5000 1",
    'VERBOSE "caller hung up in the IVR" 1',
    'STREAM FILE beep ""',
]


async def test_g_caller_hangs_up_during_get_data(
    sim_with: Callable[[ScriptedAgi], Awaitable[PbxSimulator]],
) -> None:
    agi = ScriptedAgi.running(G_SCRIPT)
    sim = await sim_with(agi)
    by_id = requests("ami-g-caller-hangup-during-ivr")
    client = await AmiTestClient.connect(sim.ami_port)
    client.send_message(by_id["login-1"])
    client.send_message(by_id["g-originate"])
    caller_leg = (await client.wait_for(lambda m: m.event == "Newchannel"))["Channel"]
    await client.wait_for(lambda m: m.event == "AGIExecStart" and m["Command"] == "GET DATA beep 5000 1")
    client.send_message(with_channel(by_id["hangup-2"], caller_leg))
    await client.wait_count(lambda m: m.event == "Hangup", 2)
    client.send_message(by_id["logoff-3"])
    await client.wait_closed()
    assert_same_as_trace(client.messages, "ami-g-caller-hangup-during-ivr")

    conn: AgiScriptConn = agi.sessions[0]
    assert conn.replies[2:] == [
        "200 result=-1",
        "200 result=1",
        "511 Command Not Permitted on a dead channel or intercept routine",
    ]
    real = trace_bytes("fastagi-g-caller-hangup-during-ivr-1.asterisk-to-script.raw").decode()
    ours = bytes(conn.received).decode()
    assert ours.split("\n\n", 1)[1] == real.split("\n\n", 1)[1]
    shape = re.compile(r"^(agi_\w+): ", re.M)
    assert shape.findall(ours) == shape.findall(real)
