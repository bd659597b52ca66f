"""The wallboard over a real console: subscription, pushes, roles, reconnection, seeding from the history.

See test_console_wallboard for the figures themselves (hand-computed).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from console_harness import WAIT, ConsoleFactory, recv
from crm_harness import CrmConsoleFactory
from sqlalchemy import select
from wallboard_harness import FixedAcd, at
from websockets.asyncio.client import ClientConnection

from acd.events import CallConnected, CallOffered, CallQueued
from agent_console.wallboard.board import WallboardConfig
from agent_console.wallboard.seed import DbCallHistory
from crm_core.models import Agent, Interaction

Message = dict[str, Any]


async def next_of(ws: ClientConnection, kind: str, seen: list[Message] | None = None) -> Message:
    """The next message of type ``kind`` (others are kept in ``seen``)."""
    async with asyncio.timeout(WAIT):
        while True:
            message = await recv(ws)
            if message["type"] == kind:
                return message
            if seen is not None:
                seen.append(message)


async def board_until(ws: ClientConnection, check: Any) -> dict[str, Any]:
    """Wallboard messages until one satisfies ``check``; returns its board."""
    async with asyncio.timeout(WAIT):
        while True:
            board: dict[str, Any] = (await next_of(ws, "wallboard"))["event"]
            if check(board):
                return board


async def subscribe(ws: ClientConnection) -> Message:
    """Subscribe to the wallboard; returns the board sent at once."""
    await ws.send(json.dumps({"type": "subscribe", "topic": "wallboard"}))
    return await next_of(ws, "wallboard")


def retail_of(board: dict[str, Any]) -> dict[str, Any]:
    return next(
        (q for q in board["queues"] if q["name"] == "retail"), {"waiting": 0, "offered": 0, "answered": 0}
    )


async def test_a_subscribed_supervisor_gets_the_board_then_its_changes_and_agents_never(
    make_console: ConsoleFactory,
) -> None:
    console = await make_console(wallboard=WallboardConfig(push_interval=0.05))
    sue, _ = await console.socket(await console.login("sue"))
    alice, _ = await console.socket(await console.login("alice"))
    first = await subscribe(sue)
    assert first["seq"] == 2 and first["event"]["queues"] == []
    await alice.send(json.dumps({"type": "subscribe", "topic": "wallboard"}))
    assert (await recv(alice))["message"] == "a agent may not send 'subscribe' messages"
    await sue.send(json.dumps({"type": "subscribe", "topic": "gossip"}))
    assert (await recv(sue))["message"] == 'unknown topic; subscribe to "wallboard"'

    await console.bus.publish(CallQueued(call_id="L1", queue="retail"))
    board = await board_until(sue, lambda b: retail_of(b)["waiting"] == 1)
    assert retail_of(board)["offered"] == 1

    await console.bus.publish(CallOffered(call_id="L1", agent_login="alice", queue="retail"))
    await console.bus.publish(CallConnected(call_id="L1", agent_login="alice", queue="retail"))
    board = await board_until(sue, lambda b: retail_of(b)["answered"] == 1)
    assert retail_of(board)["waiting"] == 0
    seen: list[dict[str, Any]] = []
    await next_of(alice, "call.connected", seen)
    assert [m["type"] for m in seen] == ["call.offered"]  # no wallboard for an agent

    async with httpx.AsyncClient(base_url=console.server.url, timeout=WAIT) as http:
        token = await console.login("alice")
        response = await http.get("/api/wallboard", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403
        assert "supervisors" in response.json()["detail"]
        assert (await http.get("/api/wallboard")).status_code == 401
    await sue.close()
    await alice.close()


async def test_a_reconnecting_supervisor_gets_the_true_board_at_once(make_console: ConsoleFactory) -> None:
    console = await make_console(wallboard=WallboardConfig(push_interval=0.05))
    token = await console.login("sue")
    watcher, _ = await console.socket(token)  # sue's other screen stays connected throughout
    await subscribe(watcher)
    sue, _ = await console.socket(token)
    await subscribe(sue)
    await sue.close()
    # Missed while disconnected: a call queued, then answered by alice.
    await console.bus.publish(CallQueued(call_id="R1", queue="retail"))
    await console.control.set_state("alice", "available")
    await console.bus.publish(CallConnected(call_id="R1", agent_login="alice", queue="retail"))
    await board_until(watcher, lambda b: retail_of(b)["answered"] == 1)
    sue, hello = await console.socket(token)
    greeting = await subscribe(sue)
    assert (hello["seq"], greeting["seq"]) == (1, 2)
    retail = retail_of(greeting["event"])
    assert (retail["offered"], retail["answered"], retail["waiting"]) == (1, 1, 0)
    board = greeting["event"]
    assert {a["login"]: a["calls_handled_today"] for a in board["agents"]}["alice"] == 1
    response = await console.http.get("/api/wallboard", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and retail_of(response.json())["answered"] == 1
    await sue.close()
    await watcher.close()


async def test_pages_are_served_with_the_page_headers(make_console: ConsoleFactory) -> None:
    console = await make_console()
    for path, marker in (("/wallboard", "wallboard.js"), ("/reports", "reports.js")):
        response = await console.http.get(path)
        assert response.status_code == 200 and marker in response.text
        assert "default-src 'self'" in response.headers["content-security-policy"]
    for asset in ("wallboard.js", "wallboard.css", "charts.js", "reports.js"):
        assert (await console.http.get(f"/static/{asset}")).status_code == 200


async def _insert_calls(console: Any, day_at: float) -> None:
    async with console.sessions() as session, session.begin():
        ids = dict((await session.execute(select(Agent.login, Agent.id))).all())

        def utc(ts: float) -> datetime:
            return datetime.fromtimestamp(ts, UTC)

        session.add_all(
            [
                Interaction(
                    call_id="S1",
                    queue="retail",
                    agent_id=ids["alice"],
                    queued_at=utc(day_at),
                    answered_at=utc(day_at + 8),
                    ended_at=utc(day_at + 100),
                    outcome="answered",
                ),
                Interaction(
                    call_id="S2",
                    queue="retail",
                    queued_at=utc(day_at + 60),
                    ended_at=utc(day_at + 90),
                    outcome="abandoned_in_queue",
                ),
                Interaction(  # yesterday: not today's figures
                    call_id="S0", queue="retail", queued_at=utc(day_at - 86400), outcome="answered"
                ),
                Interaction(call_id="S3", outcome="ended_in_ivr"),  # never queued
            ]
        )


async def test_a_restarted_console_seeds_today_from_the_history_and_scopes_agents(
    make_crm_console: CrmConsoleFactory,
) -> None:
    now = at("09:25:00")
    first = await make_crm_console()
    await _insert_calls(first, at("09:00:00"))
    config = WallboardConfig(
        live_acd=FixedAcd(now), history=DbCallHistory(first.sessions), clock=lambda: now, push_interval=0.05
    )
    console = await make_crm_console(wallboard=config)
    async with asyncio.timeout(WAIT):
        await console.app.state.wallboard.seeded.wait()
    response = await console.call("GET", "/api/wallboard", "sue")
    assert response.status_code == 200, response.text
    board = response.json()
    retail = retail_of(board)
    assert (retail["offered"], retail["answered"], retail["abandoned"]) == (2, 1, 1)
    assert retail["service_level"] == pytest.approx(1 / 2)  # 8 s answer; 30 s abandon is after 20 s
    assert retail["asa_seconds"] == pytest.approx(8.0)
    assert board["day"] == "2026-11-29"
    # sue supervises North (alice, bob); the admin sees everyone.
    assert sorted(a["login"] for a in board["agents"]) == ["alice", "bob"]
    assert {a["login"]: a["calls_handled_today"] for a in board["agents"]} == {"alice": 1, "bob": 0}
    everyone = (await console.call("GET", "/api/wallboard", "root")).json()
    assert sorted(a["login"] for a in everyone["agents"]) == ["alice", "bob", "carol", "dave"]
    ws, _ = await console.socket("sam")
    greeting = await subscribe(ws)
    assert [a["login"] for a in greeting["event"]["agents"]] == ["carol"]
    await ws.close()
    assert json.loads(json.dumps(board)) == board
