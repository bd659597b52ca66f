"""Agent accounts changed while the service runs: the ACD and the console sessions follow.

An administrator adds, changes or disables accounts through the console's
admin API (in this process), through ``bankcti agents …`` (another process on
the same database) or through another service sharing the MQTT bus.  Each way
ends here, in :meth:`AgentRoster.sync`: the agents table is read again, the
difference applied to the running ACD (:func:`bankcti.acd_setup.apply_roster`),
and the console sessions of accounts disabled or given a new password are
ended.  How a change arrives:

* the admin API calls :meth:`AgentRoster.agents_changed` once it has committed
  (applied before the HTTP answer), which also publishes
  :class:`~acd.events.AgentsChanged` on the bus for the other services;
* an ``agents.changed`` event from another process on the bus;
* ``SIGUSR1``, sent by the CLI to the pid in the data directory;
* a periodic check every :data:`POLL_SECONDS`, for a change made where none
  of the above reaches (a CLI on another host): it is applied within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence

from acd.events import AgentsChanged
from bankcti.acd_runtime import AcdRuntime
from bankcti.acd_setup import RosterChanges
from bankcti.bus import EventBus
from crm_core.contact_center.agents import AgentDirectory

__all__ = ["POLL_SECONDS", "AgentRoster"]

log = logging.getLogger(__name__)

#: How often the agents table is read again when no notice of a change arrived.
POLL_SECONDS = 30.0


class AgentRoster:
    """Applies account changes to the running ACD and ends the sessions they invalidate."""

    def __init__(
        self,
        runtime: AcdRuntime,
        directory: AgentDirectory,
        bus: EventBus,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._runtime = runtime
        self._directory = directory
        self._bus = bus
        self._poll_seconds = poll_seconds
        #: Names this process on the bus: its own notices are not applied twice.
        self.source = secrets.token_hex(8)
        self._stamps: dict[str, str] = {}
        self._revoke: Callable[[list[str]], int] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def on_credentials_changed(self, revoke: Callable[[list[str]], int]) -> None:
        """``revoke(logins)`` ends the console sessions of those accounts (returns how many)."""
        self._revoke = revoke

    async def start(self) -> None:
        """Take the accounts as they are now as the baseline, then listen for changes."""
        self._stamps = await self._directory.credential_stamps()
        self._spawn(self._listen(), "roster-bus")
        self._spawn(self._poll(), "roster-poll")

    async def sync(self) -> RosterChanges:
        """Apply the agents table as it is now; end the sessions of accounts whose credentials changed."""
        changes = await self._runtime.sync_agents()
        stamps = await self._directory.credential_stamps()
        changed = sorted(
            login
            for login in stamps.keys() | self._stamps.keys()
            if stamps.get(login) != self._stamps.get(login)
        )
        self._stamps = stamps
        if changed and self._revoke is not None:
            ended = self._revoke(changed)
            log.info("roster.sessions_ended", extra={"logins": changed, "sessions": ended})
        return changes

    async def agents_changed(self, logins: Sequence[str]) -> None:
        """The console committed a change to ``logins``: apply it here, then tell the other services."""
        await self.sync()
        await self._bus.publish(AgentsChanged(source=self.source, logins=list(logins)))

    def request_sync(self) -> None:
        """Apply the agents table soon (the ``SIGUSR1`` handler: must not block)."""
        self._spawn(self._sync_logged("signal"), "roster-signal")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _sync_logged(self, why: str) -> None:
        try:
            await self.sync()
        except Exception as exc:
            # The next notice or poll tries again: a database blip must not stop the listener.
            log.warning("roster.sync_failed", extra={"why": why, "error": repr(exc)})

    async def _listen(self) -> None:
        while True:
            stream = self._bus.subscribe()
            try:
                async for event in stream:
                    if isinstance(event, AgentsChanged) and event.source != self.source:
                        await self._sync_logged("bus")
            except Exception as exc:
                log.warning("roster.bus_failed", extra={"error": repr(exc)})
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()
            await asyncio.sleep(1.0)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            await self._sync_logged("poll")

    def _spawn(self, coro: object, name: str) -> None:
        assert asyncio.iscoroutine(coro)
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
