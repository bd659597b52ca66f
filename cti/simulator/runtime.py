"""The simulated Asterisk process around its channels: state tables, time, tasks, events, lookups.

:class:`PbxRuntime` is the base of :class:`cti.simulator.core.Pbx`: it holds
the configuration and every table of the process (channels, globals, phones,
AstDB, queues, hints, the calls being observed), scales simulated time, keeps
the tasks it spawns (their failures are logged, never lost), fans AMI events
out to the sessions and to the call they belong to, and answers lookups
(phones, extensions, uptime).  What happens to channels — creation, state,
hangup, DTMF, music, bridges, device states, restart — is :mod:`cti.simulator.core`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from cti.ami.message import AmiMessage
from cti.simulator.channels import Channel, ChannelRegistry
from cti.simulator.config import AgentPhone, SimulatorConfig
from cti.simulator.events import EventFactory
from cti.simulator.hints import HintRegistry
from cti.simulator.hooks import CallObserver, DialplanRunner
from cti.simulator.queue import QueueRegistry

__all__ = ["LAB_GLOBALS", "PbxRuntime"]

# The core's logger: the process's records keep the name they had before this split.
log = logging.getLogger("cti.simulator.core")

LAB_GLOBALS = {
    "AGENT_1001_DELAY": "2",
    "AGENT_1001_TALK": "5",
    "AGENT_1002_DELAY": "2",
    "AGENT_1002_TALK": "5",
    "AGENT_1003_DELAY": "2",
    "AGENT_1003_TALK": "5",
}


class PbxRuntime:
    """The process state shared by the dialplan, the applications and the AMI server."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.events = EventFactory(config.channelvars)
        self.registry = ChannelRegistry()
        self.globals: dict[str, str] = dict(LAB_GLOBALS)
        self.phones: dict[str, AgentPhone] = {}
        self.database: dict[tuple[str, str], str] = {}
        self.queues = QueueRegistry()
        self.listeners: list[Callable[[AmiMessage], None]] = []
        self.calls: dict[str, CallObserver] = {}
        self.started_at = time.time()
        self.dialplan: DialplanRunner | None = None
        self._device_states: dict[str, str] = {}
        self.hints = HintRegistry()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- time and tasks -------------------------------------------------------------
    def scaled(self, seconds: float) -> float:
        """Real seconds for *seconds* of simulated time."""
        return max(seconds, 0.0) / self.config.speed

    def sim_elapsed(self, since: float) -> float:
        """Simulated seconds elapsed since the monotonic instant *since*."""
        return (time.monotonic() - since) * self.config.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.scaled(seconds))

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run *coro* as a tracked task; failures are logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("sim.task_failed", extra={"task": task.get_name()}, exc_info=exc)

    async def cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- events -------------------------------------------------------------------------
    def emit(self, message: AmiMessage, linkedid: str | None = None) -> None:
        """Send *message* to every AMI session and to the call it belongs to."""
        if linkedid is not None:
            observer = self.calls.get(linkedid)
            if observer is not None:
                observer.on_event(message)
        for listener in self.listeners:
            listener(message)

    def emit_for(self, channel: Channel, message: AmiMessage) -> None:
        self.emit(message, channel.linkedid)

    def call_of(self, channel: Channel) -> CallObserver | None:
        return self.calls.get(channel.linkedid)

    # -- lookups ---------------------------------------------------------------------------------
    def phone_for(self, device: str) -> AgentPhone | None:
        """The :class:`AgentPhone` registered for *device* (case-insensitive)."""
        phone = self.phones.get(device)
        if phone is not None:
            return phone
        lowered = device.lower()
        for key, candidate in self.phones.items():
            if key.lower() == lowered:
                return candidate
        return None

    def run_dialplan(self, channel: Channel, context: str, exten: str, priority: int = 1) -> None:
        """Start *channel*'s dialplan at ``context,exten,priority`` (a task)."""
        if self.dialplan is None:
            raise RuntimeError("no dialplan attached to the PBX core")
        self.dialplan.start(channel, context, exten, priority)

    def has_extension(self, context: str, exten: str) -> bool:
        return self.dialplan is not None and self.dialplan.has_extension(context, exten)

    def uptime(self) -> int:
        return int(time.time() - self.started_at)
