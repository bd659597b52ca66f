"""Database plumbing: Alembic migrations on both backends, SQLite pragmas, column types, errors."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core.db import (
    DatabaseSetupError,
    alembic_config,
    async_url,
    create_database_if_missing,
    create_engine,
    current_revision,
    downgrade,
    session_factory,
    upgrade,
)
from crm_core.models import Account, Base, Customer, Interaction

TABLES = {
    "agents", "customers", "phone_numbers", "accounts", "interactions", "teams", "customer_contacts",
    "transactions", "contracts", "contract_lines", "contract_installments", "payments", "ownership_history",
    "sharing_grants", "parameters", "parameter_changes", "audit_log", "job_leases", "lost_card_reports",
    "callback_requests", "acd_queues", "agent_states", "queue_events", "agent_events",
    "analytics_runs", "customer_segments",
    "commission_rules", "commission_splits", "commission_statements", "commission_lines",
    "login_failures", "interaction_legs",
}  # fmt: skip
HEAD = "0013"


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_migration_matches_models_and_round_trips(fresh_db_url: str) -> None:
    await create_database_if_missing(fresh_db_url)
    assert await current_revision(fresh_db_url) is None
    await upgrade(fresh_db_url)
    assert await current_revision(fresh_db_url) == HEAD
    engine = create_engine(fresh_db_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES
            # The hand-written migration and the models describe the same schema.
            assert await connection.run_sync(_schema_diff) == []
        await upgrade(fresh_db_url)  # already at head: a no-op
        await downgrade(fresh_db_url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        assert await current_revision(fresh_db_url) is None
        await upgrade(fresh_db_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES
    finally:
        await engine.dispose()


async def test_create_database_if_missing_is_idempotent(fresh_db_url: str) -> None:
    assert await create_database_if_missing(fresh_db_url) is True
    await upgrade(fresh_db_url)
    assert await create_database_if_missing(fresh_db_url) is False


async def test_sqlite_database_in_new_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # migrations are found from any working directory
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'bankcti.db'}"  # sync URL: the async driver is chosen
    await upgrade(url)
    assert (tmp_path / "a" / "b" / "bankcti.db").exists()
    assert await current_revision(url) == HEAD


async def test_alembic_commands_run_standalone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a connection handed in, env.py opens its own async engine (as the alembic CLI would).
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'standalone.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    assert await current_revision(url) == HEAD


@pytest.mark.parametrize("url", ["sqlite:///offline.db", "postgresql://u@localhost/offline"])
def test_offline_sql_rendering(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    command.upgrade(alembic_config(url), "head", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE interactions" in sql and "CREATE INDEX ix_phone_numbers_e164" in sql


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


def test_async_url_picks_async_drivers() -> None:
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@localhost/db", "unsupported database backend"),
        ("not a url", "invalid database URL"),
    ],
)
async def test_bad_urls_give_clear_errors(url: str, message: str) -> None:
    with pytest.raises(DatabaseSetupError, match=message):
        await upgrade(url)


async def test_unreachable_server_error_hides_password() -> None:
    # Port 1 on loopback refuses at once: nothing listens there.
    url = "postgresql+asyncpg://bankcti:s3cr3t-pw@127.0.0.1:1/bankcti"
    with pytest.raises(DatabaseSetupError) as info:
        await upgrade(url)
    assert "s3cr3t-pw" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


async def test_types_round_trip_utc_and_exact_money(
    sessions: async_sessionmaker[AsyncSession], crm_engine: AsyncEngine
) -> None:
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2025, 3, 1, 20, 30, 15, 123456, tzinfo=shanghai)
    async with sessions() as session, session.begin():
        customer = Customer(name="Zoë 王", kind="individual", tier="vip", status="public", deleted_at=local)
        customer.accounts = [
            Account(
                type="deposit",
                number_last4="0001",
                number_hash="a" * 64,
                balance=Decimal("12345678901234.56"),
            ),
            Account(type="loan", number_last4="0002", number_hash="b" * 64, balance=Decimal("-0.005")),
        ]
        session.add(customer)
        session.add(Interaction(call_id="c-naive", arrived_at=datetime(2025, 3, 1, 12, 0)))
    async with session_factory(crm_engine)() as session:
        stored = await session.scalar(select(Customer.deleted_at))
        balances = (await session.scalars(select(Account.balance).order_by(Account.id))).all()
        naive = await session.scalar(select(Interaction.arrived_at))
    assert stored == local and stored is not None and stored.utcoffset() == timedelta(0)
    assert balances == [Decimal("12345678901234.56"), Decimal("0.00")]  # half-even to the cent
    assert naive == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # naive input is taken as UTC


async def test_every_check_constraint_of_the_models_is_in_the_migrated_schema(tmp_path: Path) -> None:
    # Alembic's comparison ignores CHECK constraints: a value the models allow but the migrated table
    # refuses (ring_cancelled before 0010) only shows when a row is refused at run time.
    url = f"sqlite+aiosqlite:///{tmp_path / 'checks.db'}"
    await upgrade(url)
    with sqlite3.connect(tmp_path / "checks.db") as db:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    schema = dict(rows)

    def squeeze(sql: str) -> str:
        return re.sub(r"\s+", "", sql)

    missing = [
        f"{table.name}.{constraint.name}: {constraint.sqltext}"
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
        and squeeze(str(constraint.sqltext)) not in squeeze(schema.get(table.name, ""))
    ]
    assert not missing
    assert "ring_cancelled" in schema["queue_events"]  # the scan reads real table definitions
