"""Database plumbing: async engines, sessions, database creation, Alembic upgrades.

Two backends are supported with the same schema and behaviour: SQLite (one
file, the embedded default) through ``aiosqlite`` and PostgreSQL through
``asyncpg``.  Every helper here turns a setup failure (bad URL, server down,
migration error) into :class:`DatabaseSetupError` with a message that names
the database but never its password.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import URL, Connection, event, make_url, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

__all__ = [
    "MIGRATIONS_DIR",
    "PG_POOL_SIZE",
    "DatabaseSetupError",
    "alembic_config",
    "async_url",
    "create_database_if_missing",
    "create_engine",
    "current_revision",
    "downgrade",
    "drop_database",
    "session_factory",
    "upgrade",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_PG_INVALID_CATALOG = "3D000"  # database does not exist
_PG_DUPLICATE_DATABASE = "42P04"
#: Connections a PostgreSQL engine keeps (and never exceeds): the service's concurrent readers and writers.
PG_POOL_SIZE = 20


class DatabaseSetupError(RuntimeError):
    """The database could not be reached, created or migrated (message is user-safe)."""


def async_url(url: str | URL) -> URL:
    """Parse ``url`` and select the async driver (``sqlite://`` → ``sqlite+aiosqlite://``).

    Raises :class:`DatabaseSetupError` for a malformed URL or an unsupported backend.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseSetupError(f"invalid database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise DatabaseSetupError(f"unsupported database backend {backend!r} (use sqlite or postgresql)")
    if parsed.drivername == backend:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    return parsed


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets screen-pop reads proceed during writes; busy_timeout makes a
    # writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """Create an :class:`AsyncEngine` for SQLite (aiosqlite) or PostgreSQL (asyncpg).

    SQLite connections get ``journal_mode=WAL``, ``busy_timeout=5000`` and
    ``foreign_keys=ON``; PostgreSQL connections are pre-pinged and pooled
    without churn: :data:`PG_POOL_SIZE` connections kept open, none opened
    beyond them (a burst waits for a free connection instead of opening and
    closing overflow connections; the history writes through one, see
    :mod:`crm_core.spool_batch`).  Extra keyword arguments go to
    :func:`sqlalchemy.ext.asyncio.create_async_engine` (and win).
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "postgresql" and kwargs.get("poolclass") is None:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", PG_POOL_SIZE)
        kwargs.setdefault("max_overflow", 0)
    elif parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_async_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseSetupError(f"cannot use database {_safe(parsed)}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for the services; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic :class:`Config` for ``crm_core/migrations``, usable from any directory.

    With ``url`` the config can drive the Alembic commands on its own (the
    ``env.py`` then opens an async engine itself); :func:`upgrade` instead
    hands ``env.py`` an open connection through ``config.attributes``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # Kept out of the ini options: configparser would choke on "%" in a password.
        config.attributes["url"] = async_url(url)
    return config


def _sqlite_path(url: URL) -> Path | None:
    database = url.database or ""
    if database in {"", ":memory:"} or database.startswith("file:"):
        return None
    return Path(database)


def _prepare_sqlite(path: Path) -> bool:
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    return True


def _unlink_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _connect_once(url: URL) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def _pg_quote(url: URL) -> str:
    if not url.database:
        raise DatabaseSetupError(f"no database name in {_safe(url)}")
    return str(postgresql.dialect().identifier_preparer.quote(url.database))


async def _pg_admin(url: URL, statement: str, *, allowed: set[str]) -> None:
    admin = create_engine(url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(statement))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in allowed:
            raise
    finally:
        await admin.dispose()


async def create_database_if_missing(url: str | URL) -> bool:
    """Create the database ``url`` names if it does not exist; return True if created.

    SQLite: creates the file's parent directories (the file itself appears
    on first connect).  PostgreSQL: connects to the target first, so no extra
    privilege is needed when it exists; otherwise issues ``CREATE DATABASE``
    through the ``postgres`` maintenance database (a concurrent creator is
    tolerated).
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is None:
            return False
        try:
            return await asyncio.to_thread(_prepare_sqlite, path)
        except OSError as exc:
            raise DatabaseSetupError(f"cannot create directory for {_safe(parsed)}: {exc}") from None
    try:
        try:
            await _connect_once(parsed)
            return False
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != _PG_INVALID_CATALOG:
                raise
        name = _pg_quote(parsed)
        await _pg_admin(parsed, f"CREATE DATABASE {name}", allowed={_PG_DUPLICATE_DATABASE})
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseSetupError(f"cannot create database {_safe(parsed)}: {_reason(exc)}") from None
    log.info("db.created", extra={"database": _safe(parsed)})
    return True


async def drop_database(url: str | URL) -> None:
    """Drop the database ``url`` names (SQLite: delete the file and its WAL files).

    PostgreSQL sessions still connected to it are terminated (``WITH (FORCE)``).
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            await asyncio.to_thread(_unlink_sqlite, path)
        return
    name = _pg_quote(parsed)
    try:
        await _pg_admin(parsed, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", allowed=set())
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseSetupError(f"cannot drop database {_safe(parsed)}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def _run_command(connection: Connection, config: Config, name: str, revision: str) -> None:
    config.attributes["connection"] = connection
    if name == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def _migrate(url: str | URL, name: str, revision: str) -> None:
    parsed = async_url(url)
    await create_database_if_missing(parsed)
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_command, alembic_config(), name, revision)
    except (OSError, SQLAlchemyError, CommandError) as exc:
        raise DatabaseSetupError(f"database {name} of {_safe(parsed)} failed: {_reason(exc)}") from None
    finally:
        await engine.dispose()
    log.info("db.migrated", extra={"database": _safe(parsed), "command": name, "revision": revision})


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Create the database if missing and apply the Alembic migrations up to ``revision``."""
    await _migrate(url, "upgrade", revision)


async def downgrade(url: str | URL, revision: str) -> None:
    """Revert the Alembic migrations down to ``revision`` (``"base"``: drop all tables)."""
    await _migrate(url, "downgrade", revision)


async def current_revision(url: str | URL) -> str | None:
    """The Alembic revision the database is at, or ``None`` if never migrated.

    Only reads: a missing SQLite file is reported as never migrated, not created empty.
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None and not await asyncio.to_thread(path.exists):
            return None
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseSetupError(f"cannot read revision of {_safe(parsed)}: {_reason(exc)}") from None
    finally:
        await engine.dispose()
