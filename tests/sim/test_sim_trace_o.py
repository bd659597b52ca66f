"""Faithfulness: scenarios o1/o2 (``core restart now`` seen by an AMI client, then the reconnect).

o1: a logged-in client gets ``Event: Shutdown`` / ``Privilege: system,all`` /
``Shutdown: Cleanly`` / ``Restart: True`` — byte for byte the trace's — and
then EOF, no ``Goodbye``.  o2: connects are refused for a while; then the
banner, ``Authentication accepted`` and the startup ``FullyBooted`` (keys
``Status``, ``Uptime: 0``, ``LastReload: 0`` in that order) a moment after the
login; ``CoreStatus`` counts no calls.  ``SuccessfulAuth`` is left out: the
lab user of h–o has no ``security`` read class.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sim_harness import TRACES, AmiTestClient, trace_messages
from trace_compare import canonical, shapes

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

O1, O2 = "ami-o1-core-restart-now", "ami-o2-reconnect-after-restart"
SHUTDOWN_BYTES = b"Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: True\r\n\r\n"


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(SimulatorConfig(ami_username="cti", ami_secret="cti-secret", speed=20))
    await simulator.start()
    yield simulator
    await simulator.close()


def _requests(trace: str) -> dict[str, AmiMessage]:
    return {m["ActionID"]: m for m in trace_messages(trace, "client-to-server")}


def _seen(messages: list[AmiMessage]) -> list[AmiMessage]:
    return [m for m in messages if m.event != "SuccessfulAuth"]


async def _connect_when_back(port: int, within: float = 5.0) -> tuple[AmiTestClient, int]:
    """Retry every 20 ms like the lab client; the client and the number of refused connects."""
    refused = 0
    async with asyncio.timeout(within):
        while True:
            try:
                return await AmiTestClient.connect(port), refused
            except ConnectionRefusedError:
                refused += 1
                await asyncio.sleep(0.02)


async def test_restart_sends_shutdown_closes_refuses_and_comes_back_fresh(sim: PbxSimulator) -> None:
    port = sim.ami_port
    o1, o2 = _requests(O1), _requests(O2)
    client = await AmiTestClient.connect(port)
    client.send_message(o1["login-1"])
    client.send_message(o1["ping-2"])
    await client.wait_for(lambda m: m.get("ActionID") == "ping-2")
    restart = asyncio.create_task(sim.restart(down_for=0.3, boot_for=0.03))
    await client.wait_closed()
    ours = _seen(client.messages)
    real = trace_messages(O1)
    assert shapes(ours) == shapes(real)
    assert canonical(ours) == canonical(real)
    raw = (TRACES / f"{O1}.server-to-client.raw").read_bytes()
    assert raw.endswith(SHUTDOWN_BYTES)
    assert client.parser.buffered == 0  # nothing after the Shutdown, not even a Goodbye
    await client.close()

    again, refused = await _connect_when_back(port)
    assert refused >= 3  # 0.3 s down, tried every 20 ms
    try:
        again.send_message(o2["login-1"])
        await again.wait_for(lambda m: m.event == "FullyBooted")
        await restart
        for action_id in ("corestatus-2", "logoff-3"):
            again.send_message(o2[action_id])
        await again.wait_closed()
        ours = _seen(again.messages)
        real = trace_messages(O2)
        assert shapes(ours) == shapes(real)
        assert canonical(ours) == canonical(real)
        booted = next(m for m in ours if m.event == "FullyBooted")
        assert (booted["Uptime"], booted["LastReload"]) == ("0", "0")
        assert sim.pbx.config.ami_port == 0 and sim.ami_port == port
    finally:
        await again.close()


async def test_a_restart_ends_every_call_and_a_login_after_boot_gets_fully_booted_at_once(
    sim: PbxSimulator,
) -> None:
    sim.set_global("AGENT_1001_TALK", "")
    call = sim.call_device("Local/1001@agents")
    await call.wait_answered(timeout=5)
    watcher = await AmiTestClient.connect(sim.ami_port)
    watcher.send(("Action", "Login"), ("Username", "cti"), ("Secret", "cti-secret"))
    await watcher.wait_for(lambda m: m.event == "FullyBooted")
    await sim.restart(down_for=0.05, boot_for=0.01)
    await watcher.wait_closed()
    shutdown = watcher.messages[-1]
    assert (shutdown.event, shutdown["Shutdown"], shutdown["Restart"]) == ("Shutdown", "Uncleanly", "True")
    await watcher.close()
    assert sim.channels() == [] and sim.pbx.globals["AGENT_1001_TALK"] == "5"
    client = await AmiTestClient.connect(sim.ami_port)
    try:
        client.send(("Action", "Login"), ("Username", "cti"), ("Secret", "cti-secret"))
        client.send(("Action", "CoreShowChannels"), ("ActionID", "csc"))
        await client.wait_for(lambda m: m.event == "CoreShowChannelsComplete")
        booted = next(m for m in client.messages if m.event == "FullyBooted")
        assert booted.keys() == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
        assert client.messages[-1]["ListItems"] == "0"
    finally:
        await client.close()
