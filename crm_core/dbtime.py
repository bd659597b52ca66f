"""The database's clock, as SQL and as a value.

Rules that depend on time (a sharing grant's expiry, the recycle bin's purge
date) are decided against one clock: the database's.  Two service instances
with drifting clocks then agree, and a grant that has expired stops working
in the very query that reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from crm_core.models.coltypes import UtcDateTime

__all__ = ["database_now", "db_now"]


class db_now(FunctionElement[datetime]):
    """SQL for "now" at the moment the statement runs, in UTC.

    PostgreSQL: ``statement_timestamp()`` (not ``now()``, which is frozen at
    the start of the transaction).  SQLite: UTC wall time with milliseconds,
    in the text format SQLAlchemy stores datetimes in, so it compares
    correctly with :class:`~crm_core.models.coltypes.UtcDateTime` columns.
    """

    type = UtcDateTime()
    inherit_cache = True
    name = "db_now"


@compiles(db_now)
def _db_now_default(element: db_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(db_now, "postgresql")
def _db_now_postgresql(element: db_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "statement_timestamp()"


@compiles(db_now, "sqlite")
def _db_now_sqlite(element: db_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "strftime('%Y-%m-%d %H:%M:%f', 'now')"


async def database_now(session: AsyncSession) -> datetime:
    """The database's current time as an aware UTC datetime."""
    now = await session.scalar(select(db_now()))
    assert now is not None
    return now
