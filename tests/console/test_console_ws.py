"""The console websocket: auth, routing, seq, pop re-send and ack, bad input, slow clients."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from console_harness import WAIT, Console, ConsoleFactory, customer_card, offer, recv
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from acd.events import CallConnected, CallEnded, CallQueued


async def closed_code(ws: object) -> int | None:
    """Read until the server closes; return the close code it sent."""
    async with asyncio.timeout(WAIT):
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await ws.recv()  # type: ignore[attr-defined]
    return info.value.rcvd.code if info.value.rcvd else None


@pytest.mark.parametrize(
    "first_message",
    [
        json.dumps({"type": "auth", "token": "forged"}),
        json.dumps({"type": "ping"}),
        json.dumps({"type": "auth"}),
        "not json",
    ],
)
async def test_bad_auth_closes_with_4401(console: Console, first_message: str) -> None:
    async with connect(console.ws_url) as ws:
        await ws.send(first_message)
        assert await closed_code(ws) == 4401


async def test_expired_session_cannot_open_and_is_closed_when_it_ends(make_console: ConsoleFactory) -> None:
    console = await make_console(session_ttl=0.3)
    token = await console.login("alice")
    ws, _ = await console.socket(token)
    assert await closed_code(ws) == 4401  # the session ran out while connected

    async with connect(console.ws_url) as again:
        await again.send(json.dumps({"type": "auth", "token": token}))
        assert await closed_code(again) == 4401


async def test_logout_closes_the_sessions_sockets(console: Console) -> None:
    token = await console.login("alice")
    ws, _ = await console.socket(token)
    response = await console.http.post("/api/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert await closed_code(ws) == 4401


async def test_hello_then_events_only_for_their_agent_with_increasing_seq(console: Console) -> None:
    alice_token, bob_token, sue_token = [await console.login(u) for u in ("alice", "bob", "sue")]
    alice1, hello = await console.socket(alice_token)
    alice2, _ = await console.socket(alice_token)  # a second browser tab
    bob, _ = await console.socket(bob_token)
    sue, sue_hello = await console.socket(sue_token)

    assert hello["seq"] == 1
    assert hello["agent"] == {"login": "alice", "name": "Alice Wang", "role": "agent"}
    assert hello["status"]["state"] == "logged_out"
    assert sue_hello["status"] is None  # a supervisor with no ACD seat

    await console.bus.publish(CallQueued(call_id="c1", queue="retail"))
    await console.bus.publish(offer("c1", "alice", customer=customer_card()))
    await console.bus.publish(CallConnected(call_id="c1", agent_login="alice", queue="retail"))
    await console.bus.publish(
        CallEnded(call_id="c1", outcome="answered")
    )  # no agent: goes to the offered one
    await console.bus.publish(offer("c2", "bob"))

    for tab in (alice1, alice2):
        messages = [await recv(tab) for _ in range(3)]
        assert [m["type"] for m in messages] == ["call.offered", "call.connected", "call.ended"]
        assert [m["seq"] for m in messages] == [2, 3, 4]
        pop = messages[0]["event"]
        assert pop["call_id"] == "c1"
        assert pop["customer"]["name"] == "Zhang Wei"
        assert pop["customer"]["accounts"][0]["masked_number"] == "**** 1234"
        assert pop["ivr_path"][0] == {
            "node": "main",
            "at": pop["ivr_path"][0]["at"],
            "keys": "2",
            "result": "retail",
        }

    # bob's first event is his own offer: alice's call never reached him
    first_for_bob = await recv(bob)
    assert (first_for_bob["type"], first_for_bob["seq"], first_for_bob["event"]["call_id"]) == (
        "call.offered",
        2,
        "c2",
    )

    # the supervisor sees everything, including the queueing
    seen = [await recv(sue) for _ in range(5)]
    assert [m["type"] for m in seen] == [
        "call.queued",
        "call.offered",
        "call.connected",
        "call.ended",
        "call.offered",
    ]
    assert [m["seq"] for m in seen] == [2, 3, 4, 5, 6]


async def test_agent_state_changes_reach_the_agent(console: Console) -> None:
    token = await console.login("bob")
    ws, _ = await console.socket(token)
    response = await console.http.post(
        "/api/agent/state", json={"state": "available"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    event = await recv(ws)
    assert event["type"] == "agent.state"
    assert event["event"]["agent_login"] == "bob"
    assert event["event"]["state"] == "available"


async def test_unacked_pop_is_resent_on_reconnect_until_acked(console: Console) -> None:
    token = await console.login("alice")
    ws, _ = await console.socket(token)
    await console.bus.publish(offer("c7", "alice"))
    pop = await recv(ws)
    assert pop["type"] == "call.offered"
    await ws.close()  # the tab dies before acknowledging

    ws, _ = await console.socket(token)
    resent = await recv(ws)
    assert (resent["type"], resent["seq"], resent["event"]["call_id"]) == ("call.offered", 2, "c7")
    await ws.send(json.dumps({"type": "ack", "seq": resent["seq"]}))
    await ws.send(json.dumps({"type": "ping"}))
    assert (await recv(ws))["type"] == "pong"  # the ack before it has been handled
    await ws.close()

    ws, _ = await console.socket(token)
    await console.bus.publish(CallConnected(call_id="c7", agent_login="alice", queue="retail"))
    nxt = await recv(ws)
    assert (nxt["type"], nxt["seq"]) == ("call.connected", 2)  # no second re-send of c7
    await ws.close()


async def test_ended_or_rerouted_call_is_not_resent(console: Console) -> None:
    token = await console.login("alice")
    ws, _ = await console.socket(token)
    await console.bus.publish(offer("c8", "alice"))
    await console.bus.publish(offer("c9", "alice"))
    assert [(await recv(ws))["event"]["call_id"] for _ in range(2)] == ["c8", "c9"]
    await ws.close()
    await console.bus.publish(CallEnded(call_id="c8", outcome="abandoned_in_queue", agent_login="alice"))
    await console.bus.publish(offer("c9", "bob"))  # ring timeout: the ACD re-routed c9
    await console.bus.publish(offer("c10", "alice"))

    ws, _ = await console.socket(token)
    nxt = await recv(ws)
    assert nxt["event"]["call_id"] == "c10"
    await ws.close()


async def test_bad_input_gets_an_error_and_the_socket_keeps_working(console: Console) -> None:
    token = await console.login("alice")
    ws, _ = await console.socket(token)
    cases = [
        ("{bad json", "not valid JSON"),
        ("[" * 60_000, "not valid JSON"),  # nesting deep enough to exhaust the parser's recursion
        (json.dumps([1, 2]), '"type"'),
        (json.dumps({"type": "dance"}), "unknown message type 'dance'"),
        (json.dumps({"type": "ack", "seq": "7"}), "integer"),
        (json.dumps({"type": "ack", "seq": True}), "integer"),
        (json.dumps({"type": "auth", "token": token}), "already authenticated"),
        (b"\x00binary", "text frames"),
    ]
    expected_seq = 2
    for payload, fragment in cases:
        await ws.send(payload)
        reply = await recv(ws)
        assert reply["type"] == "error", payload
        assert fragment in reply["message"], (payload, reply)
        assert reply["seq"] == expected_seq
        expected_seq += 1
    await ws.send(json.dumps({"type": "ack", "seq": 999}))  # nothing to ack: ignored
    await ws.send(json.dumps({"type": "ping"}))
    assert (await recv(ws))["type"] == "pong"
    await console.bus.publish(offer("c11", "alice"))
    assert (await recv(ws))["event"]["call_id"] == "c11"
    await ws.close()


async def test_an_oversized_message_closes_with_1009(console: Console) -> None:
    token = await console.login("alice")
    ws, _ = await console.socket(token)
    await ws.send("x" * 100_000)  # browsers only ever send acks and pings
    assert await closed_code(ws) == 1009
    ws, _ = await console.socket(token)  # the gateway itself is unharmed
    await ws.close()


async def test_a_client_that_stops_reading_does_not_hold_back_others(make_console: ConsoleFactory) -> None:
    console = await make_console(queue_size=8)
    token = await console.login("alice")
    fast, _ = await console.socket(token)

    # A tiny receive buffer, a one-frame client queue and no compression (the
    # pops are repetitive): this tab's TCP window closes almost at once.
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", console.server.port))
    slow, _ = await console.socket(token, sock=raw, max_queue=1, compression=None)

    # Each pop is ~100 kB; the slow tab's buffers fill after a few dozen of them.
    big = customer_card(notes_size=20_000)
    for n in range(200):
        await console.bus.publish(offer(f"big-{n}", "alice", customer=big))
        message = await recv(fast)
        assert message["event"]["call_id"] == f"big-{n}"
        if console.connections() == 1:
            break
    assert console.connections() == 1, "the slow tab was never dropped"

    # The fast tab goes on; the slow one, once it reads again, finds a 1013 close.
    await console.bus.publish(offer("after", "alice"))
    assert (await recv(fast))["event"]["call_id"] == "after"
    assert await closed_code(slow) == 1013
    await fast.close()
