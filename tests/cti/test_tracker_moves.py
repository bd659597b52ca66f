"""The tracker tells a transfer or a redirect from a hang-up (traces k1, m1, j2).

The FastAGI session of a blind-transferred or redirected customer sees what a hang-up
looks like (``EXEC Dial`` returns, ``HANGUP``, ``511``) while the channel lives on; the
AMI knows better.  A real simulator (AMI and FastAGI over TCP, the lab dialplan) is
driven as in the traces and its AMI events are fed to a :class:`CallTracker`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig
from cti.tracker import CallTracker

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


class Script:
    """A FastAGI server running: ANSWER, EXEC Dial <dial>, then WAIT FOR DIGIT 250 once released."""

    def __init__(self, dial: str) -> None:
        self.dial = dial
        self.replies: list[str] = []
        self.release = asyncio.Event()
        self.done = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()) not in (b"\n", b""):
                pass
            commands = ["ANSWER"] + ([f"EXEC Dial {self.dial}"] if self.dial else ["WAIT FOR DIGIT 10000"])
            for line in commands:
                self.replies.append(await self._command(reader, writer, line))
            await self.release.wait()
            self.replies.append(await self._command(reader, writer, "WAIT FOR DIGIT 250"))
        finally:
            writer.close()
            self.done.set()

    async def _command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str) -> str:
        writer.write(line.encode() + b"\n")
        while True:
            reply = (await reader.readline()).decode().rstrip("\n")
            if reply != "HANGUP":
                return reply


class Lab:
    def __init__(self, sim: PbxSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sim, self.reader, self.writer = sim, reader, writer
        self.tracker = CallTracker()
        self.messages: list[AmiMessage] = []

    async def pump(self) -> None:
        from cti.ami.message import AmiParser

        parser = AmiParser(expect_banner=True)
        while data := await self.reader.read(65536):
            for message in parser.feed(data):
                self.messages.append(message)
                self.tracker.feed(message)

    def send(self, *pairs: tuple[str, str]) -> None:
        self.writer.write(AmiMessage(list(pairs)).encode())

    async def until(self, event: str, **fields: str) -> AmiMessage:
        for _ in range(500):
            for m in self.messages:
                if m.event == event and all(m.get(k) == v for k, v in fields.items()):
                    return m
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {event} {fields}")


@pytest.fixture
async def lab_for() -> AsyncIterator[object]:
    opened: list[tuple[PbxSimulator, asyncio.Server, asyncio.Task[None], asyncio.StreamWriter]] = []

    async def make(script: Script) -> Lab:
        server = await asyncio.start_server(script.serve, "127.0.0.1", 0)
        port = int(server.sockets[0].getsockname()[1])
        sim = PbxSimulator(
            SimulatorConfig(ami_username="cti", ami_secret="cti-secret", agi_port=port, speed=20)
        )
        await sim.start()
        sim.set_global("AGENT_1001_TALK", "3600")
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.ami_port)
        lab = Lab(sim, reader, writer)
        task = asyncio.get_running_loop().create_task(lab.pump())
        opened.append((sim, server, task, writer))
        lab.send(("Action", "Login"), ("Username", "cti"), ("Secret", "cti-secret"))
        lab.send(
            ("Action", "Originate"),
            ("Channel", "Local/s@lab-agi"),
            ("Context", "driver-caller"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("CallerID", '"Alice Customer" <+15551230001>'),
            ("Async", "true"),
            ("Variable", "LAB_SCRIPT=x"),
        )
        return lab

    yield make
    for sim, server, task, writer in opened:
        writer.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.close()
        server.close()


async def test_a_blind_transferred_customer_is_alive_and_marked_transferred(lab_for) -> None:  # type: ignore[no-untyped-def]
    script = Script("Local/1001@agents,60")
    lab: Lab = await lab_for(script)
    entered = await lab.until("BridgeEnter")
    agent = entered["Channel"]
    customer = (await lab.until("DialBegin", DestChannel=agent))["Channel"]
    uniqueid = next(
        m["Uniqueid"] for m in lab.messages if m.event == "Newchannel" and m["Channel"] == customer
    )
    linkedid = entered["Linkedid"]
    await lab.until("BridgeEnter", Channel=customer)
    lab.send(("Action", "BlindTransfer"), ("Channel", agent), ("Exten", "1002"), ("Context", "lab-xfer"))
    await lab.until("AGIExecEnd", Channel=customer)
    await asyncio.sleep(0.05)
    assert script.replies[1] == "200 result=0"  # EXEC Dial returned as if hung up…
    assert lab.tracker.channel_alive(uniqueid)  # …but the channel lives on
    assert lab.tracker.moved_on(uniqueid) == "blind_transfer"
    assert lab.tracker.transferred(linkedid)
    script.release.set()
    await asyncio.wait_for(script.done.wait(), 10)
    assert script.replies[2] == DEAD
    await lab.until("DialBegin", Channel=customer, Exten="1002")  # at the target once the AGI closed
    assert lab.tracker.channel_alive(uniqueid)


async def test_a_redirected_channel_is_alive_a_hung_up_one_is_not(lab_for) -> None:  # type: ignore[no-untyped-def]
    script = Script("")
    lab: Lab = await lab_for(script)
    start = await lab.until("AGIExecStart", Command="WAIT FOR DIGIT 10000")
    channel, uniqueid = start["Channel"], start["Uniqueid"]
    lab.send(
        ("Action", "Redirect"),
        ("Channel", channel),
        ("Context", "lab-redirected"),
        ("Exten", "s"),
        ("Priority", "1"),
    )
    await lab.until("AGIExecEnd", Command="WAIT FOR DIGIT 10000")
    assert script.replies[1] == "200 result=-1"
    assert lab.tracker.channel_alive(uniqueid) and lab.tracker.moved_on(uniqueid) is None
    assert not lab.tracker.transferred(start["Linkedid"])
    script.release.set()
    await asyncio.wait_for(script.done.wait(), 10)
    await lab.until("Hangup", Channel=channel)  # lab-redirected: Wait(2), Hangup()
    assert not lab.tracker.channel_alive(uniqueid)
