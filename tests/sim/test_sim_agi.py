"""The simulator's FastAGI client (Asterisk's res_agi side): replies and events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sim_harness import AgiScriptConn, ScriptedAgi

from cti.ami.message import AmiMessage
from cti.simulator import CallerScript, PbxSimulator, SimulatorConfig

Handler = Callable[[AgiScriptConn], Awaitable[None]]
Maker = Callable[[Handler], Awaitable[PbxSimulator]]


@pytest.fixture
async def make_sim() -> AsyncIterator[Maker]:
    started: list[tuple[PbxSimulator, ScriptedAgi]] = []

    async def make(handler: Handler) -> PbxSimulator:
        agi = ScriptedAgi(handler)
        port = await agi.start()
        sim = PbxSimulator(SimulatorConfig(agi_port=port, speed=50))
        await sim.start()
        started.append((sim, agi))
        return sim

    yield make
    for sim, agi in started:
        await sim.close()
        await agi.close()


def ends(events: list[AmiMessage]) -> list[tuple[str, str, str]]:
    return [(e["Command"], e["ResultCode"], e["Result"]) for e in events if e.event == "AGIExecEnd"]


async def test_replies_errors_and_exec_end_events(make_sim: Maker) -> None:
    replies: list[str] = []
    commands = [
        "NOSUCH COMMAND",
        "GET DATA",
        "GET VARIABLE NOT_SET_ANYWHERE",
        'SET VARIABLE __ACCOUNT "12 34"',
        "GET VARIABLE ACCOUNT",
        'GET FULL VARIABLE "${CALLERID(num)}/${EXTEN}/${ACCOUNT}"',
        "DATABASE PUT bank tier gold",
        "DATABASE GET bank tier",
        "SAY DIGITS 123 #",
        "EXEC NoSuchApp foo",
        "CHANNEL STATUS",
        "get variable CHANNEL(uniqueid)",
        "NOOP",
    ]

    async def handler(conn: AgiScriptConn) -> None:
        for command in commands:
            replies.append(await conn.command(command))

    sim = await make_sim(handler)
    call = await sim.place_call(CallerScript("+15550001", dnid="95588"))
    await call.wait_finished(timeout=5)
    assert replies[0] == "510 Invalid or unknown command"
    assert replies[1].startswith("520-Invalid command syntax.  Proper usage follows:\n")
    assert replies[1].endswith("\n520 End of proper usage.")
    assert "GET DATA <file to be streamed> [timeout] [maxdigits]" in replies[1]
    assert replies[2:8] == [
        "200 result=0",
        "200 result=1",
        "200 result=1 (12 34)",
        "200 result=1 (+15550001/95588/12 34)",
        "200 result=1",
        "200 result=1 (gold)",
    ]
    assert replies[8:11] == ["200 result=0", "200 result=-2", "200 result=4"]
    assert replies[11] == f"200 result=1 ({call.uniqueid})"
    assert replies[12] == "200 result=0"
    recorded = ends(call.events)
    assert ("NOSUCH COMMAND", "510", "Invalid or unknown command") in recorded
    assert ("GET DATA", "520", "Usage") in recorded
    # EXEC passes the application's result (-2: no such application) to agi_handle_command,
    # whose default branch reports it as "Unknown Result" 200 — as Dial's -1 in traces i1 and i3.
    assert ("EXEC NoSuchApp foo", "200", "Unknown Result") in recorded
    assert len([e for e in call.events if e.event == "AGIExecStart"]) == len(commands)
    varset = next(e for e in call.events if e.event == "VarSet" and e["Variable"] == "__ACCOUNT")
    assert varset["Value"] == "12 34"


async def test_agi_hangup_command_then_dead_channel(make_sim: Maker) -> None:
    replies: list[str] = []
    flags: list[bool] = []

    async def handler(conn: AgiScriptConn) -> None:
        replies.append(await conn.command("ANSWER"))
        replies.append(await conn.command("HANGUP"))
        replies.append(await conn.command('STREAM FILE x ""'))
        replies.append(await conn.command("GET VARIABLE CHANNEL(name)"))
        flags.append(conn.hangup_seen)

    sim = await make_sim(handler)
    call = await sim.place_call(CallerScript("100"))
    result = await call.wait_finished(timeout=5)
    assert replies[:3] == [
        "200 result=0",
        "200 result=1",
        "511 Command Not Permitted on a dead channel or intercept routine",
    ]
    assert replies[3] == f"200 result=1 ({call.channel})"
    assert flags == [True]
    trunk = [e.event for e in call.events if e.get("Channel") == call.channel and e.event != "VarSet"]
    assert trunk.count("SoftHangupRequest") == 1 and trunk[-1] == "Hangup"
    assert result.hangup_cause == 16
    agistatus = [e["Value"] for e in call.events if e.event == "VarSet" and e["Variable"] == "AGISTATUS"]
    assert agistatus == ["HANGUP"]


async def test_hangup_while_script_is_idle_sends_hangup_line(make_sim: Maker) -> None:
    got: list[bytes] = []

    async def handler(conn: AgiScriptConn) -> None:
        await conn.command("ANSWER")
        got.append(await asyncio.wait_for(conn.reader.readline(), 5))

    sim = await make_sim(handler)
    call = await sim.place_call(CallerScript("100", hangup_after=2))
    await call.wait_finished(timeout=5)
    assert got == [b"HANGUP\n"]


async def test_script_closing_continues_the_dialplan(make_sim: Maker) -> None:
    async def handler(conn: AgiScriptConn) -> None:
        await conn.command("VERBOSE bye")

    sim = await make_sim(handler)
    call = await sim.place_call(CallerScript("100"))
    await call.wait_finished(timeout=5)
    apps = [e["Application"] for e in call.events if e.event == "Newexten"]
    assert apps == ["AGI", "Hangup"]
    agistatus = [e["Value"] for e in call.events if e.event == "VarSet" and e["Variable"] == "AGISTATUS"]
    assert agistatus == ["SUCCESS"]


async def test_say_date_and_say_alpha_like_res_agi(make_sim: Maker) -> None:
    replies: list[str] = []
    commands = ['SAY DATE 1795920000 ""', "SAY DATE tomorrow #", 'SAY ALPHA LC42 ""', "SAY ALPHA"]

    async def handler(conn: AgiScriptConn) -> None:
        for command in commands:
            replies.append(await conn.command(command))

    sim = await make_sim(handler)
    call = await sim.place_call(CallerScript("+15550001", dnid="95588"))
    await call.wait_finished(timeout=5)
    assert replies[0] == "200 result=0"
    assert replies[1].startswith("520-") and "SAY DATE <date> <escape digits>" in replies[1]
    assert replies[2] == "200 result=0"
    assert replies[3].startswith("520-") and "SAY ALPHA <number> <escape digits>" in replies[3]
