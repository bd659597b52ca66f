"""Fixtures of the console tests: consoles on 127.0.0.1 port 0 (see console_harness and crm_harness).

The CRM tests run on SQLite and on PostgreSQL (when ``BANKCTI_TEST_POSTGRES_URL``
names an admin URL), each on one migrated database per session, emptied
before every test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from console_harness import (
    WAIT,
    Console,
    ConsoleFactory,
    MemoryAuthenticator,
    MemoryBus,
    MemoryControl,
)
from crm_harness import PEPPER, REGION, CrmConsole, CrmConsoleFactory, clear_tables, seed_office
from sqlalchemy import make_url

from agent_console.app import create_app
from agent_console.crm.deps import CrmServices
from agent_console.server import start_console
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, drop_database, session_factory, upgrade


@pytest.fixture
async def make_console() -> AsyncIterator[ConsoleFactory]:
    """Start consoles on 127.0.0.1:0 with the given create_app options."""
    started: list[Console] = []

    async def factory(**options: Any) -> Console:
        bus = MemoryBus()
        control = MemoryControl(bus)
        app = create_app(
            authenticator=MemoryAuthenticator(), control=control, events=bus, **options
        )
        server = await start_console(app, "127.0.0.1", 0)
        http = httpx.AsyncClient(base_url=server.url, timeout=WAIT)
        console = Console(app, server, bus, control, http)
        started.append(console)
        return console

    yield factory
    for console in started:
        await console.http.aclose()
        async with asyncio.timeout(10):
            await console.server.close()


@pytest.fixture
async def console(make_console: ConsoleFactory) -> Console:
    return await make_console()


POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def new_database_url(backend: str, directory: Path) -> str:
    """A URL for a database that does not exist yet (skips if PostgreSQL is not configured)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{directory / f'console-{secrets.token_hex(4)}.db'}"
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL backend not tested")
    url = make_url(admin).set(database=f"bankcti_console_{secrets.token_hex(6)}")
    return url.render_as_string(hide_password=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session", params=BACKENDS)
async def console_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A CRM database migrated to head by Alembic, shared by the session's console tests."""
    url = new_database_url(request.param, tmp_path_factory.mktemp("console-crm"))
    await upgrade(url)
    yield url
    await drop_database(url)


@pytest.fixture
async def make_crm_console(
    console_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[CrmConsoleFactory]:
    """Start consoles with the CRM API mounted (create_app options as keywords) over a seeded office.

    The office (see crm_harness) is seeded once per test, on the first start.
    """
    # logins need real hashes, not slow ones
    monkeypatch.setattr("crm_core.contact_center.agents.SCRYPT_N", 2**10)
    engine = create_engine(console_db_url)
    await clear_tables(engine)
    sessions = session_factory(engine)
    services = CrmServices.build(sessions, pepper=PEPPER, region=REGION)
    office = await seed_office(sessions, services)
    started: list[CrmConsole] = []

    async def factory(**options: Any) -> CrmConsole:
        bus = MemoryBus()
        control = MemoryControl(bus)
        app = create_app(
            authenticator=AgentDirectory(sessions),
            control=control,
            events=bus,
            crm=services,
            **options,
        )
        server = await start_console(app, "127.0.0.1", 0)
        http = httpx.AsyncClient(base_url=server.url, timeout=WAIT)
        console = CrmConsole(app, server, bus, control, http, sessions, services, office)
        started.append(console)
        return console

    try:
        yield factory
    finally:
        for console in started:
            await console.http.aclose()
            async with asyncio.timeout(10):
                await console.server.close()
        await engine.dispose()


@pytest.fixture
async def crm_console(make_crm_console: CrmConsoleFactory) -> CrmConsole:
    """A console with the CRM API mounted, over a freshly seeded office (see crm_harness)."""
    return await make_crm_console()
