"""DTMF delivery like trace f: only a running digit-reading command gets the digits.

PlayDTMF to the caller leg ``;1`` (or to ``;2`` with ``Receive: yes``)
reaches a running ``GET DATA``; digits sent during ``STREAM FILE ""`` or
while the AGI is between commands are lost, yet still show as DTMF events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sim_harness import AgiScriptConn, AmiTestClient, ScriptedAgi

from cti.simulator import PbxSimulator, SimulatorConfig


@pytest.fixture
async def lab() -> AsyncIterator[tuple[PbxSimulator, ScriptedAgi, asyncio.Event]]:
    between = asyncio.Event()

    async def script(conn: AgiScriptConn) -> None:
        await conn.command("ANSWER")
        await conn.command("GET DATA beep 4000 1")
        await conn.command("GET DATA beep 4000 1")
        await conn.command('STREAM FILE hello-world ""')
        between.set()
        await asyncio.sleep(0.2)
        await conn.command("GET DATA beep 200 1")
        await conn.command("GET DATA beep 4000 5")

    agi = ScriptedAgi(script)
    port = await agi.start()
    sim = PbxSimulator(SimulatorConfig(agi_port=port, speed=10, prompt_ms=1000))
    await sim.start()
    yield sim, agi, between
    await sim.close()
    await agi.close()


async def test_dtmf_reaches_only_reading_commands(
    lab: tuple[PbxSimulator, ScriptedAgi, asyncio.Event],
) -> None:
    sim, agi, between = lab
    client = await AmiTestClient.connect(sim.ami_port)
    client.send(("Action", "Login"), ("Username", "bankcti"), ("Secret", "bankcti-secret"))
    client.send(
        ("Action", "Originate"),
        ("Channel", "Local/s@dtmf-lab"),
        ("Context", "caller"),
        ("Exten", "wait"),
        ("Async", "true"),
    )
    one = (await client.wait_for(lambda m: m.event == "Newchannel"))["Channel"]
    two = one[:-1] + "2"

    def started(command: str, count: int = 1) -> asyncio.Future[None]:
        return asyncio.ensure_future(
            client.wait_count(lambda m: m.event == "AGIExecStart" and m["Command"] == command, count)
        )

    await started("GET DATA beep 4000 1")
    client.send(("Action", "PlayDTMF"), ("Channel", one), ("Digit", "1"))
    await started("GET DATA beep 4000 1", 2)
    client.send(("Action", "PlayDTMF"), ("Channel", two), ("Digit", "2"), ("Receive", "yes"))
    await started('STREAM FILE hello-world ""')
    client.send(("Action", "PlayDTMF"), ("Channel", one), ("Digit", "6"))
    await between.wait()
    client.send(("Action", "PlayDTMF"), ("Channel", one), ("Digit", "8"))
    await started("GET DATA beep 4000 5")
    for digit in "1234#":
        client.send(("Action", "PlayDTMF"), ("Channel", one), ("Digit", digit))
    await agi.done.wait()
    replies = agi.sessions[0].replies
    assert replies[1:4] == ["200 result=1", "200 result=2", "200 result=0 endpos=8000"]
    assert replies[4:] == ["200 result= (timeout)", "200 result=1234"]
    ends = [(m["Channel"] == two, m["Digit"]) for m in client.messages if m.event == "DTMFEnd"]
    assert ends == [(True, d) for d in "12681234#"]
    assert [m["Digit"] for m in client.messages if m.event == "DTMFBegin"] == list("16812") + list("34#")
    await client.close()
