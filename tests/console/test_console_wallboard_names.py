"""The wallboard names people, not call ids, and shows live AHT and occupancy (real console and database).

The office of crm_harness; bob's display name is changed to "Alice", so the
two North agents share a name.  Queue ``retail`` is displayed "Retail
banking".  The day (UTC, board clock fixed at 10:00:00):

    alice  available 09:00:00, ringing 09:10:18, on_call 09:10:20 (N1), wrap_up 09:12:00 (no call id),
           available 09:12:30
    bob    available 09:30:00
    N1     queued 09:10:00 (Zhang Wei, gold), answered 09:10:20 by alice, ended 09:12:00: talk 100 s
    N2     queued 09:40:00, a customer id no one has: caller number only
    N3     queued 09:45:00, Li Na (gold), still waiting

    AHT retail = (100 talk + 30 wrap-up) / 1 handled = 130 s
    alice: handling 100 + 30 = 130 s, idle 620 + 2850 = 3470 s -> occupancy 130 / 3600
    bob: idle 1800 s -> 0;  centre: 130 / 5400;  retail (served by alice, offered its call): 130 / 3600
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from console_harness import WAIT, recv
from crm_harness import CrmConsole, CrmConsoleFactory, ok
from sqlalchemy import delete, update
from wallboard_harness import at
from websockets.asyncio.client import ClientConnection

from acd.events import AgentStateChanged, BusEvent, CallConnected, CallEnded, CallOffered, CallQueued
from agent_console.wallboard import DbWallboardDirectory, WallboardConfig
from agent_console.wallboard.directory import unique_names
from crm_core.models import AcdQueue, Agent

NOW = at("10:00:00")


async def board_until(ws: ClientConnection, check: Any) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        while True:
            message = await recv(ws)
            if message["type"] == "wallboard" and check(message["event"]):
                return dict(message["event"])


def state(login: str, name: str, when: str, call: str | None = None) -> AgentStateChanged:
    return AgentStateChanged(agent_login=login, state=name, call_id=call, at=at(when))


def the_day(zhang: int, li: int) -> list[BusEvent]:
    return [
        state("alice", "available", "09:00:00"),
        CallQueued(
            call_id="N1", queue="retail", caller_number="+8613800138000", customer_id=zhang, at=at("09:10:00")
        ),
        state("alice", "ringing", "09:10:18", "N1"),
        CallOffered(call_id="N1", agent_login="alice", queue="retail", at=at("09:10:18")),
        CallConnected(call_id="N1", agent_login="alice", queue="retail", at=at("09:10:20")),
        state("alice", "on_call", "09:10:20", "N1"),
        CallEnded(call_id="N1", outcome="answered", agent_login="alice", queue="retail", at=at("09:12:00")),
        state("alice", "wrap_up", "09:12:00"),
        state("alice", "available", "09:12:30"),
        state("bob", "available", "09:30:00"),
        CallQueued(
            call_id="N2",
            queue="retail",
            caller_number="+8613100000002",
            customer_id=987654,
            at=at("09:40:00"),
        ),
        CallQueued(
            call_id="N3", queue="retail", caller_number="+8613900139000", customer_id=li, at=at("09:45:00")
        ),
    ]


@pytest.fixture
async def named_console(make_crm_console: CrmConsoleFactory) -> CrmConsole:
    first = await make_crm_console()
    async with first.sessions() as session, session.begin():
        await session.execute(delete(AcdQueue))
        session.add(AcdQueue(name="retail", display_name="Retail banking", service_level_seconds=20))
        await session.execute(update(Agent).where(Agent.login == "bob").values(name="Alice"))
    config = WallboardConfig(
        directory=DbWallboardDirectory(first.sessions), clock=lambda: NOW, push_interval=0.05
    )
    return await make_crm_console(wallboard=config)


async def test_waiting_callers_queues_and_agents_are_shown_by_name(named_console: CrmConsole) -> None:
    console = named_console
    ws, _ = await console.socket("sue")
    await ws.send(json.dumps({"type": "subscribe", "topic": "wallboard"}))
    for event in the_day(console.customer("zhang"), console.customer("li")):
        await console.bus.publish(event)

    def named(board: dict[str, Any]) -> bool:
        calls = [c for q in board["queues"] for c in q["waiting_calls"]]
        return len(calls) == 2 and all(c["customer_name"] or c["call_id"] == "N2" for c in calls)

    board = await board_until(ws, named)
    (retail,) = board["queues"]
    assert (retail["name"], retail["display_name"]) == ("retail", "Retail banking")
    calls = {c["call_id"]: c for c in retail["waiting_calls"]}
    assert calls["N3"]["caller_number"] == "+8613900139000"
    assert (calls["N3"]["customer_name"], calls["N3"]["customer_tier"]) == ("Li Na", "gold")
    assert calls["N2"]["caller_number"] == "+8613100000002"
    assert (calls["N2"]["customer_name"], calls["N2"]["customer_tier"]) == (None, None)
    # Two agents named "Alice": each is told apart by the login; names are otherwise as stored.
    agents = {a["login"]: a for a in board["agents"]}
    assert {login: a["display_name"] for login, a in agents.items()} == {
        "alice": "Alice (alice)",
        "bob": "Alice (bob)",
    }
    assert agents["bob"]["name"] == "Alice"
    # Live AHT (talk + wrap-up) and occupancy, hand-computed above.
    assert retail["aht_seconds"] == pytest.approx(130.0)
    assert board["totals"]["aht_seconds"] == pytest.approx(130.0)
    assert retail["occupancy"] == pytest.approx(130 / 3600)  # only alice was offered a retail call
    assert agents["alice"]["occupancy"] == pytest.approx(130 / 3600)
    assert agents["bob"]["occupancy"] == pytest.approx(0.0)
    assert board["totals"]["occupancy"] == pytest.approx(130 / 5400)
    # The unknown customer is looked up once, not at every push.
    assert 987654 in console.app.state.wallboard.names.missing
    over_http = ok(await console.call("GET", "/api/wallboard", "sue"))
    assert over_http["queues"][0]["waiting_calls"] == retail["waiting_calls"]
    await ws.close()


def test_only_colliding_display_names_get_the_login() -> None:
    assert unique_names({"a": "Li Wei", "b": "li wei", "c": "Wang Fang", "d": "", "e": "  "}) == {
        "a": "Li Wei (a)",
        "b": "li wei (b)",
        "c": "Wang Fang",
        "d": "d",
        "e": "e",
    }
    # A name that is someone's login is still unique when only that login has it.
    assert unique_names({"x": "x", "y": "Y"}) == {"x": "x", "y": "Y"}
