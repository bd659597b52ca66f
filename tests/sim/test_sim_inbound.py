"""The product's entry point: ``bankcti-inbound`` calls placed with ``place_call``.

The FastAGI side is a scripted server; calls use ``PJSIP/trunk-…`` channels
and the service dials agent phones with ``EXEC Dial``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sim_harness import AgiScriptConn, AmiTestClient, ScriptedAgi

from cti.ami.message import AmiMessage
from cti.simulator import (
    AgentPhone,
    CallerScript,
    CallGenerator,
    PbxSimulator,
    SimulatedCall,
    SimulatorConfig,
)

SPEED = 40
Handler = Callable[[AgiScriptConn], Awaitable[None]]
Maker = Callable[[Handler], Awaitable[tuple[PbxSimulator, ScriptedAgi]]]


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[PbxSimulator, ScriptedAgi]]]]:
    started: list[tuple[PbxSimulator, ScriptedAgi]] = []

    async def make(handler: Handler) -> tuple[PbxSimulator, ScriptedAgi]:
        agi = ScriptedAgi(handler)
        port = await agi.start()
        sim = PbxSimulator(SimulatorConfig(agi_port=port, speed=SPEED, channelvars=("IVR_ACCOUNT",)))
        await sim.start()
        started.append((sim, agi))
        return sim, agi

    yield make
    for sim, agi in started:
        await sim.close()
        await agi.close()


def names(events: list[AmiMessage]) -> list[str]:
    return [e.event or "" for e in events if e.event not in ("VarSet", "Newexten")]


async def test_answered_dial_bridges_caller_and_agent(
    make_sim: Maker,
) -> None:
    seen: dict[str, str] = {}

    async def handler(conn: AgiScriptConn) -> None:
        seen["answer"] = await conn.command("ANSWER")
        seen["menu"] = await conn.command("GET DATA beep 3000 1")
        seen["linkedid"] = await conn.command("GET VARIABLE CHANNEL(linkedid)")
        seen["callerid"] = await conn.command("GET VARIABLE CALLERID(num)")
        seen["moh"] = await conn.command("SET MUSIC ON default")
        seen["wait"] = await conn.command("WAIT FOR DIGIT 500")
        seen["dial"] = await conn.command('EXEC Dial "PJSIP/1001,20"')
        seen["status"] = await conn.command("GET VARIABLE DIALSTATUS")
        seen["answered"] = await conn.command("GET VARIABLE ANSWEREDTIME")

    sim, agi = await make_sim(handler)
    sim.add_phone(AgentPhone("PJSIP/1001", answer_after=0.1, talk_seconds=2))
    call = await sim.place_call(CallerScript("+8613800000001", "Li Lei", keys=["1"]))
    result = await call.wait_finished(timeout=10)

    assert seen["answer"] == "200 result=0"
    assert seen["menu"] == "200 result=1"
    assert seen["linkedid"] == f"200 result=1 ({call.linkedid})"
    assert seen["callerid"] == "200 result=1 (+8613800000001)"
    assert seen["wait"] == "200 result=0"
    assert seen["dial"] == "200 result=-1"  # Dial ends a bridged call with -1 unless option g
    assert seen["status"] == "200 result=1 (ANSWER)"
    answered = re.fullmatch(r"200 result=1 \((\d+)\)", seen["answered"])
    assert answered is not None and int(answered.group(1)) >= 2
    assert result.answered_by == "PJSIP/1001"
    assert result.dial_statuses == ["ANSWER"]
    assert result.hangup_cause == 16
    assert call.channel.startswith("PJSIP/trunk-") and call.uniqueid == call.linkedid
    assert agi.sessions[0].env["agi_type"] == "PJSIP"
    assert agi.sessions[0].env["agi_dnid"] == "95588"
    assert call.agi_commands[0] == "ANSWER" and len(call.agi_commands) == 9

    flow = names(call.events)
    for expected in (
        "Newchannel",
        "AGIExecStart",
        "DTMFEnd",
        "MusicOnHoldStart",
        "DialBegin",
        "DialState",
        "DialEnd",
        "MusicOnHoldStop",
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
        "Hangup",
    ):
        assert expected in flow
    assert (
        flow.index("DialBegin") < flow.index("DialState") < flow.index("DialEnd") < flow.index("BridgeCreate")
    )
    agent = next(e for e in call.events if e.event == "Newchannel" and e["Channel"].startswith("PJSIP/1001-"))
    assert agent["Linkedid"] == call.linkedid
    begin = next(e for e in call.events if e.event == "DialBegin")
    assert begin["DialString"] == "1001" and begin["Channel"] == call.channel
    assert [e["DialStatus"] for e in call.events if e.event == "DialEnd"] == ["ANSWER"]
    assert flow[-1] == "Hangup"


async def test_phone_that_never_answers_gives_noanswer(
    make_sim: Maker,
) -> None:
    seen: dict[str, str] = {}

    async def handler(conn: AgiScriptConn) -> None:
        await conn.command("ANSWER")
        seen["dial"] = await conn.command("EXEC Dial PJSIP/1002,3")
        seen["status"] = await conn.command("GET VARIABLE DIALSTATUS")
        seen["dialed"] = await conn.command("GET VARIABLE DIALEDTIME")
        seen["missing"] = await conn.command("EXEC Dial PJSIP/9999,3")
        seen["missing_status"] = await conn.command("GET VARIABLE DIALSTATUS")

    sim, _agi = await make_sim(handler)
    sim.add_phone(AgentPhone("PJSIP/1002", answers=False))
    call = await sim.place_call(CallerScript("+8613800000002"))
    result = await call.wait_finished(timeout=10)
    assert seen["dial"] == "200 result=0"
    assert seen["status"] == "200 result=1 (NOANSWER)"
    dialed = re.fullmatch(r"200 result=1 \((\d+)\)", seen["dialed"])
    assert dialed is not None and int(dialed.group(1)) >= 3
    assert seen["missing"] == "200 result=0"
    assert seen["missing_status"] == "200 result=1 (CHANUNAVAIL)"
    assert result.answered_by is None
    assert result.dial_statuses == ["NOANSWER", "CHANUNAVAIL"]
    ends = [e for e in call.events if e.event == "DialEnd"]
    assert [e["DialStatus"] for e in ends] == ["NOANSWER"]
    agent_hangup = next(
        e for e in call.events if e.event == "Hangup" and e["Channel"].startswith("PJSIP/1002-")
    )
    assert agent_hangup["Cause"] == "0"


async def test_caller_keys_follow_reading_commands(
    make_sim: Maker,
) -> None:
    replies: list[str] = []

    async def handler(conn: AgiScriptConn) -> None:
        await conn.command("ANSWER")
        replies.append(await conn.command('STREAM FILE welcome ""'))
        replies.append(await conn.command("GET DATA menu 2000 1"))
        replies.append(await conn.command("GET DATA account 2000 6"))
        replies.append(await conn.command("GET DATA pin 1000 4"))
        replies.append(await conn.command("WAIT FOR DIGIT 2000"))
        replies.append(await conn.command("STREAM FILE hold 0123456789*#"))

    sim, _agi = await make_sim(handler)
    script = CallerScript("+8613800000003", keys=["2", "4711#", "", "9", "5"], key_delay=0.2)
    call = await sim.place_call(script)
    await call.wait_finished(timeout=10)
    assert replies[0] == "200 result=0 endpos=11200"
    assert replies[1:4] == ["200 result=2", "200 result=4711", "200 result= (timeout)"]
    assert replies[4] == "200 result=57"
    assert re.fullmatch(r"200 result=53 endpos=\d+", replies[5])
    received = [e["Digit"] for e in call.events if e.event == "DTMFEnd"]
    assert received == ["2", "4", "7", "1", "1", "#", "9", "5"]


async def test_caller_hangup_during_bridge_reaches_the_script(
    make_sim: Maker,
) -> None:
    seen: dict[str, str] = {}

    async def handler(conn: AgiScriptConn) -> None:
        await conn.command("ANSWER")
        seen["dial"] = await conn.command("EXEC Dial Local/1001@agents,20")
        seen["after"] = await conn.command('STREAM FILE bye ""')
        seen["var"] = await conn.command("GET VARIABLE DIALSTATUS")
        seen["hangup_line"] = str(conn.hangup_seen)

    sim, _agi = await make_sim(handler)
    sim.add_phone(AgentPhone("Local/1001@agents", answer_after=0.2))
    call = await sim.place_call(CallerScript("+8613800000004", hangup_after_answer=1))
    result = await call.wait_finished(timeout=10)
    assert seen["dial"] == "200 result=-1"
    assert seen["after"] == "511 Command Not Permitted on a dead channel or intercept routine"
    assert seen["var"] == "200 result=1 (ANSWER)"
    assert seen["hangup_line"] == "True"
    assert result.answered_by == "Local/1001@agents"
    trunk = [e.event for e in call.events if e.get("Channel") == call.channel]
    assert "HangupRequest" in trunk and trunk[-1] == "Hangup"
    agent_legs = {e["Channel"] for e in call.events if e.event == "Newchannel"} - {call.channel}
    assert len(agent_legs) == 2 and all(leg.startswith("Local/1001@agents-") for leg in agent_legs)


async def test_agi_service_down_hangs_up_the_call() -> None:
    sim = PbxSimulator(SimulatorConfig(agi_port=1, speed=SPEED))
    await sim.start()
    try:
        call = await sim.place_call(CallerScript(""))
        result = await call.wait_finished(timeout=5)
        agistatus = [e["Value"] for e in call.events if e.event == "VarSet" and e["Variable"] == "AGISTATUS"]
        assert agistatus == ["FAILURE"]
        assert result.dial_statuses == [] and result.hangup_cause == 16
        assert sim.channels() == []
    finally:
        await sim.close()


async def test_ami_sees_inbound_call_and_can_hang_it_up(
    make_sim: Maker,
) -> None:
    async def handler(conn: AgiScriptConn) -> None:
        await conn.command("ANSWER")
        await conn.command("WAIT FOR DIGIT -1")
        await conn.command("VERBOSE done 1")

    sim, agi = await make_sim(handler)
    client = await AmiTestClient.connect(sim.ami_port)
    client.send(("Action", "Login"), ("Username", "bankcti"), ("Secret", "bankcti-secret"))
    await client.wait_for(lambda m: m.event == "FullyBooted")
    call = await sim.place_call(CallerScript("anonymous"))
    start = await client.wait_for(lambda m: m.event == "AGIExecStart" and m["Command"] == "WAIT FOR DIGIT -1")
    assert start["CallerIDNum"] == "anonymous"
    client.send(("Action", "Hangup"), ("ActionID", "h1"), ("Channel", call.channel))
    await client.wait_for(lambda m: m.get("ActionID") == "h1")
    result = await call.wait_finished(timeout=5)
    assert result.hangup_cause == 16
    assert agi.sessions[0].replies[1] == "200 result=-1"
    assert agi.sessions[0].hangup_seen
    await client.close()


async def test_call_generator_places_calls_at_a_steady_rate(make_sim: Maker) -> None:
    async def handler(conn: AgiScriptConn) -> None:
        await conn.command("ANSWER")

    sim, agi = await make_sim(handler)
    calls: list[SimulatedCall] = []
    enough = asyncio.Event()

    def placed(call: SimulatedCall) -> None:
        calls.append(call)
        if len(calls) >= 5:
            enough.set()

    generator = CallGenerator(sim, lambda n: CallerScript(f"+861380000{n:04d}"), 0.02, on_call=placed)
    generator.start()
    async with asyncio.timeout(5):
        await enough.wait()
    await generator.stop()
    assert not generator.running and generator.placed == len(calls) >= 5
    results = [await call.wait_finished(timeout=5) for call in calls]
    assert len({result.linkedid for result in results}) == len(calls)
    assert [call.agi_commands for call in calls] == [["ANSWER"]] * len(calls)
    assert {s.env["agi_callerid"] for s in agi.sessions} == {f"+861380000{n:04d}" for n in range(len(calls))}


async def test_dial_options_music_and_go_on(make_sim: Maker) -> None:
    seen: list[str] = []

    async def handler(conn: AgiScriptConn) -> None:
        seen.append(await conn.command('EXEC Dial "PJSIP/1001&PJSIP/1003,20,gm(jazz)"'))
        seen.append(await conn.command("GET VARIABLE DIALSTATUS"))

    sim, _agi = await make_sim(handler)
    sim.add_phone(AgentPhone("PJSIP/1001", answer_after=0.5, talk_seconds=1))
    sim.add_phone(AgentPhone("PJSIP/1003", answers=False))
    call = await sim.place_call(CallerScript("+8613800000005"))
    result = await call.wait_finished(timeout=10)
    assert seen == ["200 result=0", "200 result=1 (ANSWER)"]
    assert result.answered_by == "PJSIP/1001"
    moh = [(e.event, e.get("Class")) for e in call.events if e.event and e.event.startswith("MusicOnHold")]
    assert moh == [("MusicOnHoldStart", "jazz"), ("MusicOnHoldStop", None)]
    ends = {e["DestChannel"].split("-")[0]: e["DialStatus"] for e in call.events if e.event == "DialEnd"}
    assert ends == {"PJSIP/1001": "ANSWER", "PJSIP/1003": "CANCEL"}
    trunk_state = [
        e["ChannelStateDesc"] for e in call.events if e.event == "Newstate" and e["Channel"] == call.channel
    ]
    assert trunk_state == ["Up"]
