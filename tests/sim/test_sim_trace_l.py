"""Faithfulness: scenarios l/l2 (ChanSpy by AMI ``Originate Application=ChanSpy``).

The trace's call (customer ``Local/s@lab-agi`` in ``EXEC Dial`` with agent
``Local/1001@agents;1``) is placed, then the trace's three spy Originates
(``…,q`` listen, ``…,qw`` whisper, ``…,qB`` barge) with this run's agent
channel.  Each supervisor's call answers, then ``ChanSpyStart`` follows with
the trace's keys and values (``Spyer*`` = ``Local/1009@agents-…;1``,
``Spyee*`` = the agent's ``;1``; the option shows nowhere).  When the spied
agent hangs up — the trace's cleanup — every spy gets a ``ChanSpyStop`` with
the same fields.  The lab's hang-up of the spyer's ``;1``, which a spy on
Local channels never notices (no audio), is left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_harness import AgiScriptConn, AmiTestClient, ScriptedAgi, trace_messages
from trace_compare import canonical, shapes

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

TRACES = ["ami-l-chanspy-listen-whisper-barge", "ami-l2-chanspy-listen-whisper-barge"]
SPIES = ("spy-3", "spy-5", "spy-7")
SCRIPT = ["ANSWER", "EXEC Dial Local/1001@agents,60", "GET VARIABLE DIALSTATUS", 'VERBOSE "dial finished" 1']


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    async def run(conn: AgiScriptConn) -> None:
        try:
            for line in SCRIPT:
                await conn.command(line)
        except ConnectionError:
            return  # the simulator closed at the end of the test

    agi = ScriptedAgi(run)
    port = await agi.start()
    simulator = PbxSimulator(
        SimulatorConfig(ami_username="cti", ami_secret="cti-secret", agi_port=port, speed=20)
    )
    await simulator.start()
    simulator.set_global("AGENT_1001_TALK", "")  # conf-live-h-o [agents]: Answer(), Echo()
    yield simulator
    await simulator.close()
    await agi.close()


def _with(message: AmiMessage, **fields: str) -> AmiMessage:
    return AmiMessage([(k, fields.get(k, v)) for k, v in message.fields])


def _spy_events(messages: list[AmiMessage], name: str) -> list[AmiMessage]:
    return sorted((m for m in messages if m.event == name), key=lambda m: m["SpyerChannel"])


@pytest.mark.parametrize("trace", TRACES)
async def test_chanspy_start_and_stop_match_the_trace(sim: PbxSimulator, trace: str) -> None:
    requests = {m["ActionID"]: m for m in trace_messages(trace, "client-to-server")}
    real = trace_messages(trace)
    client = await AmiTestClient.connect(sim.ami_port)
    try:
        client.send_message(requests["login-1"])
        client.send_message(requests["orig-2"])
        entered = await client.wait_for(
            lambda m: m.event == "BridgeEnter" and m["Channel"].startswith("Local/1001@agents-")
        )
        agent = entered["Channel"]
        for count, action_id in enumerate(SPIES, start=1):
            option = requests[action_id]["Data"].rpartition(",")[2]
            client.send_message(_with(requests[action_id], Data=f"{agent},{option}"))
            await client.wait_count(lambda m: m.event == "ChanSpyStart", count)
        client.send(("Action", "Hangup"), ("ActionID", "agent-gone"), ("Channel", agent), ("Cause", "16"))
        await client.wait_count(lambda m: m.event == "ChanSpyStop", len(SPIES))
    finally:
        await client.close()
    for name in ("ChanSpyStart", "ChanSpyStop"):
        ours, theirs = _spy_events(client.messages, name), _spy_events(real, name)
        assert len(ours) == len(theirs) == len(SPIES)
        assert shapes(ours) == shapes(theirs)
        for mine, recorded in zip(ours, theirs, strict=True):
            assert canonical([mine]) == canonical([recorded]), name
