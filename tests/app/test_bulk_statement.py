"""BulkStatement stores exactly what SQLAlchemy's own executemany stores (real SQLite and PostgreSQL).

The same rows go through ``connection.execute(statement, rows)`` into one
table and through :class:`BulkStatement` into a twin table; every column is
read back and compared: aware UTC times (given naive, aware in another zone),
JSON, a constant default and a per-row default of a column left out, and an
``onupdate`` of an UPDATE.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from history_databases import BACKENDS, new_database_url
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, insert, select, update

from crm_core.bulk import BulkStatement
from crm_core.db import create_database_if_missing, create_engine, drop_database
from crm_core.models.coltypes import UtcDateTime

STAMP = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("label", String(20)),
        Column("at", UtcDateTime()),
        Column("path", JSON(none_as_null=True)),
        Column("kind", String(10), default="phone"),
        Column("stamped", UtcDateTime(), default=lambda: STAMP, onupdate=lambda: STAMP + timedelta(hours=1)),
    )


ROWS: list[dict[str, Any]] = [
    {"b_id": 1, "b_label": "naive", "b_at": datetime(2026, 12, 1, 9, 30), "b_path": [{"node": "welcome"}]},
    {
        "b_id": 2,
        "b_label": "Beijing",
        "b_at": datetime(2026, 12, 1, 17, 30, tzinfo=timezone(timedelta(hours=8))),
        "b_path": None,
    },
    {"b_id": 3, "b_label": "中文", "b_at": None, "b_path": {"a": [1, 2]}},
]


def _insert(table: Table) -> Any:
    return insert(table).values(
        id=bindparam("b_id"),
        label=bindparam("b_label"),
        at=bindparam("b_at", type_=table.c.at.type),
        path=bindparam("b_path", type_=table.c.path.type),
    )


def _update(table: Table) -> Any:
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(label=bindparam("b_label"), at=bindparam("b_at", type_=table.c.at.type))
    )


@pytest.mark.parametrize("backend", BACKENDS)
async def test_bulk_rows_equal_sqlalchemys_own_executemany(backend: str, tmp_path: Path) -> None:
    url = new_database_url(backend, tmp_path)
    await create_database_if_missing(url)
    engine = create_engine(url)
    metadata = MetaData()
    plain, bulk = _table(metadata, "via_sqlalchemy"), _table(metadata, "via_bulk")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(_insert(plain), ROWS)
            await BulkStatement(_insert(bulk)).execute_many(conn, ROWS)
            changes = [{"b_id": 2, "b_label": "moved", "b_at": datetime(2026, 12, 2, 1, 0, tzinfo=UTC)}]
            await conn.execute(_update(plain), changes)
            await BulkStatement(_update(bulk)).execute_many(conn, changes)
            await BulkStatement(_update(bulk)).execute_many(conn, [])  # nothing to do: no statement
        async with engine.connect() as conn:
            got_plain = (await conn.execute(select(plain).order_by(plain.c.id))).all()
            got_bulk = (await conn.execute(select(bulk).order_by(bulk.c.id))).all()
    finally:
        await engine.dispose()
        if backend == "postgresql":
            await drop_database(url)
    assert got_bulk == got_plain
    by_id = {row.id: row for row in got_bulk}
    assert by_id[1].at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # naive: taken as UTC
    assert by_id[2].at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert by_id[2].label == "moved" and by_id[2].stamped == STAMP + timedelta(hours=1)  # onupdate
    assert by_id[1].stamped == STAMP and by_id[1].kind == "phone"  # defaults of columns left out
    assert by_id[3].path == {"a": [1, 2]} and by_id[2].path is None and by_id[3].label == "中文"
