"""Direct calls in the simulator: a call straight to a device, its device states, no call waiting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from sim_harness import AmiTestClient

from cti.ami.message import AmiMessage
from cti.simulator import AgentPhone, PbxSimulator, SimulatorConfig

WAIT = 10.0


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(SimulatorConfig(speed=20))
    await simulator.start()
    yield simulator
    await simulator.close()


async def watcher(sim: PbxSimulator) -> AmiTestClient:
    client = await AmiTestClient.connect(sim.ami_port)
    client.send(("Action", "Login"), ("Username", "bankcti"), ("Secret", "bankcti-secret"))
    await client.wait_for(lambda m: m.get("Message") == "Authentication accepted")
    return client


def states(client: AmiTestClient, device: str) -> list[str]:
    return [m["State"] for m in client.messages if m.event == "DeviceStateChange" and m["Device"] == device]


def is_state(device: str, state: str) -> Callable[[AmiMessage], bool]:
    return lambda m: m.event == "DeviceStateChange" and m["Device"] == device and m["State"] == state


async def test_a_direct_call_to_a_local_agent_device(sim: PbxSimulator) -> None:
    sim.add_phone(AgentPhone("Local/1001@agents", answer_after=1.0))
    client = await watcher(sim)
    call = sim.call_device("Local/1001@agents", caller_id="+8613900000077", caller_name="Colleague")
    await call.wait_answered(timeout=WAIT)
    await client.wait_count(is_state("Local/1001@agents", "INUSE"), 3, within=WAIT)
    (originated,) = [m for m in call.events if m.event == "Newchannel" and m["Channel"].endswith(";1")]
    assert originated["Uniqueid"] == call.uniqueid == call.linkedid
    assert originated["Channel"].startswith("Local/1001@agents-")
    call.hangup()
    await call.wait_finished(timeout=WAIT)
    await client.wait_count(is_state("Local/1001@agents", "NOT_INUSE"), 2, within=WAIT)
    assert states(client, "Local/1001@agents") == ["INUSE"] * 3 + ["NOT_INUSE"] * 2  # trace n
    hangups = [m for m in call.events if m.event == "Hangup"]
    assert [m["Channel"][-2:] for m in hangups] == [";1", ";2"] and {m["Cause"] for m in hangups} == {"16"}
    assert not [m for m in call.events if (m.event or "").startswith("AGI")]  # nothing went through FastAGI
    await client.close()


async def test_a_sip_phone_without_call_waiting_answers_busy_while_on_a_call(sim: PbxSimulator) -> None:
    sim.add_phone(AgentPhone("PJSIP/1002", answer_after=0.5, call_waiting=False))
    client = await watcher(sim)
    first = sim.call_device("PJSIP/1002", caller_id="+8613900000077")
    await first.wait_answered(timeout=WAIT)
    second = sim.call_device("PJSIP/1002", caller_id="+8613900000078")
    with pytest.raises(RuntimeError, match="not answered"):
        await second.wait_answered(timeout=WAIT)
    await second.wait_finished(timeout=WAIT)
    (refused,) = [m for m in second.events if m.event == "Hangup"]
    assert refused["Cause"] == "17"  # 486 Busy Here
    first.hangup()
    await first.wait_finished(timeout=WAIT)
    await client.wait_for(is_state("PJSIP/1002", "NOT_INUSE"), within=WAIT)
    # A SIP device reports each change of its state once (cached, unlike a Local device).
    assert states(client, "PJSIP/1002") == ["INUSE", "RINGING", "INUSE", "NOT_INUSE"]
    third = sim.call_device("PJSIP/1002")  # free again: rings and answers
    await third.wait_answered(timeout=WAIT)
    third.hangup()
    await third.wait_finished(timeout=WAIT)
    await client.close()


async def test_a_direct_call_to_an_unknown_device_fails_at_once(sim: PbxSimulator) -> None:
    call = sim.call_device("PJSIP/9999")
    with pytest.raises(RuntimeError):
        await call.wait_answered(timeout=WAIT)
    await call.wait_finished(timeout=WAIT)
    assert call.channel is None


def test_call_waiting_is_a_sip_phone_setting() -> None:
    with pytest.raises(ValueError, match="PJSIP"):
        AgentPhone("Local/1001@agents", call_waiting=False)


async def test_an_endless_line_from_an_ami_client_closes_its_session(sim: PbxSimulator) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.ami_port)
    try:
        assert await reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
        # The simulator hangs up (EOF, or a reset since our bytes are unread): a timeout means it did not.
        async with asyncio.timeout(WAIT):
            with contextlib.suppress(ConnectionError):
                for _ in range(40):  # 2.5 MiB without a line break: past the parser's 1 MiB limit
                    writer.write(b"x" * 65536)
                    await writer.drain()
                while await reader.read(65536):
                    pass
    finally:
        writer.close()
    other = await watcher(sim)  # the simulator itself is fine
    other.send_message(AmiMessage.of(("Action", "Ping"), ("ActionID", "p1")))
    await other.wait_for(lambda m: m.get("Ping") == "Pong", within=WAIT)
    await other.close()
