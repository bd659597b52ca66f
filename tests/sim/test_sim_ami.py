"""AMI server behaviour of the simulator beyond the recorded traces."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator

import pytest
from sim_harness import AmiTestClient, trace_messages

from cti.ami.message import AmiMessage
from cti.simulator import AgentPhone, PbxSimulator, SimulatorConfig


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(
        SimulatorConfig(agi_port=1, speed=50, channelvars=("IVR_ACCOUNT",), login_failure_delay=0.05)
    )
    await simulator.start()
    yield simulator
    await simulator.close()


async def login(sim: PbxSimulator, events: str = "on") -> AmiTestClient:
    client = await AmiTestClient.connect(sim.ami_port)
    client.send(
        ("Action", "Login"),
        ("ActionID", "l"),
        ("Username", "bankcti"),
        ("Secret", "bankcti-secret"),
        ("Events", events),
    )
    await client.wait_for(lambda m: m.get("ActionID") == "l")
    return client


async def action(client: AmiTestClient, *pairs: tuple[str, str]) -> AmiMessage:
    action_id = f"a{len(client.messages)}-{id(pairs)}"
    client.send(*pairs, ("ActionID", action_id))
    return await client.wait_for(lambda m: m.get("ActionID") == action_id and m.response is not None)


async def test_ping_shape(sim: PbxSimulator) -> None:
    client = await login(sim)
    reply = await action(client, ("Action", "Ping"))
    assert reply.keys() == ["Response", "ActionID", "Ping", "Timestamp"]
    assert reply["Ping"] == "Pong" and re.fullmatch(r"\d+\.\d{6}", reply["Timestamp"])
    await client.close()


async def test_originate_local_agent_then_status_and_channel_lists(sim: PbxSimulator) -> None:
    sim.add_phone(AgentPhone("Local/1005@agents", answer_after=0.5))
    client = await login(sim)
    queued = await action(
        client,
        ("Action", "Originate"),
        ("Channel", "Local/1005@agents"),
        ("Application", "Wait"),
        ("Data", "30"),
        ("Async", "yes"),
        ("Variable", "IVR_ACCOUNT=42"),
    )
    assert queued["Message"] == "Originate successfully queued"
    response = await client.wait_for(lambda m: m.event == "OriginateResponse")
    assert response["Response"] == "Success" and response["Reason"] == "4"
    leg = response["Channel"]

    status = await action(client, ("Action", "Status"), ("Channel", leg), ("Variables", "IVR_ACCOUNT"))
    assert status.keys() == ["Response", "ActionID", "EventList", "Message"]
    item = await client.wait_for(lambda m: m.event == "Status")
    assert item["Channel"] == leg and item["Application"] == "Wait" and item["ChannelStateDesc"] == "Up"
    assert item.getall("Variable") == ["IVR_ACCOUNT=42"] and item.getall("ChanVariable") == ["IVR_ACCOUNT=42"]
    keys = item.keys()
    assert keys[:3] == ["Event", "Privilege", "Channel"] and keys[-2:] == ["Variable", "ActionID"]
    assert keys[keys.index("Linkedid") + 2 : keys.index("Linkedid") + 5] == [
        "Type",
        "DNID",
        "EffectiveConnectedLineNum",
    ]
    complete = await client.wait_for(lambda m: m.event == "StatusComplete")
    assert complete.keys() == ["Event", "ActionID", "EventList", "ListItems", "Items"]

    await action(client, ("Action", "CoreShowChannels"))
    done = await client.wait_for(lambda m: m.event == "CoreShowChannelsComplete")
    assert done["ListItems"] == "2"
    shown = [m for m in client.messages if m.event == "CoreShowChannel"]
    assert {m["Channel"] for m in shown} == {leg, leg[:-1] + "2"}
    assert shown[0].keys()[:3] == ["Event", "ActionID", "Channel"]
    assert shown[0].keys()[-4:] == ["Application", "ApplicationData", "Duration", "BridgeId"]

    assert (await action(client, ("Action", "Getvar"), ("Channel", leg), ("Variable", "CHANNEL(linkedid)")))[
        "Value"
    ] == response["Uniqueid"]
    assert (await action(client, ("Action", "Setvar"), ("Channel", leg), ("Variable", "X"), ("Value", "y")))[
        "Message"
    ] == "Variable Set"
    varset = await client.wait_for(lambda m: m.event == "VarSet" and m["Variable"] == "X")
    assert varset["Channel"] == leg
    hung = await action(client, ("Action", "Hangup"), ("Channel", leg))
    assert hung["Message"] == "Channel Hungup"
    await client.wait_count(lambda m: m.event == "Hangup", 2)
    assert sim.channels() == []
    await client.close()


async def test_originate_failures(sim: PbxSimulator) -> None:
    client = await login(sim)
    assert (await action(client, ("Action", "Originate"), ("Channel", "nonsense")))[
        "Message"
    ] == "Invalid channel"
    await action(
        client,
        ("Action", "Originate"),
        ("Channel", "Local/77@nowhere"),
        ("Context", "x"),
        ("Exten", "y"),
        ("Async", "true"),
    )
    failed = await client.wait_for(lambda m: m.event == "OriginateResponse")
    assert failed["Response"] == "Failure" and failed["Reason"] == "0" and failed["Uniqueid"] == "<null>"
    sync = await action(
        client, ("Action", "Originate"), ("Channel", "PJSIP/unknown"), ("Application", "Wait")
    )
    assert sync["Response"] == "Error" and sync["Message"] == "Originate failed"
    await client.close()


async def test_playdtmf_receive_only_ends_and_errors(sim: PbxSimulator) -> None:
    client = await login(sim)
    await action(
        client,
        ("Action", "Originate"),
        ("Channel", "Local/1009@agents"),
        ("Application", "Wait"),
        ("Data", "60"),
        ("Async", "1"),
    )
    await client.wait_for(lambda m: m.event == "OriginateResponse")
    one = next(m["Channel"] for m in client.messages if m.event == "Newchannel")
    two = one[:-1] + "2"
    reply = await action(client, ("Action", "PlayDTMF"), ("Channel", two), ("Digit", "5"), ("Receive", "yes"))
    assert reply["Message"] == "DTMF successfully queued"
    end = await client.wait_for(lambda m: m.event == "DTMFEnd")
    assert end["Channel"] == two and not any(m.event == "DTMFBegin" for m in client.messages)
    await action(client, ("Action", "PlayDTMF"), ("Channel", two), ("Digit", "6"))
    begin = await client.wait_for(lambda m: m.event == "DTMFBegin")
    assert begin["Channel"] == one and begin["Direction"] == "Received"
    assert (await action(client, ("Action", "PlayDTMF"), ("Channel", one)))["Message"] == "No digit specified"
    assert (
        await action(
            client,
            ("Action", "Redirect"),
            ("Channel", one),
            ("Context", "caller"),
            ("Exten", "wait"),
            ("Priority", "1"),
        )
    )["Message"] == "Redirect failed"
    await client.close()


async def test_filters_events_action_and_bad_filters(sim: PbxSimulator) -> None:
    client = await login(sim)
    bad = await action(client, ("Action", "Filter"), ("Operation", "Add"), ("Filter", "Event: ("))
    assert bad["Message"] == "Filter did not compile.  Check the syntax of the filter given."
    bad = await action(client, ("Action", "Filter"), ("Operation", "Add"), ("MatchCriteria", "colour(red)"))
    assert bad["Message"] == "Filter was formatted incorrectly.  Check the syntax of the filter given."
    assert (await action(client, ("Action", "Filter"), ("Operation", "Drop")))[
        "Message"
    ] == "Unknown operation"
    ok = await action(
        client,
        ("Action", "Filter"),
        ("Operation", "Add"),
        ("MatchCriteria", "action(include),name(VarSet),header(Variable),method(exact)"),
        ("Filter", "WANTED"),
    )
    assert ok["Message"] == "Success"
    other = await login(sim)
    await action(other, ("Action", "Setvar"), ("Variable", "OTHER"), ("Value", "1"))
    await action(other, ("Action", "Setvar"), ("Variable", "WANTED"), ("Value", "2"))
    got = await client.wait_for(lambda m: m.event == "VarSet")
    assert got["Variable"] == "WANTED"
    assert not any(m.event == "VarSet" and m["Variable"] == "OTHER" for m in client.messages)
    assert not any(m.event == "SuccessfulAuth" for m in client.messages[3:])
    off = await action(other, ("Action", "Events"), ("EventMask", "off"))
    assert off.fields[-1] == ("Events", "Off")
    mark = len(other.messages)
    await action(client, ("Action", "Setvar"), ("Variable", "WANTED"), ("Value", "3"))
    await client.wait_count(lambda m: m.event == "VarSet", 2)
    assert not any(m.event == "VarSet" for m in other.messages[mark:])
    await client.close()
    await other.close()


async def test_frozen_then_thawed_and_dropped(sim: PbxSimulator) -> None:
    client = await login(sim)
    sim.set_ami_frozen(True)
    client.send(("Action", "Ping"), ("ActionID", "frozen"))
    await asyncio.sleep(0.1)
    assert not any(m.get("ActionID") == "frozen" for m in client.messages)
    sim.set_ami_frozen(False)
    await client.wait_for(lambda m: m.get("ActionID") == "frozen")
    await sim.drop_ami_clients()
    await client.wait_closed()


async def test_md5_challenge_login_and_command(sim: PbxSimulator) -> None:
    client = await AmiTestClient.connect(sim.ami_port)
    client.send(("Action", "Challenge"), ("ActionID", "c"), ("AuthType", "MD5"))
    challenge = (await client.wait_for(lambda m: m.get("ActionID") == "c"))["Challenge"]
    key = hashlib.md5((challenge + "bankcti-secret").encode()).hexdigest()
    client.send(
        ("Action", "Login"),
        ("ActionID", "l"),
        ("AuthType", "md5"),
        ("Username", "bankcti"),
        ("Key", key),
        ("Events", "off"),
    )
    assert (await client.wait_for(lambda m: m.get("ActionID") == "l"))["Message"] == "Authentication accepted"
    reply = await action(client, ("Action", "Command"), ("Command", "core show frobnicate"))
    assert reply["Response"] == "Error" and reply["Message"] == "Command output follows"
    assert reply.getall("Output")[0].startswith("No such command 'core show frobnicate'")
    version = await action(client, ("Action", "Command"), ("Command", "core show version"))
    assert version.getall("Output")[0].startswith("Asterisk 22.10.1")
    await client.close()


async def test_queue_member_actions_follow_trace_d(sim: PbxSimulator) -> None:
    client = await login(sim)
    real = trace_messages("ami-d-dynamic-member-add-pause-remove")
    for request in trace_messages("ami-d-dynamic-member-add-pause-remove", "client-to-server")[1:-1]:
        client.send_message(request)
    await client.wait_for(lambda m: m.get("ActionID") == "queueremove-10")
    skip = ("FullyBooted", "SuccessfulAuth")
    ours = [m for m in client.messages if m.event not in skip and m.get("ActionID") != "l"]
    theirs = [m for m in real if m.event not in skip and m.get("ActionID") not in ("login-1", "logoff-11")]
    assert [m.event or m["Message"] for m in ours] == [m.event or m["Message"] for m in theirs]
    for mine, expected in zip(ours, theirs, strict=True):
        if mine.event != "QueueParams":  # the real d trace lacks the ServiceLevel keys seen in a and b2
            assert mine.keys() == expected.keys()
    pause = next(m for m in ours if m.event == "QueueMemberPause")
    assert pause["PausedReason"] == "lunch" and pause["Paused"] == "1"
    await client.close()


async def test_redirect_moves_a_channel_running_dialplan(sim: PbxSimulator) -> None:
    client = await login(sim)
    await action(
        client,
        ("Action", "Originate"),
        ("Channel", "Local/1009@agents"),
        ("Context", "caller"),
        ("Exten", "wait"),
        ("Priority", "1"),
        ("Async", "true"),
    )
    waiting = await client.wait_for(lambda m: m.event == "Newexten" and m["Application"] == "Wait")
    leg = waiting["Channel"]
    assert waiting["Context"] == "caller"
    missing = await action(client, ("Action", "Redirect"), ("Channel", leg), ("Context", "agents"))
    assert missing["Message"] == "Exten not specified"
    moved = await action(
        client,
        ("Action", "Redirect"),
        ("Channel", leg),
        ("Context", "agents"),
        ("Exten", "1009"),
        ("Priority", "1"),
    )
    assert moved["Message"] == "Redirect successful"
    echo = await client.wait_for(
        lambda m: m.event == "Newexten" and m["Application"] == "Echo" and m["Channel"] == leg
    )
    assert echo["Channel"] == leg and echo["Context"] == "agents" and echo["Exten"] == "1009"
    gone = await action(
        client,
        ("Action", "Redirect"),
        ("Channel", "Local/none-1;1"),
        ("Context", "a"),
        ("Exten", "b"),
        ("Priority", "1"),
    )
    assert gone["Message"] == "Channel does not exist: Local/none-1;1"
    await action(client, ("Action", "Hangup"), ("Channel", leg), ("Cause", "16"))
    await client.wait_count(lambda m: m.event == "Hangup", 2)
    await client.close()


async def test_connection_without_login_is_closed_after_auth_timeout() -> None:
    simulator = PbxSimulator(SimulatorConfig(agi_port=1, auth_timeout=0.1))
    await simulator.start()
    try:
        client = await AmiTestClient.connect(simulator.ami_port)
        await client.wait_closed(within=2)
        assert client.parser.banner == "Asterisk Call Manager/11.0.0" and client.messages == []
    finally:
        await simulator.close()
