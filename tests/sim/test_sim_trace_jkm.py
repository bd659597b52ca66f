"""Faithfulness: scenarios j1/j2 (Park), k1–k4 (BlindTransfer, Atxfer) and m1 (Redirect of an AGI channel).

Each run replays the trace's own AMI requests against the lab dialplan and the trace's FastAGI
script (``ANSWER``, ``EXEC Dial Local/1001@agents,60[,tT]``, ``GET VARIABLE DIALSTATUS``,
``VERBOSE``, ``WAIT FOR DIGIT 250``) and compares:

* the bytes Asterisk wrote to the script after the environment (replies, the ``HANGUP`` line);
* the responses' texts (``Park successful`` with its bare LF, ``Transfer invalid``…);
* the call-control events in order, with their key sets (``ParkedCall``, ``BlindTransfer``,
  ``Hold``, ``AttendedTransfer``…), on the normalised channels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from lab_harness import LabAgi, LabRun, agi_bytes_after_env, real_agi_bytes, script_commands, trace_messages
from lab_harness import lab_run as lab_run  # the fixture
from sim_harness import NOISE, AgiScriptConn, normalise

from cti.ami.message import AmiMessage

MakeRun = Callable[[str, LabAgi], Awaitable[LabRun]]
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


def replay(agi: LabAgi, script: str, fastagi: str, hold: asyncio.Event | None = None) -> None:
    """Serve the trace's script under *script*; with *hold*, wait for it before closing the socket."""

    async def serve(conn: AgiScriptConn) -> None:
        for line in script_commands(fastagi):
            await conn.command(line)
        if hold is not None:
            await hold.wait()

    agi.script(script, serve)


def shape(messages: list[AmiMessage], kinds: set[str]) -> list[tuple[str, ...]]:
    """The chosen events in order as (kind, normalised channel, key set)."""
    picked = [m for m in messages if (m.event or "") in kinds]
    out = []
    for message, fields in zip(picked, normalise(picked, set()), strict=True):
        values = dict(fields)
        channel = (
            values.get("Channel") or values.get("TransfererChannel") or values.get("ParkeeChannel") or ""
        )
        out.append((message.event or "", channel, ",".join(k for k, _ in fields if k != "ActionID")))
    return out


def responses(messages: list[AmiMessage]) -> dict[str, tuple[str | None, str | None]]:
    return {
        m["ActionID"]: (m.response, m.get("Message"))
        for m in messages
        if m.response and "ActionID" in m.keys()
    }


async def test_j1_park_parked_calls_and_unpark(lab_run: MakeRun) -> None:
    agi = LabAgi()
    replay(agi, "dial-1001", "fastagi-j1-park-unpark-1")
    run = await lab_run("ami-j1-park-unpark", agi)
    await run.reply("park-2")
    run.send("orig-3")
    await run.count("BridgeEnter", 2)
    customer, agent = run.channel("Local/s@lab-agi-"), run.channel("Local/1001@agents-").replace(";2", ";1")
    raw_before = len(run.ami.messages)
    await run.reply("park-4", Channel=customer, TimeoutChannel=agent)
    await run.event("Hangup", Channel=agent)  # alone in the old bridge, hung up later
    listed = await run.reply("parkedcalls-5")
    await run.event("ParkedCallsComplete")
    run.send("originate-7")
    await run.event("UnParkedCall")
    assert "200" not in bytes(agi.conn("dial-1001").received).decode().split("\n\n", 1)[1][13:]
    run.send("hangup-8")
    await agi.wait_closed("dial-1001")
    await run.count("Hangup", 6)
    messages = await run.finish("logoff-9")
    real = trace_messages(run.trace)

    assert responses(messages)["park-2"] == responses(real)["park-2"]
    assert responses(messages)["park-4"] == ("Success", "Park successful")
    assert listed["Message"] == "Parked calls will follow"
    kinds = {"ParkedCall", "UnParkedCall", "MusicOnHoldStart", "MusicOnHoldStop", "ParkedCallsComplete"}
    assert shape(messages[raw_before:], kinds) == shape(real[real.index(_first(real, "park-4")) :], kinds)
    park_part = _between(messages, "BridgeCreate", "MusicOnHoldStart", after=raw_before)
    assert [m.event for m in park_part] == [
        "BridgeCreate",
        "BridgeLeave",
        "ParkedCall",
        "BridgeEnter",
        "MusicOnHoldStart",
    ]
    conn = agi.conn("dial-1001")
    assert agi_bytes_after_env(bytes(conn.received)) == real_agi_bytes("fastagi-j1-park-unpark-1")


async def test_j2_park_timeout_calls_the_parker_back(lab_run: MakeRun) -> None:
    agi = LabAgi()
    replay(agi, "dial-1001", "fastagi-j2-park-timeout-1")
    run = await lab_run("ami-j2-park-timeout-announce", agi)
    run.send("orig-2")
    await run.count("BridgeEnter", 2)
    customer, agent = run.channel("Local/s@lab-agi-"), run.channel("Local/1001@agents-").replace(";2", ";1")
    await run.reply("park-3", Channel=customer, TimeoutChannel=agent, AnnounceChannel=agent)
    timed_out = await run.event("ParkedCallTimeOut")
    await agi.wait_closed("dial-1001")
    # The parkee itself dials its parker from park-dial once the AGI is over.
    begin = await run.event("DialBegin", Channel=customer, Context="park-dial")
    assert begin["Exten"] == "Local_1001@agents"
    await run.count("BridgeEnter", 4)
    run.send("hangup-4")
    await run.count("Hangup", 6)
    messages = await run.finish("logoff-5")
    real = trace_messages(run.trace)

    assert timed_out.keys() == _first(real, "", event="ParkedCallTimeOut").keys()
    end = next(m for m in messages if m.event == "AGIExecEnd" and m["Command"].startswith("EXEC Dial"))
    assert (end["Result"], end["Context"], end["Exten"]) == ("Success", "park-dial", "Local_1001@agents")
    order = ["MusicOnHoldStop", "BridgeLeave", "AGIExecEnd", "ParkedCallTimeOut"]
    for seen in (messages, real):
        assert [
            m.event for m in _between(seen, "MusicOnHoldStop", "ParkedCallTimeOut") if m.event not in NOISE
        ] == order
    conn = agi.conn("dial-1001")
    assert conn.replies[1:] == ["200 result=0", "200 result=1 (ANSWER)", "200 result=1", DEAD]
    assert agi_bytes_after_env(bytes(conn.received)) == real_agi_bytes("fastagi-j2-park-timeout-1")


async def test_k1_blind_transfer_errors_success_and_without_context(lab_run: MakeRun) -> None:
    agi = LabAgi()
    closing = asyncio.Event()
    replay(agi, "dial-1001", "fastagi-k1-blindtransfer-1", closing)
    run = await lab_run("ami-k1-blindtransfer", agi)
    await run.reply("blindtransfer-2")
    run.send("orig-3")
    await run.count("BridgeEnter", 2)
    customer, agent = run.channel("Local/s@lab-agi-"), run.channel("Local/1001@agents-").replace(";2", ";1")
    await run.reply("blindtransfer-4", Channel=customer.replace(";2", ";1"))
    await run.reply("blindtransfer-5", Channel=agent)
    await run.event("AGIExecEnd", Command="WAIT FOR DIGIT 250")
    await asyncio.sleep(0.05)
    assert not [m for m in run.ami.messages if m.event == "DialBegin" and m.get("Exten") == "1002"]
    closing.set()  # the dialplan continues at the target only once the script closed the socket
    await run.event("DialBegin", Channel=customer, Exten="1002")
    await run.count("BridgeEnter", 4)
    messages = list(run.ami.messages)
    real = trace_messages(run.trace)

    ours_r, real_r = responses(messages), responses(real)
    for action_id in ("blindtransfer-2", "blindtransfer-4", "blindtransfer-5"):
        assert ours_r[action_id] == real_r[action_id]
    kinds = {"Unhold", "BlindTransfer"}
    real_first = real[: real.index(_first(real, "hangup-6"))]
    assert shape(messages, kinds) == shape(real_first, kinds)
    after = _between(
        messages, "BlindTransfer", "AGIExecEnd", after=messages.index(_first(messages, "blindtransfer-5"))
    )
    assert [m.event for m in after if m.event in ("BridgeLeave", "AGIExecEnd")] == [
        "BridgeLeave",
        "BridgeLeave",
        "AGIExecEnd",
    ]
    assert after[-1]["Context"] == "lab-xfer" and after[-1]["Result"] == "Success"
    conn = agi.conn("dial-1001")
    assert agi_bytes_after_env(bytes(conn.received)) == real_agi_bytes("fastagi-k1-blindtransfer-1")


async def _atxfer_run(lab_run: MakeRun, trace: str, fastagi: str, **config: str) -> tuple[LabRun, LabAgi]:
    agi = LabAgi()
    replay(agi, fastagi.split("-")[1], fastagi)
    script = {"k2": "dial-1001", "k3": "dial-1001-tT", "k4": "dial-1001-tT"}[fastagi.split("-")[1]]
    agi.script(script, agi.handlers.pop(fastagi.split("-")[1]))
    agi.closed[script] = asyncio.Event()
    run = await lab_run(trace, agi)
    for key, value in config.items():
        setattr(run.sim.pbx.config, key, value)  # the lab's features.conf
    return run, agi


async def test_k2_atxfer_without_t_only_passes_digits(lab_run: MakeRun) -> None:
    run, _agi = await _atxfer_run(lab_run, "ami-k2-atxfer-dial-without-tT", "fastagi-k2-atxfer-no-tT-1")
    assert (await run.reply("atxfer-2")) is not None
    run.send("orig-3")
    await run.count("BridgeEnter", 2)
    customer, agent = run.channel("Local/s@lab-agi-"), run.channel("Local/1001@agents-").replace(";2", ";1")
    first = await run.reply("atxfer-4", Channel=customer.replace(";2", ";1"))
    await run.count("DTMFEnd", 6)
    second = await run.reply("atxfer-5", Channel=agent)
    await run.count("DTMFEnd", 6 + 6 + 12)
    await asyncio.sleep(0.05)
    real = trace_messages(run.trace)
    assert (first.response, first["Message"]) == ("Success", "Atxfer successfully queued")
    assert responses(run.ami.messages)["atxfer-2"] == responses(real)["atxfer-2"]
    assert second["Message"] == "Atxfer successfully queued"
    kinds = {"DTMFBegin", "DTMFEnd", "Hold", "AttendedTransfer"}
    cut = real.index(_first(real, "hangup-6"))
    # The Begin/End pairs of passed digits overlap in time: compared as a whole, per channel in order.
    ours, theirs = shape(run.ami.messages, kinds), shape(real[:cut], kinds)
    assert sorted(ours) == sorted(theirs)
    for channel in {c for _, c, _ in theirs}:
        assert [k for k in ours if k[1] == channel] == [k for k in theirs if k[1] == channel]
    assert not [m for m in run.ami.messages if m.event in ("Hold", "AttendedTransfer")]


async def test_k3_atxfer_with_tt_and_announcement_stalls(lab_run: MakeRun) -> None:
    run, _agi = await _atxfer_run(
        lab_run,
        "ami-k3-atxfer-dial-with-tT",
        "fastagi-k3-atxfer-tT-1",
        transfer_announce_sound="pbx-transfer",
    )
    run.send("orig-2")
    await run.count("BridgeEnter", 2)
    agent = run.channel("Local/1001@agents-").replace(";2", ";1")
    await run.reply("atxfer-3", Channel=agent)
    await run.count("DTMFEnd", 6)
    await asyncio.sleep(0.2)
    real = trace_messages(run.trace)
    cut = real.index(_first(real, "hangup-4"))
    kinds = {"DTMFEnd", "Hold", "MusicOnHoldStart", "Newchannel", "AttendedTransfer"}
    assert shape(run.ami.messages, kinds)[2:] == shape(real[:cut], kinds)[2:]


async def test_k4_atxfer_consults_and_completes_when_the_transferer_hangs_up(lab_run: MakeRun) -> None:
    run, _agi = await _atxfer_run(
        lab_run, "ami-k4-atxfer-tT-no-announce", "fastagi-k4-atxfer-tT-no-announce-1"
    )
    run.send("orig-2")
    await run.count("BridgeEnter", 2)
    agent = run.channel("Local/1001@agents-").replace(";2", ";1")
    await run.reply("atxfer-3", Channel=agent)
    await run.count("BridgeEnter", 2, Channel=agent)  # into the consultation bridge
    await run.reply("hangup-4", Channel=agent)
    await run.event("AttendedTransfer")
    await run.event("DialEnd", DialStatus="ANSWER")
    await run.event("Hangup", Channel=agent)
    real = trace_messages(run.trace)
    cut = real.index(_first(real, "coreshowchannels-5"))
    kinds = {
        "Hold",
        "MusicOnHoldStart",
        "MusicOnHoldStop",
        "DTMFEnd",
        "BridgeMerge",
        "AttendedTransfer",
        "BridgeEnter",
        "BridgeLeave",
    }
    assert shape(run.ami.messages, kinds) == shape(real[:cut], kinds)
    done = next(m for m in run.ami.messages if m.event == "AttendedTransfer")
    ends = [m for m in run.ami.messages if m.event == "DialEnd" and "Channel" not in m.keys()]
    assert run.ami.messages.index(done) < run.ami.messages.index(ends[-1])  # completed while it rang


async def test_m1_redirect_during_a_command_and_while_idle(lab_run: MakeRun) -> None:
    agi = LabAgi()
    run_box: list[LabRun] = []

    async def during(conn: AgiScriptConn) -> None:
        for line in script_commands("fastagi-m1-redirect-in-wait-for-digit-1"):
            reply = asyncio.ensure_future(conn.command(line))
            if line == "WAIT FOR DIGIT 10000":
                await run_box[0].event("AGIExecStart", Command=line)
                run_box[0].send("redirect-4", Channel=run_box[0].channel("Local/s@lab-agi-"))
            await reply

    async def idle(conn: AgiScriptConn) -> None:
        for line in script_commands("fastagi-m1-redirect-while-idle-1"):
            if line.startswith("GET VARIABLE"):
                await run_box[0].reply("redirect-6", Channel=run_box[0].channel("Local/s@lab-agi-"))
                await asyncio.sleep(0.05)
                assert b"HANGUP" not in bytes(conn.received)  # nothing is sent to an idle script
            await conn.command(line)

    agi.script("m1", during)
    agi.script("m1b", idle)
    run = await lab_run("ami-m1-redirect-agi-channel", agi)
    run_box.append(run)
    await run.reply("redirect-2")
    run.send("originate-3")
    await agi.wait_closed("m1")
    await run.count("Hangup", 2)
    run.send("originate-5")
    await agi.wait_closed("m1b")
    await run.count("Hangup", 4)
    messages = await run.finish("logoff-7")
    real = trace_messages(run.trace)

    assert responses(messages)["redirect-2"] == responses(real)["redirect-2"]
    assert responses(messages)["redirect-4"] == responses(real)["redirect-4"]
    for name, script in (
        ("fastagi-m1-redirect-in-wait-for-digit-1", "m1"),
        ("fastagi-m1-redirect-while-idle-1", "m1b"),
    ):
        assert agi_bytes_after_env(bytes(agi.conn(script).received)) == real_agi_bytes(name)
    ends = [(m["Command"], m["ResultCode"], m["Result"]) for m in messages if m.event == "AGIExecEnd"]
    real_ends = [(m["Command"], m["ResultCode"], m["Result"]) for m in real if m.event == "AGIExecEnd"]
    assert ends == real_ends
    # The channel went on at lab-redirected only after each script closed its socket.
    hung = [m for m in messages if m.event == "SoftHangupRequest" and m["Context"] == "lab-redirected"]
    assert len(hung) == 2


def _first(messages: list[AmiMessage], action_id: str, *, event: str | None = None) -> AmiMessage:
    if event is not None:
        return next(m for m in messages if m.event == event)
    return next(m for m in messages if m.get("ActionID") == action_id)


def _between(messages: list[AmiMessage], first: str, last: str, *, after: int = 0) -> list[AmiMessage]:
    """From the first *first* event (at or after index *after*) to the next *last* event, included."""
    start = next(i for i in range(after, len(messages)) if messages[i].event == first)
    end = next(i for i in range(start, len(messages)) if messages[i].event == last)
    return messages[start : end + 1]
