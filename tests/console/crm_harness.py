"""A small bank office behind a live console, for the CRM API tests.

    North team: supervisor sue, agents alice and bob
    South team: supervisor sam, agent carol
    no team:    admin root

Every user logs in with ``<login>-pw``.  Customers (``Office.customers``):

    zhang  owned by alice, a phone, an ID number and an account (full numbers in ``FULL_NUMBERS``)
    li     owned by bob
    wang   owned by carol
    pool   in the public pool

The database is a real one (SQLite or PostgreSQL, migrated by Alembic) and
emptied before each test; the console runs on 127.0.0.1 port 0.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from console_harness import WAIT, MemoryBus, MemoryControl, recv
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection, connect

from agent_console.crm.deps import CrmServices
from agent_console.server import ConsoleServer
from crm_core.actor import Actor
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.accounts import AccountBook
from crm_core.customers.schemas import CustomerCreate, PhoneInput
from crm_core.models import Agent, AuditLog, Team

PEPPER = b"p" * 32
REGION = "CN"
#: Full sensitive numbers of the office's customers: no API response may contain them.
ZHANG_ACCOUNT = "6222021234567890123"
ZHANG_ID_NUMBER = "110101199003077351"
FULL_NUMBERS = (ZHANG_ACCOUNT, ZHANG_ID_NUMBER)
USERS = {
    "root": ("admin", None),
    "sue": ("supervisor", None),
    "sam": ("supervisor", None),
    "alice": ("agent", "North"),
    "bob": ("agent", "North"),
    "carol": ("agent", "South"),
}
#: Every table, referencing tables before the ones they reference (the order DELETE needs).
TABLES = (
    "audit_log", "job_leases", "parameter_changes", "parameters", "payments", "contract_installments",
    "contract_lines", "contracts", "sharing_grants", "ownership_history", "transactions",
    "customer_contacts", "interaction_legs", "interactions", "accounts", "phone_numbers", "customers",
    "teams", "agents",
    "login_failures",
)  # fmt: skip
_SQLITE_AUDIT_DELETE_TRIGGER = (
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\n"
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)


async def clear_tables(engine: AsyncEngine) -> None:
    """Empty every table, audit_log included, keeping its append-only trigger (as tests/crm do)."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            return
        for table in TABLES[1:]:
            await connection.execute(text(f"DELETE FROM {table}"))
        await connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        await connection.execute(text("DELETE FROM audit_log"))
        await connection.execute(text(_SQLITE_AUDIT_DELETE_TRIGGER))


@dataclass
class Office:
    user_ids: dict[str, int]
    team_ids: dict[str, int]
    customers: dict[str, int]

    def actor(self, login: str) -> Actor:
        role = USERS[login][0]
        return Actor(user_id=self.user_ids[login], login=login, role=role)


async def seed_office(sessions: async_sessionmaker[AsyncSession], services: CrmServices) -> Office:
    """Users, teams and four customers (see the module docstring)."""
    directory = AgentDirectory(sessions)
    for index, (login, (role, _)) in enumerate(USERS.items()):
        await directory.create_agent(
            login, login.title(), f"{login}-pw", extension=str(2000 + index), role=role, queues=["retail"]
        )
    async with sessions() as session, session.begin():
        ids = {login: id_ for login, id_ in await session.execute(select(Agent.login, Agent.id))}
        north = Team(name="North", supervisor_id=ids["sue"])
        south = Team(name="South", supervisor_id=ids["sam"])
        session.add_all([north, south])
        await session.flush()
        teams = {"North": north.id, "South": south.id}
        for login, (_, team) in USERS.items():
            if team is not None:
                await session.execute(update(Agent).where(Agent.id == ids[login]).values(team_id=teams[team]))
    office = Office(ids, teams, {})
    root = office.actor("root")
    plan = [
        ("zhang", "Zhang Wei", "alice", "+8613800138000", ZHANG_ID_NUMBER),
        ("li", "Li Na", "bob", "+8613900139000", None),
        ("wang", "Wang Fang", "carol", "+8613700137000", None),
        ("pool", "Chen Jie", None, "+8613600136000", None),
    ]
    for key, name, owner, phone, id_number in plan:
        detail = await services.customers.create(
            root,
            CustomerCreate(
                name=name,
                tier="gold",
                owner_login=owner,
                status=None if owner else "public",
                id_number=SecretStr(id_number) if id_number else None,
                phones=[PhoneInput(number=phone)],
            ),
        )
        office.customers[key] = detail.id
    await AccountBook(sessions, PEPPER).open_account(
        office.customers["zhang"], type="deposit", number=ZHANG_ACCOUNT, balance="1520.50"
    )
    return office


@dataclass
class CrmConsole:
    app: FastAPI
    server: ConsoleServer
    bus: MemoryBus
    control: MemoryControl
    http: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    services: CrmServices
    office: Office
    tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)  # when not "<login>-pw"
    secrets: set[str] = field(default_factory=lambda: set(FULL_NUMBERS))  # never in a response

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws"

    def customer(self, key: str) -> int:
        return self.office.customers[key]

    async def token(self, login: str) -> str:
        if login not in self.tokens:
            password = self.passwords.get(login, f"{login}-pw")
            response = await self.http.post("/api/login", json={"login": login, "password": password})
            assert response.status_code == 200, response.text
            self.tokens[login] = str(response.json()["token"])
        return self.tokens[login]

    async def call(self, method: str, path: str, login: str | None, **options: Any) -> httpx.Response:
        """``method path`` as ``login`` (``None``: without a token); every response is checked for secrets."""
        headers = {"Authorization": f"Bearer {await self.token(login)}"} if login else {}
        if "json" in options:
            # ASCII-escaped, so that a lone surrogate travels as the "\ud800" JSON allows.
            options["content"] = json.dumps(options.pop("json")).encode()
            headers["Content-Type"] = "application/json"
        response = await self.http.request(method, path, headers=headers, **options)
        leaked = [number[-4:] for number in self.secrets if number in response.text]
        assert not leaked, (method, path, "leaks the full numbers ending", leaked)
        return response

    async def socket(self, login: str) -> tuple[ClientConnection, dict[str, Any]]:
        ws = await connect(self.ws_url, open_timeout=WAIT)
        await ws.send(json.dumps({"type": "auth", "token": await self.token(login)}))
        hello = await recv(ws)
        assert hello["type"] == "hello"
        return ws, hello

    async def audit_rows(self, **where: Any) -> list[AuditLog]:
        """Audit rows matching ``where`` (column=value), oldest first, read straight from the database."""
        async with self.sessions() as session:
            query = select(AuditLog).order_by(AuditLog.id)
            for column, value in where.items():
                query = query.where(getattr(AuditLog, column) == value)
            return list((await session.scalars(query)).all())

    async def pops_audited(self) -> None:
        """Wait until the screen-pop audit rows queued so far are written."""
        async with asyncio.timeout(WAIT):
            await self.app.state.pop_audit.join()


CrmConsoleFactory = Callable[..., Coroutine[Any, Any, CrmConsole]]


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def refused(response: httpx.Response, status: int, field: str | None = None) -> str:
    """The ``detail`` of an error response with ``status`` (and ``field``, if given)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return str(body["detail"])
