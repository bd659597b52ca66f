"""Faithfulness: scenario b2 (inbound call, IVR, queue, agent answers), AMI filtered.

The same requests as ``ami-b2-inbound-call-filtered.client-to-server.raw``
must produce the same messages, in the same order, with the same keys and
the same stable values as the real Asterisk trace; the FastAGI bytes sent
to the script must have the shape of ``fastagi-b2-...asterisk-to-script.raw``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sim_harness import (
    LAB_AGI_SCRIPT,
    AmiTestClient,
    ScriptedAgi,
    kinds,
    normalise,
    trace_bytes,
    trace_messages,
)

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

TRACE = "ami-b2-inbound-call-filtered"


def lab_config(agi_port: int, speed: float = 50) -> SimulatorConfig:
    return SimulatorConfig(
        ami_username="cti",
        ami_secret="cti-secret",
        agi_port=agi_port,
        channelvars=("IVR_CHOICE", "IVR_ACCOUNT"),
        speed=speed,
        prompt_ms=1420,
    )


@pytest.fixture
async def lab() -> AsyncIterator[tuple[PbxSimulator, ScriptedAgi]]:
    agi = ScriptedAgi.running(line.format(account="4711") for line in LAB_AGI_SCRIPT)
    port = await agi.start()
    sim = PbxSimulator(lab_config(port))
    await sim.start()
    yield sim, agi
    await sim.close()
    await agi.close()


def with_channel(message: AmiMessage, channel: str) -> AmiMessage:
    return AmiMessage([(k, channel if k == "Channel" else v) for k, v in message.fields])


async def run_b2(sim: PbxSimulator) -> list[AmiMessage]:
    """Replay the b2 client requests, pacing them like the recorded client."""
    requests = trace_messages(TRACE, "client-to-server")
    by_id = {m["ActionID"]: m for m in requests}
    client = await AmiTestClient.connect(sim.ami_port)
    for action_id in ("login-1", "filter-2", "filter-3", "filter-4", "b2-inbound-call-filtered-originate"):
        client.send_message(by_id[action_id])
    first = await client.wait_for(lambda m: m.event == "Newchannel")
    caller_leg = first["Channel"]
    await client.wait_for(lambda m: m.event == "AGIExecStart" and m["Command"] == "GET DATA beep 5000 1")
    client.send_message(with_channel(by_id["playdtmf-5"], caller_leg))
    await client.wait_for(lambda m: m.event == "AGIExecStart" and m["Command"] == "GET DATA beep 6000 6")
    for action_id in ("playdtmf-6", "playdtmf-7", "playdtmf-8", "playdtmf-9", "playdtmf-10"):
        client.send_message(with_channel(by_id[action_id], caller_leg))
    await client.wait_count(lambda m: m.event == "Hangup", 4, within=15)
    client.send_message(by_id["queuestatus-11"])
    client.send_message(by_id["logoff-12"])
    await client.wait_closed()
    await client.close()
    return client.messages


async def test_b2_event_sequence_matches_trace(lab: tuple[PbxSimulator, ScriptedAgi]) -> None:
    sim, _agi = lab
    ours = await run_b2(sim)
    real = trace_messages(TRACE)
    assert kinds(ours) == kinds(real)
    assert normalise(ours) == normalise(real)


async def test_b2_agi_bytes_have_the_trace_shape(lab: tuple[PbxSimulator, ScriptedAgi]) -> None:
    sim, agi = lab
    await run_b2(sim)
    sent = bytes(agi.sessions[0].received).decode().split("\n")
    real = trace_bytes("fastagi-b2-inbound-call-filtered-1.asterisk-to-script.raw").decode().split("\n")
    assert len(sent) == len(real)
    shapes = {
        "agi_request": lambda v: re.sub(r":\d+/", ":PORT/", v),
        "agi_channel": lambda v: re.sub(r"-[0-9a-f]{8};", "-SEQ;", v),
        "agi_uniqueid": lambda v: bool(re.fullmatch(r"\d+\.\d+", v)),
        "agi_threadid": lambda v: v.isdigit(),
    }
    for ours, theirs in zip(sent, real, strict=True):
        key, sep, value = ours.partition(": ")
        real_key, _, real_value = theirs.partition(": ")
        if sep and key.startswith("agi_"):
            assert key == real_key
            shape = shapes.get(key, lambda v: v)
            assert shape(value) == shape(real_value), key
        else:
            assert ours == theirs
