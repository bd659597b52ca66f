"""Fixtures of the agent-account tests: a migrated database (SQLite, and PostgreSQL when
``BANKCTI_TEST_POSTGRES_URL`` names an admin URL) with an admin, a supervisor and an agent, and a console
serving the real app over it on 127.0.0.1 port 0."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from agent_console.app import create_app
from agent_console.crm.deps import CrmServices
from agent_console.server import start_console
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, drop_database, session_factory, upgrade

# The console's in-memory ports (bus, agent control) live with the console tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "console"))
from admin_harness import STAFF, AdminConsole
from console_harness import MemoryBus, MemoryControl

POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def new_database_url(backend: str, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{directory / f'admin-{secrets.token_hex(4)}.db'}"
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL backend not tested")
    url = make_url(admin).set(database=f"bankcti_admin_{secrets.token_hex(6)}")
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database migrated by Alembic, with the staff of :data:`STAFF`."""
    url = new_database_url(request.param, tmp_path)
    await upgrade(url)
    engine = create_engine(url)
    try:
        directory = AgentDirectory(session_factory(engine))
        for index, (login, (role, password)) in enumerate(STAFF.items()):
            await directory.create_agent(
                login, login.title(), password, extension=str(3001 + index), role=role, queues=["general"]
            )
    finally:
        await engine.dispose()
    yield url
    await drop_database(url)


@pytest.fixture
async def admin_console(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AdminConsole]:
    """The console app with the CRM mounted (admin API included), no ACD behind it."""
    monkeypatch.setattr("crm_core.contact_center.agents.SCRYPT_N", 2**10)  # real hashes, not slow ones
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    bus = MemoryBus()
    app = create_app(
        authenticator=AgentDirectory(sessions),
        control=MemoryControl(bus),
        events=bus,
        crm=CrmServices.build(sessions, pepper=b"p" * 32, region="CN"),
    )
    server = await start_console(app, "127.0.0.1", 0)
    http = httpx.AsyncClient(base_url=server.url, timeout=10)
    try:
        yield AdminConsole(app, server, http, sessions)
    finally:
        await http.aclose()
        async with asyncio.timeout(10):
            await server.close()
        await engine.dispose()
