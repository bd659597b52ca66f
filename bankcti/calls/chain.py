"""A call's history writes, chained: each one's outcome known once it and every earlier one are done.

The call flow makes a dozen history writes per call and never waits for them;
what it keeps is one future per call, done when the call's latest write and
all before it are done (the final record and the shutdown wait on it).  A
write queued in the group commit (:class:`bankcti.history.ResilientHistory`)
is already a future, settled in queue order: chaining it costs two
callbacks, where a task per write cost a task and two scheduling rounds
(``bankcti bench history`` on PostgreSQL, 2 000 calls: 4.76 s → 4.65 s of
CPU).  A writer that is not queueing hands over a coroutine, which still
runs in a task, after the previous write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["chain_write", "logged_failure"]


def logged_failure(log: logging.Logger, event: str, call_id: str) -> Callable[[BaseException], None]:
    """A ``failed`` for :func:`chain_write` that logs ``event`` with the error and the call id."""

    def failed(exc: BaseException) -> None:
        # The resilient history spools what the database cannot take; anything else is a defect.
        log.error(event, exc_info=exc, extra={"call_id": call_id})

    return failed


def chain_write(
    previous: asyncio.Future[None] | None,
    write: Awaitable[Any],
    failed: Callable[[BaseException], None],
) -> asyncio.Future[None]:
    """A future done once ``previous`` and ``write`` are both done; ``failed`` gets ``write``'s error.

    The returned future never raises: a failed write is reported to
    ``failed`` (the history spools what the database cannot take, so a
    failure here is a refusal or a defect, logged by the caller), and the
    chain goes on.
    """
    loop = asyncio.get_running_loop()
    if not isinstance(write, asyncio.Future):
        return loop.create_task(_after(previous, write, failed))
    done: asyncio.Future[None] = loop.create_future()

    def finish(_: object = None) -> None:
        if not done.done():
            done.set_result(None)

    def written(future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            failed(future.exception())  # type: ignore[arg-type]
        if previous is None or previous.done():
            finish()
        else:
            previous.add_done_callback(finish)

    write.add_done_callback(written)
    return done


async def _after(
    previous: asyncio.Future[None] | None, write: Awaitable[Any], failed: Callable[[BaseException], None]
) -> None:
    if previous is not None:
        with contextlib.suppress(Exception):
            await previous
    try:
        await write
    except Exception as exc:
        failed(exc)
