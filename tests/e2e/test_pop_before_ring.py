"""The pop is received before the phone rings (issue 13, item 1).

Real sockets throughout: the PBX simulator's AMI and FastAGI, the console
gateway's websocket and a console client per agent.  The clients sit behind
a modelled network (``link_delay``): a pop takes 40 ms to reach them, far
longer than the PBX takes from ``EXEC Dial`` to ringing — so a call flow that
dialled without waiting for the console's receipt would ring first.  The
moment a device starts ringing is taken where the simulator emits its
``DialBegin``, the earliest moment anything could know it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest
from acd_kit import AgentSpec, World, world

from bankcti.bench.console_client import AgentConsoleClient
from cti.ami.message import AmiMessage

QUEUES = """
[queues.general]
strategy = "{strategy}"
wrapup_seconds = 0
ring_timeout = 20
"""
LINK_DELAY = 0.04
AGENTS = [
    AgentSpec("ann", "1001", ("general",), answer_after=1.0),
    AgentSpec("bob", "1002", ("general",), answer_after=1.0),
    AgentSpec("cat", "1003", ("general",), answer_after=1.0),
]
CALLERS = ["+8613900000091", "+8613900000092", "+8613900000093"]


def watch_rings(w: World) -> dict[tuple[str, str], float]:
    """(linkedid, device) → when the simulator emitted the device's first ``DialBegin``."""
    rang: dict[tuple[str, str], float] = {}

    def listener(message: AmiMessage) -> None:
        if message.get("Event") == "DialBegin":
            device = (message.get("DestChannel") or "").rsplit("-", 1)[0]
            rang.setdefault((message.get("Linkedid") or "", device), time.time())

    assert w.stack.simulator is not None
    w.stack.simulator.pbx.listeners.append(listener)
    return rang


async def consoles(
    w: World, specs: list[AgentSpec], *, auto_ack: bool = True, link_delay: float = 0.0
) -> dict[str, AgentConsoleClient]:
    clients: dict[str, AgentConsoleClient] = {}
    for spec in specs:
        client = AgentConsoleClient(w.stack.http_url, auto_ack=auto_ack, link_delay=link_delay)
        await client.login(spec.login, "pw-" + spec.login)
        await client.connect()
        clients[spec.login] = client
    return clients


async def counters(w: World) -> dict[str, int]:
    """The pop counters over the API, as a supervisor reads them."""
    assert w.stack.service is not None
    await w.stack.service.agents.create_agent("sue", "Sue", "pw-sue", extension="1900", role="supervisor")
    async with httpx.AsyncClient(base_url=w.stack.http_url, timeout=10) as http:
        token = (await http.post("/api/login", json={"login": "sue", "password": "pw-sue"})).json()["token"]
        response = await http.get("/api/metrics", headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        pops: dict[str, int] = response.json()["pops"]
    return pops


@pytest.mark.parametrize("strategy", ["longest-idle", "ring-all"])
async def test_every_pop_is_received_before_the_agents_phone_rings(
    db_url: str, tmp_path: Path, strategy: str
) -> None:
    queues = QUEUES.format(strategy=strategy)
    async with world(db_url, tmp_path, AGENTS, queues=queues, extra={"acd_pop_ack_wait_ms": 300}) as w:
        rang = watch_rings(w)
        clients = await consoles(w, AGENTS, link_delay=LINK_DELAY)
        try:
            for client in clients.values():
                await client.set_state("available")
            calls = [await w.call(number, "1", hangup_after_answer=1.0) for number in CALLERS]
            for call in calls:
                await call.wait_finished(timeout=30)
            pops = [
                (message.event["call_id"], f"PJSIP/{spec.extension}", message.received_at)
                for spec in AGENTS
                for message in clients[spec.login].received
                if message.type == "call.offered"
            ]
            answered = await counters(w)
        finally:
            for client in clients.values():
                await client.close()
    assert {call.answered_by for call in calls} <= {spec.device for spec in AGENTS}
    assert all(call.answered_by for call in calls)
    assert {call_id for call_id, _, _ in pops} == {call.linkedid for call in calls}
    if strategy == "ring-all":
        assert len(pops) > len(calls)  # some calls rang several agents at once
    for call_id, device, received in pops:
        assert (call_id, device) in rang, f"{device} never rang for {call_id}"
        gap = rang[(call_id, device)] - received
        assert gap > 0, f"{device} rang {-gap * 1000:.1f} ms before its pop of {call_id} was received"
    assert answered["late"] == 0
    assert answered["received_in_time"] == answered["gated"] == len(pops)


async def test_a_console_that_never_acknowledges_delays_the_ring_by_the_bound_only(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ann = AGENTS[0]
    caplog.set_level(logging.WARNING, logger="bankcti.calls.pop_gate")
    queues = QUEUES.format(strategy="longest-idle")
    async with world(db_url, tmp_path, [ann], queues=queues, extra={"acd_pop_ack_wait_ms": 400}) as w:
        rang = watch_rings(w)
        clients = await consoles(w, [ann], auto_ack=False)
        try:
            await clients["ann"].set_state("available")
            call = await w.call(CALLERS[0], "1", hangup_after_answer=1.0)
            pop = await clients["ann"].next_message("call.offered", timeout=15)
            await call.wait_finished(timeout=30)
            seen = await counters(w)
        finally:
            await clients["ann"].close()
    assert call.answered_by == ann.device
    # Dialled once the bound was over, not before and not much after.
    waited = rang[(call.linkedid, ann.device)] - pop.event["at"]
    assert 0.4 <= waited < 0.4 + 0.3, waited
    late = [r for r in caplog.records if r.getMessage() == "call.pop_late"]
    assert [(r.call_id, r.agents) for r in late] == [(call.linkedid, ["ann"])]  # type: ignore[attr-defined]
    assert (seen["gated"], seen["late"], seen["received_in_time"]) == (1, 1, 0)


async def test_an_agent_without_a_console_is_rung_without_waiting(db_url: str, tmp_path: Path) -> None:
    ann = AGENTS[0]
    queues = QUEUES.format(strategy="longest-idle")
    async with world(db_url, tmp_path, [ann], queues=queues, extra={"acd_pop_ack_wait_ms": 3000}) as w:
        rang = watch_rings(w)
        await w.state("ann", "available")  # logged in, no websocket anywhere
        call = await w.call(CALLERS[0], "1", hangup_after_answer=1.0)
        offered = await w.recorder.transition(call.linkedid, "offered")
        await call.wait_finished(timeout=30)
        seen = await counters(w)
    assert call.answered_by == ann.device
    assert rang[(call.linkedid, ann.device)] - offered.at < 1.0  # not the 3 s bound
    assert (seen["no_console"], seen["gated"], seen["late"]) == (1, 0, 0)
