"""Database fixtures for the crm_core tests: every DB test runs on SQLite and PostgreSQL.

PostgreSQL runs when ``BANKCTI_TEST_POSTGRES_URL`` names an admin URL (e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``); each session gets
a fresh randomly named database, migrated with Alembic, dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core.db import create_engine, drop_database, session_factory, upgrade

POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TABLES = ("interactions", "accounts", "phone_numbers", "customers", "agents")


def new_database_url(backend: str, directory: Path) -> str:
    """A URL for a database that does not exist yet (skips if PostgreSQL is not configured)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{directory / f'crm-{secrets.token_hex(4)}.db'}"
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL backend not tested")
    url = make_url(admin).set(database=f"bankcti_test_{secrets.token_hex(6)}")
    return url.render_as_string(hide_password=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session", params=BACKENDS)
async def crm_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A database migrated to head by Alembic, shared by the session's tests."""
    url = new_database_url(request.param, tmp_path_factory.mktemp("crm"))
    await upgrade(url)
    yield url
    await drop_database(url)


@pytest.fixture(params=BACKENDS)
async def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database that does not exist yet; dropped after the test."""
    url = new_database_url(request.param, tmp_path)
    yield url
    await drop_database(url)


async def _clear(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def crm_engine(crm_db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the session database, emptied before the test."""
    engine = create_engine(crm_db_url)
    await _clear(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(crm_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(crm_engine)


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheaper scrypt for tests that only need agents to exist (the cost is stored per hash)."""
    monkeypatch.setattr("crm_core.agents.SCRYPT_N", 2**10)
