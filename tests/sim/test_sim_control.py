"""Call control on the simulator over real TCP: Park/ParkedCall, BlindTransfer, Atxfer, ChanSpy.

A scripted FastAGI server answers the customer's ``PJSIP/trunk-…`` channel
and dials ``PJSIP/1001`` (the agent); an AMI client then drives the
actions exactly as bankcti's :mod:`cti.control` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sim_harness import AgiScriptConn, AmiTestClient, ScriptedAgi

from cti.ami.message import AmiMessage
from cti.simulator import AgentPhone, CallerScript, PbxSimulator, SimulatedCall, SimulatorConfig

SPEED = 40


async def until(check: Callable[[], bool]) -> None:
    """Wait (at most 10 s) until *check()* holds."""
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached within 10 s")


class Lab:
    def __init__(self, sim: PbxSimulator, agi: ScriptedAgi, ami: AmiTestClient) -> None:
        self.sim, self.agi, self.ami = sim, agi, ami
        self.results: list[dict[str, str]] = []

    async def action(self, *pairs: tuple[str, str]) -> AmiMessage:
        action_id = f"c{len(self.ami.messages)}-{id(pairs)}"
        self.ami.send(*pairs, ("ActionID", action_id))
        return await self.ami.wait_for(lambda m: m.get("ActionID") == action_id and m.response is not None)

    async def event(self, name: str, **fields: str) -> AmiMessage:
        def match(m: AmiMessage) -> bool:
            return m.event == name and all(m.get(k) == v for k, v in fields.items())

        return await self.ami.wait_for(match)

    def channel(self, prefix: str) -> str:
        return next(c.name for c in self.sim.channels() if c.name.startswith(prefix) and not c.dead)

    async def answered_call(self) -> SimulatedCall:
        call = await self.sim.place_call(CallerScript("+8613800000001"))
        await self.event("BridgeEnter", Linkedid=call.linkedid, Channel=call.channel)
        return call


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    results: list[dict[str, str]] = []

    async def handler(conn: AgiScriptConn) -> None:
        seen: dict[str, str] = {"queue": conn.env.get("agi_extension", "")}
        results.append(seen)
        await conn.command("ANSWER")
        seen["dial"] = await conn.command("EXEC Dial PJSIP/1001,20,t")  # t: the agent may transfer
        seen["status"] = await conn.command("GET VARIABLE DIALSTATUS")
        seen["hangup_seen"] = str(conn.hangup_seen)

    agi = ScriptedAgi(handler)
    port = await agi.start()
    sim = PbxSimulator(SimulatorConfig(agi_port=port, speed=SPEED))
    await sim.start()
    for device in ("PJSIP/1001", "PJSIP/1002", "PJSIP/2001"):
        sim.add_phone(AgentPhone(device, answer_after=0.2, talk_seconds=None))
    ami = await AmiTestClient.connect(sim.ami_port)
    ami.send(("Action", "Login"), ("ActionID", "l"), ("Username", "bankcti"), ("Secret", "bankcti-secret"))
    await ami.wait_for(lambda m: m.get("ActionID") == "l")
    lab = Lab(sim, agi, ami)
    lab.results = results
    yield lab
    await ami.close()
    await sim.close()
    await agi.close()


async def test_park_keeps_the_dial_and_parkedcall_brings_another_device_in(lab: Lab) -> None:
    call = await lab.answered_call()
    agent = lab.channel("PJSIP/1001-")
    reply = await lab.action(
        ("Action", "Park"), ("Channel", call.channel), ("TimeoutChannel", agent), ("Timeout", "600000")
    )
    assert reply.response == "Success" and reply["Message"] == "Park successful"
    parked = await lab.event("ParkedCall", ParkeeLinkedid=call.linkedid)
    assert parked["ParkingSpace"] == "701" and parked["Parkinglot"] == "default"
    assert parked["ParkerDialString"] == "PJSIP/1001"
    await lab.event("MusicOnHoldStart", Channel=call.channel)
    await lab.event("Hangup", Channel=agent)
    assert not lab.results[0].get("dial")  # the customer's Dial (and AGI) goes on

    again = await lab.action(("Action", "Park"), ("Channel", "PJSIP/none-1"))
    assert again.response == "Error" and again["Message"] == "Channel does not exist: PJSIP/none-1"
    missing = await lab.action(("Action", "Park"))
    assert missing["Message"] == "Channel not specified"

    reply = await lab.action(
        ("Action", "Originate"),
        ("Channel", "PJSIP/1002"),
        ("Application", "ParkedCall"),
        ("Data", "default,701"),
        ("Async", "true"),
    )
    assert reply.response == "Success"
    unparked = await lab.event("UnParkedCall", ParkeeLinkedid=call.linkedid)
    assert unparked["RetrieverChannel"].startswith("PJSIP/1002-")
    entered = await lab.event("BridgeEnter", Channel=lab.channel("PJSIP/1002-"))
    assert entered["Linkedid"] == call.linkedid  # the oldest Linkedid wins in a bridge
    await lab.event("MusicOnHoldStop", Channel=call.channel)

    await call.hangup()
    await call.wait_finished(timeout=10)
    await until(lambda: "status" in lab.results[0])
    assert lab.results[0]["status"] == "200 result=1 (ANSWER)"
    assert not [c for c in lab.sim.channels() if c.name.startswith("PJSIP/1002-")]


async def test_blind_transfer_to_an_agent_device_and_back_into_the_agi(lab: Lab) -> None:
    call = await lab.answered_call()
    agent = lab.channel("PJSIP/1001-")
    assert (await lab.action(("Action", "BlindTransfer"), ("Channel", agent)))["Message"] == (
        "No extension specified"
    )
    unknown = await lab.action(("Action", "BlindTransfer"), ("Channel", "PJSIP/x-1"), ("Exten", "agent"))
    assert unknown["Message"] == "Channel specified does not exist"

    await lab.action(
        ("Action", "Setvar"),
        ("Channel", call.channel),
        ("Variable", "BANKCTI_TRANSFER_DEVICE"),
        ("Value", "PJSIP/1002"),
    )
    reply = await lab.action(
        ("Action", "BlindTransfer"), ("Channel", agent), ("Exten", "agent"), ("Context", "bankcti-dial")
    )
    assert reply.response == "Success" and reply["Message"] == "Transfer succeeded"
    event = await lab.event("BlindTransfer", TransfererChannel=agent)
    assert event["TransfereeChannel"] == call.channel and event["Extension"] == "agent"
    await lab.event("Hangup", Channel=agent)
    # The AGI session ends as on a hang-up (Dial returns 0, trace k1); the channel lives on in bankcti-dial.
    await until(lambda: "status" in lab.results[0])
    assert lab.results[0]["dial"] == "200 result=0"
    assert lab.results[0]["status"] == "200 result=1 (ANSWER)"
    assert lab.results[0]["hangup_seen"] == "True"
    begin = await lab.event("DialBegin", Channel=call.channel, DialString="1002")
    assert begin["Context"] == "bankcti-dial"
    await lab.event("DialEnd", Channel=call.channel, DialStatus="ANSWER")

    # Transfer on, back into the FastAGI service this time.
    second = lab.channel("PJSIP/1002-")
    await lab.action(("Action", "Setvar"), ("Channel", call.channel), ("Variable", "Q"), ("Value", "x"))
    reply = await lab.action(
        ("Action", "BlindTransfer"), ("Channel", second), ("Exten", "queue"), ("Context", "bankcti-dial")
    )
    assert reply.response == "Success"
    await until(lambda: len(lab.results) >= 2)
    assert lab.results[1]["queue"] == "queue"
    await call.hangup()
    await call.wait_finished(timeout=10)


async def test_attended_transfer_completes_when_the_agent_hangs_up(lab: Lab) -> None:
    call = await lab.answered_call()
    agent = lab.channel("PJSIP/1001-")
    await lab.action(
        ("Action", "Setvar"),
        ("Channel", agent),
        ("Variable", "_BANKCTI_TRANSFER_DEVICE"),
        ("Value", "PJSIP/2001"),
    )
    reply = await lab.action(
        ("Action", "Atxfer"), ("Channel", agent), ("Exten", "agent"), ("Context", "bankcti-dial")
    )
    assert reply.response == "Success" and reply["Message"] == "Atxfer successfully queued"
    # Only DTMF was queued: the feature code puts the agent (the transferer) on hold (trace k4).
    hold = await lab.event("Hold", Channel=agent)
    assert "MusicClass" not in hold.keys()
    await lab.event("MusicOnHoldStart", Channel=call.channel)
    # The consultation: the agent and the Local channel towards 2001 share a new bridge.
    target = await lab.ami.wait_for(
        lambda m: (
            m.event == "DialEnd"
            and m["DialStatus"] == "ANSWER"
            and m["DestChannel"].startswith("PJSIP/2001-")
        )
    )
    assert target["Linkedid"] == call.linkedid
    await lab.event("BridgeEnter", Channel=agent)

    assert (await lab.action(("Action", "Hangup"), ("Channel", agent)))["Message"] == "Channel Hungup"
    done = await lab.event("AttendedTransfer", OrigTransfererChannel=agent)
    assert done["Result"] == "Success" and done["TransfereeChannel"] == call.channel
    assert done["IsExternal"] == "No" and "TransferTargetChannel" not in done.keys()
    await lab.event("MusicOnHoldStop", Channel=call.channel)
    bridge = call.channel
    await until(lambda: any(c.bridge is not None for c in lab.sim.channels() if c.name == bridge))
    assert "dial" not in lab.results[0]  # still the same Dial, now with the target

    await call.hangup()
    await call.wait_finished(timeout=10)
    assert not [c for c in lab.sim.channels() if c.name.startswith(("PJSIP/2001-", "Local/agent@"))]


async def test_cancelled_attended_transfer_brings_the_agent_back(lab: Lab) -> None:
    call = await lab.answered_call()
    agent = lab.channel("PJSIP/1001-")
    unknown = await lab.action(("Action", "CancelAtxfer"), ("Channel", "PJSIP/none-1"))
    assert unknown.response == "Error" and unknown["Message"] == "Channel specified does not exist"
    await lab.action(
        ("Action", "Setvar"),
        ("Channel", agent),
        ("Variable", "_BANKCTI_TRANSFER_DEVICE"),
        ("Value", "PJSIP/2001"),
    )
    await lab.action(
        ("Action", "Atxfer"), ("Channel", agent), ("Exten", "agent"), ("Context", "bankcti-dial")
    )
    await lab.ami.wait_for(
        lambda m: (
            m.event == "DialEnd"
            and m["DialStatus"] == "ANSWER"
            and m["DestChannel"].startswith("PJSIP/2001-")
        )
    )
    await lab.event("BridgeEnter", Channel=agent)
    reply = await lab.action(("Action", "CancelAtxfer"), ("Channel", agent))
    assert reply.response == "Success" and reply["Message"] == "CancelAtxfer successfully queued"
    await lab.event("Unhold", Channel=agent)  # the atxferabort code (*1) brought the agent back
    await until(lambda: not [c for c in lab.sim.channels() if c.name.startswith("PJSIP/2001-")])
    live = {c.name: c for c in lab.sim.channels()}
    assert live[agent].bridge is not None and live[agent].bridge is live[call.channel].bridge
    assert not any(m.event == "AttendedTransfer" for m in lab.ami.messages)


async def test_chanspy_originate_spies_on_the_agent(lab: Lab) -> None:
    await lab.answered_call()
    agent = lab.channel("PJSIP/1001-")
    reply = await lab.action(
        ("Action", "Originate"),
        ("Channel", "PJSIP/2001"),
        ("Application", "ChanSpy"),
        ("Data", f"{agent},qw"),
        ("Async", "true"),
    )
    assert reply.response == "Success"
    start = await lab.event("ChanSpyStart", SpyeeChannel=agent)
    spy = start["SpyerChannel"]
    assert spy.startswith("PJSIP/2001-")
    await lab.action(("Action", "Hangup"), ("Channel", spy))
    await lab.event("ChanSpyStop", SpyerChannel=spy)
    await lab.event("Hangup", Channel=spy)


async def test_click_to_dial_rings_the_agent_then_the_number(lab: Lab) -> None:
    reply = await lab.action(
        ("Action", "Originate"),
        ("Channel", "PJSIP/1001"),
        ("Context", "bankcti-dial"),
        ("Exten", "+8613800138000"),
        ("Priority", "1"),
        ("ChannelId", "dial-1"),
        ("OtherChannelId", "dial-1-2"),
        ("Async", "true"),
    )
    assert reply.response == "Success"
    answered = await lab.event("OriginateResponse", Response="Success")
    assert answered["Uniqueid"] == "dial-1"
    end = await lab.event("DialEnd", Linkedid="dial-1", DialStatus="ANSWER")
    assert end["Channel"].startswith("PJSIP/1001-") and end["DestChannel"].startswith(
        "Local/+8613800138000@pstn-"
    )
    enter = await lab.event("BridgeEnter", Channel=end["DestChannel"])
    assert enter["Linkedid"] == "dial-1"


async def test_a_parked_callee_is_retrieved_and_cleaned_up(lab: Lab) -> None:
    """Holding a click-to-dial call parks the far end, which no Dial of its own follows."""
    lab.ami.send(
        ("Action", "Originate"),
        ("Channel", "PJSIP/1001"),
        ("Context", "bankcti-dial"),
        ("Exten", "+8613800138001"),
        ("ChannelId", "dial-2"),
        ("Async", "true"),
    )
    end = await lab.event("DialEnd", Linkedid="dial-2", DialStatus="ANSWER")
    customer, agent = end["DestChannel"], end["Channel"]
    await lab.event("BridgeEnter", Channel=customer)
    reply = await lab.action(("Action", "Park"), ("Channel", customer), ("TimeoutChannel", agent))
    assert reply["Message"] == "Park successful"
    await lab.event("Hangup", Channel=agent)  # the agent's leg goes, the customer waits
    parked = await lab.event("ParkedCall", ParkeeChannel=customer)
    lab.ami.send(
        ("Action", "Originate"),
        ("Channel", "PJSIP/1001"),
        ("Application", "ParkedCall"),
        ("Data", f"default,{parked['ParkingSpace']}"),
        ("Async", "true"),
    )
    await lab.event("UnParkedCall", ParkeeChannel=customer)
    retriever = lab.channel("PJSIP/1001-")
    await lab.event("BridgeEnter", Channel=retriever, Linkedid="dial-2")
    # The customer hangs up: the retriever's call ends too, nothing is left behind.
    far = lab.channel("Local/+8613800138001@pstn-").replace(";1", ";2")
    assert (await lab.action(("Action", "Hangup"), ("Channel", far)))["Response"] == "Success"
    await lab.event("Hangup", Channel=retriever)
    await until(lambda: not [c for c in lab.sim.channels() if "dial-2" in (c.linkedid, c.uniqueid)])
