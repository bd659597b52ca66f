"""CRM and the websocket: who receives which events, audited screen-pops, offered customers readable."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import console_harness
import pytest
from console_harness import WAIT, ConsoleFactory, Identity, offer, recv
from crm_harness import CrmConsole, CrmConsoleFactory, ok, refused
from sqlalchemy import update
from websockets.asyncio.client import ClientConnection

from acd.events import AgentStateChanged, CallConnected, CallEnded, CallQueued
from agent_console.crm.actors import DbActorResolver
from crm_core.models import Agent
from crm_core.schemas import CustomerCard


def card(customer_id: int) -> CustomerCard:
    return CustomerCard(id=customer_id, name="Zhang Wei", tier="gold", phone_e164="+8613800138000")


async def next_event(ws: ClientConnection) -> tuple[str, str]:
    """``(type, agent or call id)`` of the next bus event on ``ws``."""
    message = await recv(ws)
    event: dict[str, Any] = message["event"]
    return message["type"], event.get("agent_login") or event["call_id"]


async def test_supervisors_get_their_teams_events_admins_all(crm_console: CrmConsole) -> None:
    sue, _ = await crm_console.socket("sue")
    sam, _ = await crm_console.socket("sam")
    root, _ = await crm_console.socket("root")
    alice, _ = await crm_console.socket("alice")

    await crm_console.bus.publish(CallQueued(call_id="q1", queue="retail"))
    await crm_console.bus.publish(offer("c-carol", "carol"))
    await crm_console.bus.publish(offer("c-alice", "alice"))
    await crm_console.bus.publish(AgentStateChanged(agent_login="bob", state="paused", reason="lunch"))

    assert [await next_event(sue) for _ in range(2)] == [("call.offered", "alice"), ("agent.state", "bob")]
    assert await next_event(sam) == ("call.offered", "carol")
    assert [await next_event(root) for _ in range(4)] == [
        ("call.queued", "q1"),
        ("call.offered", "carol"),
        ("call.offered", "alice"),
        ("agent.state", "bob"),
    ]
    assert await next_event(alice) == ("call.offered", "alice")
    # nothing else is on its way to sam or alice: their next event is the next one about them
    await crm_console.bus.publish(CallEnded(call_id="c-carol", outcome="answered"))
    await crm_console.bus.publish(AgentStateChanged(agent_login="alice", state="available"))
    assert await next_event(sam) == ("call.ended", "c-carol")
    assert await next_event(alice) == ("agent.state", "alice")
    for ws in (sue, sam, root, alice):
        await ws.close()


async def test_a_team_change_reaches_an_open_supervisor_socket(make_crm_console: CrmConsoleFactory) -> None:
    console = await make_crm_console(scope_refresh=0.05)
    sue, _ = await console.socket("sue")
    async with console.sessions() as session, session.begin():
        north = console.office.team_ids["North"]
        await session.execute(update(Agent).where(Agent.login == "carol").values(team_id=north))
    resolver = console.services.actors
    assert isinstance(resolver, DbActorResolver)
    resolver.forget()
    seen: list[tuple[str, str]] = []
    async with asyncio.timeout(WAIT):
        while ("agent.state", "carol") not in seen:
            # Each round: an event about carol, then one about alice as a marker.
            await console.bus.publish(AgentStateChanged(agent_login="carol", state="available"))
            await console.bus.publish(AgentStateChanged(agent_login="alice", state="available"))
            while (event := await next_event(sue)) != ("agent.state", "alice"):
                seen.append(event)
            if not seen:
                await asyncio.sleep(0.05)  # the next scope refresh is a timer, not an event
    await sue.close()


async def test_a_screen_pop_is_an_audited_view_that_opens_the_record(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    path = f"/api/crm/customers/{zhang}"
    refused(await crm_console.call("GET", path, "bob"), 403)
    bob, _ = await crm_console.socket("bob")

    await crm_console.bus.publish(offer("call-9", "bob", customer=card(zhang)))
    pop = await recv(bob)
    assert pop["event"]["customer"]["id"] == zhang
    await crm_console.pops_audited()
    [row] = await crm_console.audit_rows(action="view", actor_login="bob")
    assert (row.entity, row.entity_id, row.remote_addr) == ("customer", str(zhang), "127.0.0.1")
    assert row.detail == {"view": "screen-pop", "call_id": "call-9"}

    # while the call is offered, connected, and wrapped up, bob may read (not change) the record
    assert ok(await crm_console.call("GET", path, "bob"))["access"] == "read"
    refused(await crm_console.call("PATCH", path, "bob", json={"tier": "vip"}), 403)
    await crm_console.bus.publish(CallConnected(call_id="call-9", agent_login="bob", queue="retail"))
    await crm_console.bus.publish(CallEnded(call_id="call-9", outcome="answered", agent_login="bob"))
    await crm_console.bus.publish(AgentStateChanged(agent_login="bob", state="wrap_up", call_id="call-9"))
    assert [(await recv(bob))["type"] for _ in range(3)] == ["call.connected", "call.ended", "agent.state"]
    assert ok(await crm_console.call("GET", path, "bob"))["access"] == "read"
    await crm_console.bus.publish(AgentStateChanged(agent_login="bob", state="available"))
    assert (await recv(bob))["type"] == "agent.state"
    refused(await crm_console.call("GET", path, "bob"), 403)
    await bob.close()


async def test_a_pop_is_audited_when_delivered_and_a_rerouted_call_closes_the_record(
    crm_console: CrmConsole,
) -> None:
    zhang = crm_console.customer("zhang")
    await crm_console.bus.publish(offer("call-5", "bob", customer=card(zhang)))
    carol, _ = await crm_console.socket("carol")
    await crm_console.bus.publish(offer("call-6", "carol"))  # marker: call-5 has been routed before it
    assert (await recv(carol))["event"]["call_id"] == "call-6"
    await crm_console.pops_audited()
    assert await crm_console.audit_rows(actor_login="bob") == []  # bob's browser is closed: not seen yet
    assert ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "bob"))["access"] == "read"

    bob, _ = await crm_console.socket("bob")  # the pop is re-sent on connection: now it is seen
    assert (await recv(bob))["event"]["call_id"] == "call-5"
    await crm_console.pops_audited()
    views = await crm_console.audit_rows(action="view", actor_login="bob")
    assert [r.detail for r in views] == [{"limited": False}, {"view": "screen-pop", "call_id": "call-5"}]

    await crm_console.bus.publish(offer("call-5", "carol", customer=card(zhang)))  # ring timeout: re-routed
    assert (await recv(carol))["event"]["call_id"] == "call-5"
    refused(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "bob"), 403)
    assert ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "carol"))["access"] == "read"
    for ws in (bob, carol):
        await ws.close()


async def test_supervisors_annotate_only_their_teams_calls(crm_console: CrmConsole) -> None:
    root, _ = await crm_console.socket("root")
    await crm_console.bus.publish(offer("call-a", "alice"))
    await crm_console.bus.publish(offer("call-c", "carol"))
    assert [(await recv(root))["event"]["call_id"] for _ in range(2)] == ["call-a", "call-c"]
    note = {"notes": "checked", "disposition": "resolved"}
    ok(await crm_console.call("PUT", "/api/calls/call-a/wrap-up", "sue", json=note))
    refused(await crm_console.call("PUT", "/api/calls/call-c/wrap-up", "sue", json=note), 403)
    ok(await crm_console.call("PUT", "/api/calls/call-c/wrap-up", "sam", json=note))
    ok(await crm_console.call("PUT", "/api/calls/call-c/wrap-up", "root", json=note))
    refused(await crm_console.call("PUT", "/api/calls/call-c/wrap-up", "alice", json=note), 403)
    await root.close()


async def test_client_messages_are_checked_against_the_role(
    make_console: ConsoleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(console_harness.USERS, "eve", ("eve-pw", Identity("eve", "Eve", "auditor")))
    monkeypatch.setitem(console_harness.USERS, "root", ("root-pw", Identity("root", "Root", "admin")))
    console = await make_console()
    eve, _ = await console.socket(await console.login("eve"))
    for kind in ("ping", "ack"):
        await eve.send(json.dumps({"type": kind, "seq": 1}))
        assert (await recv(eve))["message"] == f"a auditor may not send {kind!r} messages"
    root, _ = await console.socket(await console.login("root"))
    await root.send(json.dumps({"type": "ping"}))
    assert (await recv(root))["type"] == "pong"
    await console.bus.publish(CallQueued(call_id="q7", queue="retail"))  # no CRM: an admin sees everything
    assert (await recv(root))["type"] == "call.queued"
    for ws in (eve, root):
        await ws.close()
