"""Deliver AMI events and connection changes to callbacks, in arrival order.

A call tracker is only correct if it sees events in the order Asterisk sent
them, so one task delivers everything from one queue: a callback may be a
coroutine function, and the next event waits until it has finished.
Connection changes travel through the same queue, so an ``on_connection(True)``
callback that resynchronises (``CoreShowChannels``) runs after every event of
the previous connection and before every event received after it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import logging
from collections.abc import Callable
from typing import TypeAlias

from cti.ami.message import AmiMessage

__all__ = ["ConnectionCallback", "EventCallback", "EventDispatcher"]

log = logging.getLogger(__name__)

# A callback's result is awaited if it is awaitable and ignored otherwise, so
# any function fits, e.g. ``CallTracker.feed`` which returns the changed call.
EventCallback: TypeAlias = Callable[[AmiMessage], object]
ConnectionCallback: TypeAlias = Callable[[bool], object]

BACKLOG_WARNING = 10_000  # queued events before each backlog warning


class EventDispatcher:
    """Ordered delivery of events (by name pattern) and connection changes."""

    def __init__(self) -> None:
        self._subscriptions: list[tuple[str, EventCallback]] = []
        self._connection_callbacks: list[ConnectionCallback] = []
        self._queue: asyncio.Queue[AmiMessage | bool] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._warned_at = 0

    def subscribe(self, callback: EventCallback, event: str = "*") -> None:
        """Call ``callback`` for every event whose name matches ``event``.

        ``event`` is a case-insensitive shell pattern: ``"*"``, ``"Hangup"``,
        ``"Agent*"``.
        """
        self._subscriptions.append((event.lower(), callback))

    def on_connection(self, callback: ConnectionCallback) -> None:
        self._connection_callbacks.append(callback)

    @property
    def backlog(self) -> int:
        """Events received but not yet delivered (a lag indicator)."""
        return self._queue.qsize()

    def post_event(self, event: AmiMessage) -> None:
        self._queue.put_nowait(event)
        size = self._queue.qsize()
        if size >= self._warned_at + BACKLOG_WARNING:
            self._warned_at = size
            log.warning("ami.event_backlog", extra={"backlog": size})
        elif size < self._warned_at // 2:
            self._warned_at = 0

    def post_connection(self, connected: bool) -> None:
        self._queue.put_nowait(connected)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ami-dispatch")

    async def stop(self) -> None:
        """Stop delivering; events still queued are dropped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            if task is not asyncio.current_task():  # close() called from a callback
                await asyncio.gather(task, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _run(self) -> None:
        delivered = 0
        while True:
            item = await self._queue.get()
            delivered += 1
            if delivered % 64 == 0:
                # Queue.get() does not yield while items are queued: give the
                # rest of the service a turn during a burst of events.
                await asyncio.sleep(0)
            if isinstance(item, bool):
                for connection_callback in list(self._connection_callbacks):
                    await self._call(connection_callback, item, "connection")
                continue
            name = (item.event or "").lower()
            for pattern, callback in list(self._subscriptions):
                if pattern == "*" or fnmatch.fnmatchcase(name, pattern):
                    await self._call(callback, item, name)

    @staticmethod
    async def _call(callback: Callable[..., object], arg: object, what: str) -> None:
        # A faulty consumer must not stop the delivery to the others.
        try:
            result = callback(arg)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ami.callback_failed", extra={"delivery": what})
