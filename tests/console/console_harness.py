"""In-memory ports and bus, and client helpers, for the console tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from acd.events import AgentStateChanged, BusEvent, CallOffered
from agent_console.ports import InvalidTransition
from agent_console.schemas import AgentStatus
from agent_console.server import ConsoleServer
from crm_core.schemas import AccountCard, CustomerCard, FollowUpCard, IvrStep

WAIT = 20.0  # upper bound of every wait in these tests (hang detection: a loaded CI box pauses for seconds)


@dataclass(frozen=True)
class Identity:
    login: str
    name: str
    role: str


USERS = {
    "alice": ("alice-pw", Identity("alice", "Alice Wang", "agent")),
    "bob": ("bob-pw", Identity("bob", "Bob Li", "agent")),
    "sue": ("sue-pw", Identity("sue", "Sue Chen", "supervisor")),
}


class MemoryAuthenticator:
    async def authenticate(self, login: str, password: str) -> Identity | None:
        entry = USERS.get(login)
        return entry[1] if entry is not None and entry[0] == password else None


ALLOWED = {
    "logged_out": {"available"},
    "available": {"paused", "logged_out"},
    "paused": {"available", "logged_out"},
    "wrap_up": {"available", "paused", "logged_out"},
    "ringing": set(),
    "on_call": set(),
}


class MemoryBus:
    """A single-subscriber bus: publish() feeds the console's subscription."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[BusEvent] = asyncio.Queue()

    async def publish(self, event: BusEvent) -> None:
        await self.queue.put(event)

    async def subscribe(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self.queue.get()


class MemoryControl:
    """The ACD's agent states, publishing agent.state like the real ACD."""

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus
        self.statuses = {
            login: AgentStatus(login=login, state="logged_out", since=time.time())
            for login in ("alice", "bob")
        }

    async def set_state(self, login: str, state: str, reason: str | None = None) -> AgentStatus:
        current = self.status(login)
        if state not in ALLOWED[current.state]:
            raise InvalidTransition(f"cannot go from {current.state} to {state}")
        status = AgentStatus.model_validate(
            {"login": login, "state": state, "reason": reason, "since": time.time()}
        )
        self.statuses[login] = status
        await self.bus.publish(AgentStateChanged(agent_login=login, state=state, reason=reason))
        return status

    def status(self, login: str) -> AgentStatus:
        try:
            return self.statuses[login]
        except KeyError:
            raise LookupError(f"{login} is not an ACD agent") from None

    async def extend_wrapup(self, login: str, seconds: int) -> AgentStatus:
        current = self.status(login)
        if current.state != "wrap_up" or current.wrapup_until is None:
            raise InvalidTransition(f"agent {login} is {current.state}, not in wrap-up")
        until = current.wrapup_until + seconds
        if current.wrapup_max_until is not None and until > current.wrapup_max_until:
            raise ValueError("beyond the queue's maximum")
        self.statuses[login] = current.model_copy(update={"wrapup_until": until})
        return self.statuses[login]


@dataclass
class Console:
    app: FastAPI
    server: ConsoleServer
    bus: MemoryBus
    control: MemoryControl
    http: httpx.AsyncClient

    def connections(self) -> int:
        """Websockets the hub is feeding right now."""
        return int(self.app.state.hub.connection_count)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws"

    async def login(self, login: str) -> str:
        response = await self.http.post("/api/login", json={"login": login, "password": USERS[login][0]})
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    async def socket(self, token: str, **options: Any) -> tuple[ClientConnection, dict[str, Any]]:
        """An authenticated websocket and its hello."""
        ws = await connect(self.ws_url, open_timeout=WAIT, **options)
        await ws.send(json.dumps({"type": "auth", "token": token}))
        hello = await recv(ws)
        assert hello["type"] == "hello"
        return ws, hello


async def recv(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        data = json.loads(await ws.recv())
    assert isinstance(data, dict)
    return data


def offer(
    call_id: str, agent: str, *, customer: CustomerCard | None = None, notes_size: int = 0
) -> CallOffered:
    if customer is None and notes_size:
        customer = customer_card(notes_size)
    return CallOffered(
        call_id=call_id,
        agent_login=agent,
        queue="retail",
        caller_number="+8613800138000",
        customer=customer,
        ivr_path=[IvrStep(node="main", at=time.time(), keys="2", result="retail")],
        authentication="caller_id",
    )


def customer_card(notes_size: int = 20) -> CustomerCard:
    return CustomerCard(
        id=7,
        name="Zhang Wei",
        tier="gold",
        phone_e164="+8613800138000",
        accounts=[AccountCard(id=1, type="deposit", masked_number="**** 1234", balance="1520.50")],
        recent_follow_ups=[
            FollowUpCard(
                id=i,
                at="2024-05-01T10:00:00Z",
                channel="phone",
                direction="inbound",
                content="x" * notes_size,
            )
            for i in range(5)
        ],
    )


ConsoleFactory = Callable[..., Coroutine[Any, Any, Console]]
