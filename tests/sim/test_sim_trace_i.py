"""Faithfulness: scenarios i1–i3 (FastAGI ``EXEC Dial`` and the media commands around it).

* i1 — ``EXEC Dial Local/1001@agents,20`` answered, the **agent** hangs up: ``200 result=-1``
  (no ``g``), DIALSTATUS ``ANSWER``, no second DialEnd; before it SET MUSIC on/off, SAY NUMBER,
  WAIT FOR DIGIT timeout, STREAM FILE stopped by a key (``result=53 endpos=…``); after the caller
  hangs up, ``200 result=-1`` + ``HANGUP``, GET VARIABLE / VERBOSE work, the rest answer ``511``.
* i2 — nobody answers within 3 s: ``200 result=0``, NOANSWER, HANGUPCAUSE ``0``.
* i3 — the caller hangs up while the agent rings: ``200 result=-1``, ``HANGUP``, CANCEL once;
  ``SET MUSIC on`` before Dial is stopped by Dial.

Each run replays the trace's AMI requests and the trace's script, and compares the AGI bytes and
the AMI events (names, order, keys, values with ids normalised) with the real Asterisk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from lab_harness import (
    LabAgi,
    LabRun,
    after_answer,
    agi_bytes_after_env,
    assert_same_events,
    real_agi_bytes,
    script_commands,
    trace_messages,
)
from lab_harness import lab_run as lab_run  # the fixture
from sim_harness import AgiScriptConn

from cti.ami.message import AmiMessage

MakeRun = Callable[[str, LabAgi], Awaitable[LabRun]]
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


def without_originate_response(messages: list[AmiMessage]) -> list[AmiMessage]:
    # Its place among the first channel events is a race in Asterisk itself (see test_sim_trace_cg).
    return [m for m in after_answer(messages) if m.event != "OriginateResponse"]


async def test_i1_dial_answered_then_media_commands_and_caller_hangup(lab_run: MakeRun) -> None:
    name = "fastagi-i1-fastagi-dial-answer-misc-1"
    commands = script_commands(name)
    agi = LabAgi()
    run_box: list[LabRun] = []

    async def i1(conn: AgiScriptConn) -> None:
        run = run_box[0]
        for line in commands:
            if line.startswith("STREAM FILE hello-world"):
                reply = asyncio.ensure_future(conn.command(line))
                await run.event("AGIExecStart", Command=line)
                run.send("playdtmf-3", Channel=run.channel("Local/s@lab-agi-").replace(";2", ";1"))
                await reply
            elif line.startswith("EXEC Dial"):
                reply = asyncio.ensure_future(conn.command(line))
                await run.count("BridgeEnter", 2)
                run.send("hangup-4", Channel=run.channel("Local/1001@agents-").replace(";2", ";1"))
                await reply
            elif line == "WAIT FOR DIGIT 5000":
                reply = asyncio.ensure_future(conn.command(line))
                await run.event("AGIExecStart", Command=line)
                run.send("hangup-5", Channel=run.channel("Local/s@lab-agi-").replace(";2", ";1"))
                await reply
            else:
                await conn.command(line)

    agi.script("i1", i1)
    run = await lab_run("ami-i1-fastagi-dial-answer-misc", agi)
    run_box.append(run)
    run.send("originate-2")
    await agi.wait_closed("i1")
    await run.count("Hangup", 4)
    messages = await run.finish("logoff-6")

    conn = agi.conn("i1")
    assert agi_bytes_after_env(bytes(conn.received)) == real_agi_bytes(name)
    assert conn.replies[6:9] == ["200 result=-1", "200 result=1 (ANSWER)", "200 result=-1"]
    assert conn.replies[-4:] == [DEAD] * 4
    ours = without_originate_response(messages)
    real = without_originate_response(trace_messages(run.trace))
    assert_same_events(ours, real)
    dial_ends = [
        m["DialStatus"] for m in messages if m.event == "DialEnd" and "1001@agents" in m["DestChannel"]
    ]
    assert dial_ends == ["ANSWER"]


async def test_i2_dial_not_answered_returns_zero_noanswer(lab_run: MakeRun) -> None:
    name = "fastagi-i2-fastagi-dial-noanswer-1"
    agi = LabAgi()

    async def i2(conn: AgiScriptConn) -> None:
        for line in script_commands(name):
            await conn.command(line)

    agi.script("i2", i2)
    run = await lab_run("ami-i2-fastagi-dial-noanswer", agi)
    run.send("originate-2")
    await agi.wait_closed("i2")
    await run.count("Hangup", 4)
    messages = await run.finish("logoff-3")

    conn = agi.conn("i2")
    assert conn.replies == [
        "200 result=0",
        "200 result=0",
        "200 result=1 (NOANSWER)",
        "200 result=1 (0)",
        "200 result=1",
    ]
    assert agi_bytes_after_env(bytes(conn.received)) == real_agi_bytes(name)
    # The called ;2 ends its Wait(3600) on its own thread: its SoftHangupRequest/Hangup race the
    # script's next commands (after them here, before AGIExecEnd in i3).
    assert_same_events(
        without_originate_response(messages),
        without_originate_response(trace_messages(run.trace)),
        strict=False,
    )


async def test_i3_caller_hangs_up_while_agent_rings_cancel_once(lab_run: MakeRun) -> None:
    name = "fastagi-i3-fastagi-dial-cancel-1"
    agi = LabAgi()
    run_box: list[LabRun] = []

    async def i3(conn: AgiScriptConn) -> None:
        run = run_box[0]
        for line in script_commands(name):
            if line.startswith("EXEC Dial"):
                reply = asyncio.ensure_future(conn.command(line))
                await run.event("DialState")
                run.send("hangup-3", Channel=run.channel("Local/s@lab-agi-").replace(";2", ";1"))
                await reply
            else:
                await conn.command(line)

    agi.script("i3", i3)
    run = await lab_run("ami-i3-fastagi-dial-cancel", agi)
    run_box.append(run)
    run.send("originate-2")
    await agi.wait_closed("i3")
    await run.count("Hangup", 4)
    messages = await run.finish("logoff-4")

    conn = agi.conn("i3")
    assert conn.hangup_seen
    assert conn.replies[2:] == ["200 result=-1", "200 result=1 (CANCEL)", DEAD, DEAD]
    assert agi_bytes_after_env(bytes(conn.received)) == real_agi_bytes(name)
    assert_same_events(
        without_originate_response(messages), without_originate_response(trace_messages(run.trace))
    )
    assert [
        m["DialStatus"] for m in messages if m.event == "DialEnd" and "agents-deaf" in m["DestChannel"]
    ] == ["CANCEL"]
