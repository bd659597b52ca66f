"""``executemany`` of a Core statement compiled once, its parameters converted column by column.

``connection.execute(statement, list_of_dicts)`` rebuilds every parameter set
through the compiler (``construct_params``: names, defaults, type processing)
on every call.  For the history's group commit, which writes hundreds of rows
of ~40 columns per batch, that was ~11 % of the benchmark's CPU (``bankcti
bench history`` on PostgreSQL: 5.3 s → 4.8 s of CPU for 2 000 calls).
:class:`BulkStatement` compiles the statement once per dialect, keeps each
bind's type processor (the same ``bind_processor`` SQLAlchemy applies, so a
``UtcDateTime`` or a ``JSON`` column is stored exactly as through the ORM),
fills in the Python-side defaults (and ``onupdate``) of the columns the
statement leaves out, and hands the driver plain tuples in the statement's
positional order.

The binds must be named values (``bindparam``), not expanding ``IN`` lists;
an ``INSERT`` names its values explicitly (``insert(t).values(col=bindparam(...))``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["BulkStatement"]

_Processor = Callable[[Any], Any] | None


class _Compiled:
    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        # for_executemany: no implicit RETURNING of the new row's key, as the executemany would run.
        compiled = statement.compile(dialect=dialect, for_executemany=True)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError("a bulk statement is a Core INSERT, UPDATE or DELETE")
        names = compiled.positiontup
        if names is None:
            raise ValueError(f"dialect {dialect.name} does not use positional parameters")
        # A column the statement leaves out gets its Python-side default (or onupdate), as through
        # SQLAlchemy: a constant, or a function called for each row.
        defaults: dict[str, Callable[[], Any]] = {}
        for column in compiled.insert_prefetch:
            defaults[column.key] = _default(column, column.default)
        for column in compiled.update_prefetch:
            defaults[column.key] = _default(column, column.onupdate)
        for name in names:
            bind = compiled.binds[name]
            if bind.expanding or bind.callable is not None:
                raise ValueError(f"bind {name!r} is not a plain value")
        self.sql = compiled.string
        self.defaults = defaults
        # Each positional parameter: its bind name and the type processor SQLAlchemy would apply.
        self.plan: tuple[tuple[str, _Processor], ...] = tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
        )


def _default(column: Any, default: Any) -> Callable[[], Any]:
    if default is not None and default.is_scalar:
        value = default.arg
        return lambda: value
    if default is not None and default.is_callable:
        function = default.arg  # SQLAlchemy's wrapper: takes the execution context
        return lambda: function(None)
    raise ValueError(f"column {column.key!r} has a default computed in SQL: give it a value")


class BulkStatement:
    """A statement run as ``executemany`` with parameter sets given as mappings by bind name."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self._statement, dialect)
        return compiled

    async def execute_many(self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per mapping of ``rows`` (nothing if ``rows`` is empty)."""
        if not rows:
            return
        compiled = self._for(connection.dialect)
        if compiled.defaults:
            rows = [{**{k: make() for k, make in compiled.defaults.items()}, **row} for row in rows]
        plan = compiled.plan
        params = [
            tuple(row[name] if process is None else process(row[name]) for name, process in plan)
            for row in rows
        ]
        await connection.exec_driver_sql(compiled.sql, params)
