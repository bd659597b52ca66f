"""What counts as "the database is unavailable" (spool it, answer 503) and what as "the data is refused".

Every exception here is raised for real: by a private PostgreSQL cluster that
is stopped or killed under an open connection, and by a SQLite file locked
by another connection beyond the timeout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pg_cluster import PgCluster
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from crm_core.db import create_engine
from crm_core.outage import OUTAGE_TYPES, data_refused, database_unavailable


async def _raised(engine_url: str, statement: str) -> BaseException:
    engine = create_engine(engine_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError(f"{statement!r} did not fail")


async def test_a_stopped_or_killed_postgresql_is_unavailable_and_a_constraint_is_a_refusal(
    pg: PgCluster, pg_db_url: str
) -> None:
    refused = await _raised(pg_db_url, "INSERT INTO acd_queues (name) VALUES (NULL)")
    assert data_refused(refused) and not database_unavailable(refused)

    engine = create_engine(pg_db_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await pg.stop_async("immediate")  # a crash under an open connection
            with pytest.raises(Exception) as lost:
                await connection.execute(text("SELECT 1"))
        assert isinstance(lost.value, OUTAGE_TYPES)
        assert database_unavailable(lost.value) and not data_refused(lost.value)
    finally:
        await engine.dispose()

    refused_connection = await _raised(pg_db_url, "SELECT 1")  # nothing listens on the port now
    assert isinstance(refused_connection, OUTAGE_TYPES)
    assert database_unavailable(refused_connection) and not data_refused(refused_connection)


async def test_sqlite_locked_beyond_its_timeout_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    holder = create_async_engine(url)
    waiter = create_async_engine(url, connect_args={"timeout": 0.2})
    try:
        async with holder.connect() as held:
            await held.execute(text("CREATE TABLE t (x INTEGER)"))
            await held.commit()
            await held.exec_driver_sql("BEGIN EXCLUSIVE")
            with pytest.raises(Exception) as locked:
                async with waiter.begin() as connection:
                    await connection.execute(text("INSERT INTO t VALUES (1)"))
            await held.rollback()
        assert "locked" in str(locked.value)
        assert database_unavailable(locked.value) and not data_refused(locked.value)

        # A database without the schema is neither: a spool keeps such writes and retries them.
        async with waiter.connect() as connection:
            with pytest.raises(Exception) as missing:
                await connection.execute(text("SELECT * FROM no_such_table"))
        assert not database_unavailable(missing.value) and not data_refused(missing.value)
    finally:
        await holder.dispose()
        await waiter.dispose()
