"""Faithfulness: scenario h (CoreShowChannels and Status with 0, 1 and 3 calls; regex Hangup).

The requests of ``ami-h-coreshowchannels-status.client-to-server.raw`` are
replayed against the simulator (channel names of this run), with the lab's
calls: ``Local/s@lab-agi`` running the FastAGI script ``dial-100X``
(``ANSWER``, ``EXEC Dial Local/100X@agents,60``…), the agent's phone
echoing until hung up.  Every answer must equal the trace's — same messages,
keys in the same order and spelling (``CoreShowChannel`` without Privilege
and with ``BridgeId``; ``Status`` with ``Privilege: Call``, ``BridgeID`` and
the ActionID last; ``StatusComplete`` with ``ListItems`` and ``Items``), same
values once ids and clocks are normalised (see :mod:`trace_compare`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_harness import AgiScriptConn, AmiTestClient, ScriptedAgi, trace_messages
from trace_compare import answer_to, assert_same_answer, canonical, shapes

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

TRACE = "ami-h-coreshowchannels-status"
SCRIPT = ["ANSWER", "EXEC Dial Local/{ext}@agents,60", "GET VARIABLE DIALSTATUS", 'VERBOSE "dial finished" 1']
SCRIPT.append("WAIT FOR DIGIT 250")


@pytest.fixture
async def lab() -> AsyncIterator[tuple[PbxSimulator, ScriptedAgi]]:
    async def run(conn: AgiScriptConn) -> None:
        ext = conn.env["agi_network_script"].removeprefix("dial-")
        try:
            for line in SCRIPT:
                await conn.command(line.format(ext=ext))
        except ConnectionError:
            return  # the simulator closed at the end of the test

    agi = ScriptedAgi(run)
    port = await agi.start()
    sim = PbxSimulator(SimulatorConfig(ami_username="cti", ami_secret="cti-secret", agi_port=port, speed=20))
    await sim.start()
    for ext in ("1001", "1002", "1003"):
        sim.set_global(f"AGENT_{ext}_TALK", "")  # conf-live-h-o: Answer(), Echo()
    yield sim, agi
    await sim.close()
    await agi.close()


def _requests() -> dict[str, AmiMessage]:
    return {m["ActionID"]: m for m in trace_messages(TRACE, "client-to-server")}


def _with(message: AmiMessage, **fields: str) -> AmiMessage:
    return AmiMessage([(k, fields.get(k, v)) for k, v in message.fields])


async def _answer(client: AmiTestClient, request: AmiMessage) -> list[AmiMessage]:
    """Send *request*; its response and, for a list, every event up to the ``…Complete``."""
    action_id = request["ActionID"]
    client.send_message(request)
    first = await client.wait_for(lambda m: m.response is not None and m.get("ActionID") == action_id)
    if first.get("EventList") == "start":
        await client.wait_for(lambda m: m.get("ActionID") == action_id and m.get("EventList") == "Complete")
    return answer_to(client.messages, action_id)


async def _bridged_calls(client: AmiTestClient, count: int) -> None:
    """Wait until *count* customers are in their agent's bridge."""
    await client.wait_count(
        lambda m: m.event == "BridgeEnter" and (m.get("Channel") or "").startswith("Local/s@lab-agi-"),
        count,
    )


async def test_h_lists_and_status_match_the_trace(lab: tuple[PbxSimulator, ScriptedAgi]) -> None:
    sim, _agi = lab
    real = trace_messages(TRACE)
    req = _requests()
    client = await AmiTestClient.connect(sim.ami_port)
    try:
        await _answer(client, req["login-1"])
        assert_same_answer(
            await _answer(client, req["coreshowchannels-2"]), answer_to(real, "coreshowchannels-2")
        )

        await _answer(client, req["orig-3"])
        await _bridged_calls(client, 1)
        one_call = await _answer(client, req["coreshowchannels-4"])
        assert [m.event for m in one_call].count("CoreShowChannel") == 4
        assert_same_answer(one_call, answer_to(real, "coreshowchannels-4"))

        customer = req["status-5"]["Channel"]  # Local/s@lab-agi-00000000;2: same sequence here
        assert sim.pbx.registry.get(customer) is not None
        assert_same_answer(await _answer(client, req["status-5"]), answer_to(real, "status-5"))
        await _status_all_variables(client, req["status-6"], answer_to(real, "status-6"))
        assert_same_answer(await _answer(client, req["status-7"]), answer_to(real, "status-7"))

        await _answer(client, req["orig-8"])
        await _bridged_calls(client, 2)
        await _answer(client, req["orig-9"])
        await _bridged_calls(client, 3)
        three_calls = await _answer(client, req["coreshowchannels-10"])
        assert three_calls[-1]["ListItems"] == "12"
        assert_same_answer(three_calls, answer_to(real, "coreshowchannels-10"))
        assert_same_answer(await _answer(client, req["status-11"]), answer_to(real, "status-11"))

        live = {chan.name for chan in sim.channels()}
        await _regex_hangup(client, req["hangup-12"], answer_to(real, "hangup-12"), live)
        await client.wait_count(lambda m: m.event == "Hangup", 12)
        assert_same_answer(
            await _answer(client, req["coreshowchannels-13"]), answer_to(real, "coreshowchannels-13")
        )
        assert_same_answer(await _answer(client, req["logoff-14"]), answer_to(real, "logoff-14"))
    finally:
        await client.close()


async def _status_all_variables(client: AmiTestClient, request: AmiMessage, real: list[AmiMessage]) -> None:
    """``AllVariables``: the channel's variables as repeated ``Variable`` lines before the ActionID.

    The values are the simulator's own Dial bookkeeping, so the lines are
    compared by form and by the variables both must have, the rest key for key.
    """
    ours = await _answer(client, request)
    plain = [AmiMessage([(k, v) for k, v in m.fields if k != "Variable"]) for m in ours]
    real_plain = [AmiMessage([(k, v) for k, v in m.fields if k != "Variable"]) for m in real]
    assert_same_answer(plain, real_plain)
    status = ours[1]
    keys = status.keys()
    first = keys.index("Variable")
    assert keys[first:] == ["Variable"] * (len(keys) - first - 1) + ["ActionID"]
    variables = dict(line.split("=", 1) for line in status.getall("Variable"))
    expected = dict(line.split("=", 1) for line in real[1].getall("Variable"))
    for name in ("BRIDGEPEER", "LAB_SCRIPT"):
        assert variables[name] == expected[name], name
    # Newest first, as Asterisk's variable list: the Originate's LAB_SCRIPT comes last.
    assert status.getall("Variable")[-1] == "LAB_SCRIPT=dial-1001"


async def _regex_hangup(
    client: AmiTestClient, request: AmiMessage, real: list[AmiMessage], live: set[str]
) -> None:
    """``Channel: /^Local\\//``: one ``ChannelHungup`` per live channel matched, then the Complete.

    Which channels Asterisk still found depends on how fast the first hang-ups
    tore down their partners (the trace lists 10 of 12); the simulator lists
    all 12, each live when the action ran.
    """
    ours = await _answer(client, request)
    assert shapes(ours[:2]) == shapes(real[:2]) and shapes(ours[-1:]) == shapes(real[-1:])
    assert {shape for shape in shapes(ours[1:-1])} == {shape for shape in shapes(real[1:-1])}
    assert canonical(ours[:1]) == canonical(real[:1])
    hung_up = [m["Channel"] for m in ours[1:-1]]
    assert sorted(hung_up) == sorted(live) and ours[-1]["ListItems"] == str(len(hung_up))
