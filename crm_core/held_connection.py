"""One database connection kept by a single writer task, instead of a pool checkout per transaction.

The history's group commit runs one transaction per batch, back to back.
Checked out of the pool each time, a PostgreSQL connection costs four more
round trips per batch than the batch itself: the pre-ping (``BEGIN``, ``;``,
``ROLLBACK``) and the reset on return (``ROLLBACK``).  :class:`HeldConnection`
checks a connection out once (pre-pinged then) and keeps it; any failure in
a transaction closes it, so the next transaction starts on a fresh,
pre-pinged connection: a database restart costs the writer one failed batch
(spooled by the caller), never a wedged connection.

Transactions on it are serialised by a lock: the writer's own ones and a
spool replay that may run beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

__all__ = ["HeldConnection"]


class HeldConnection:
    """Sessions on one connection of ``engine``, kept between transactions (see the module)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction on the held connection: committed at the end, rolled back on error."""
        async with self._lock:
            if self._connection is None:
                self._connection = await self._engine.connect()
            try:
                async with AsyncSession(bind=self._connection, expire_on_commit=False) as session:
                    async with session.begin():
                        yield session
            except BaseException:
                await self._drop()
                raise

    async def close(self) -> None:
        """Give the connection back to the pool (the next transaction takes another)."""
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a dead connection: the pool discards it
                await connection.close()
