"""Alembic environment for crm_core (async engines, SQLite batch mode).

Normally driven by :func:`crm_core.db.upgrade`, which passes an open
connection in ``config.attributes["connection"]``; given only a URL
(``config.attributes["url"]`` or the ``sqlalchemy.url`` option) it opens its
own async engine, and with ``--sql`` it renders the SQL offline.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from crm_core.db import async_url, create_engine
from crm_core.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass one to crm_core.db.alembic_config(url)")
    return async_url(url).render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys_off(connection: Connection) -> None:
    # Batch mode rebuilds a table by copying it and dropping the original; with
    # foreign keys on, that DROP would fire ON DELETE CASCADE / SET NULL in the
    # referencing tables (e.g. wipe every phone number when customers is rebuilt).
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "cannot turn SQLite foreign keys off: migrate on a connection with no open transaction"
        )


def _sqlite_check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left {len(broken)} dangling foreign keys (first: {tuple(broken[0])})")


def do_run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys_off(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _sqlite_check_foreign_keys(connection)
    # The connection is discarded after migrating (NullPool), so foreign keys
    # are on again for every connection the service opens.


async def run_async_migrations() -> None:
    engine = create_engine(_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
