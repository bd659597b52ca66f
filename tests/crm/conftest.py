"""Database fixtures for the crm_core tests: every DB test runs on SQLite and PostgreSQL.

PostgreSQL runs when ``BANKCTI_TEST_POSTGRES_URL`` names an admin URL (e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``); each session gets
a fresh randomly named database, migrated with Alembic, dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core.db import create_engine, drop_database, session_factory, upgrade

POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
#: Every table, referencing tables before the ones they reference (the order DELETE needs).
TABLES = (
    "audit_log", "commission_lines", "commission_statements", "commission_splits", "commission_rules",
    "customer_segments", "analytics_runs", "queue_events", "agent_events", "agent_states", "acd_queues",
    "callback_requests", "lost_card_reports", "job_leases", "parameter_changes", "parameters",
    "payments", "contract_installments",
    "contract_lines", "contracts", "sharing_grants", "ownership_history", "transactions",
    "customer_contacts", "interaction_legs", "interactions", "accounts", "phone_numbers", "customers",
    "teams", "agents",
)  # fmt: skip
#: The append-only trigger of migration 0002 on SQLite (re-created after emptying audit_log).
SQLITE_AUDIT_DELETE_TRIGGER = (
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\n"
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)


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


async def clear_tables(engine: AsyncEngine) -> None:
    """Empty every table, ``audit_log`` included, leaving its append-only trigger in place.

    PostgreSQL: ``TRUNCATE`` (row triggers do not fire on it).  SQLite: the
    DELETE trigger is dropped and re-created around the delete, in one
    transaction, so no other connection ever sees audit_log unprotected.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            return
        # The first DELETE opens the transaction (pysqlite runs DDL before any DML in autocommit).
        for table in TABLES[1:]:
            await connection.execute(text(f"DELETE FROM {table}"))
        await connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        await connection.execute(text("DELETE FROM audit_log"))
        await connection.execute(text(SQLITE_AUDIT_DELETE_TRIGGER))


@pytest.fixture
async def crm_engine(crm_db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the session database, emptied before the test."""
    engine = create_engine(crm_db_url)
    await clear_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def clear_crm_tables() -> Callable[[AsyncEngine], Awaitable[None]]:
    """:func:`clear_tables`, for tests that empty the database midway."""
    return clear_tables


@pytest.fixture
def sessions(crm_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(crm_engine)


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheaper scrypt for tests that only need agents to exist (the cost is stored per hash)."""
    monkeypatch.setattr("crm_core.contact_center.agents.SCRYPT_N", 2**10)
