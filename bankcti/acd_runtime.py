"""The ACD of one service with everything around it: queues, recording, callbacks, reconciliation.

:class:`AcdRuntime` keeps the composition root (:mod:`bankcti.app`) small:
the service creates it, starts it once the database is reachable, and
forwards AMI events, AMI reconnections, device states (it is the
:class:`cti.devices.DeviceObserver` of the service's device monitor) and
ended calls to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd import Acd
from acd.config import QueueConfig, QueueConfigError, check_references, load_queue_file, queue_from_mapping
from acd.events import EventSink
from bankcti.acd_setup import (
    RecordingSink,
    RosterChanges,
    apply_roster,
    build_queues,
    busy_devices,
    check_open_hours,
    make_is_open,
    register_agents,
    restore_states,
)
from bankcti.callbacks.engine import CallbackEngine, OriginatePort
from bankcti.calls import HistoryWriter
from bankcti.settings import Settings
from crm_core.contact_center.acd_store import (
    AcdRecorder,
    load_agent_states,
    load_queue_rows,
    load_routing_agents,
    save_queue_row,
)
from crm_core.customers.directory import CustomerDirectory
from crm_core.selfservice.service import SelfService
from cti.ami.message import AmiMessage
from cti.devices import DeviceStateChange
from ivr import MenuSet

__all__ = ["AcdRuntime"]

log = logging.getLogger(__name__)


class AcdRuntime:
    """Builds the :class:`~acd.Acd` from settings.

    Raises :class:`~acd.QueueConfigError` for a bad queue file, naming the queue and setting
    (an ``open_hours`` calendar no IVR menu defines among them).
    """

    def __init__(
        self,
        settings: Settings,
        bus: EventSink,
        sessions: async_sessionmaker[AsyncSession],
        selfservice: SelfService,
        history: HistoryWriter,
        menus: Callable[[], MenuSet],
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._defaults = {
            "ring_timeout": settings.acd_ring_timeout,
            "wrapup_seconds": settings.acd_wrapup_seconds,
            "max_wait_seconds": settings.acd_max_wait_seconds,
        }
        self.queue_file = load_queue_file(settings.acd_queue_file, self._defaults)
        self._menus = menus
        try:
            check_open_hours(self.queue_file.queues, menus())
        except QueueConfigError as exc:
            raise QueueConfigError(f"{settings.acd_queue_file}: {exc}") from None
        # Statistics records the database cannot take (an outage) wait on disk, replayed in order.
        self.recorder = AcdRecorder(sessions, spool_path=settings.data_dir / "acd-spool.jsonl")
        # A call whose required wrap-up was missed is marked on its interaction, through the spooled history.
        self.sink = RecordingSink(bus, self.recorder, history)
        self.acd = Acd(
            self.sink,
            ring_timeout=settings.acd_ring_timeout,
            wrapup_seconds=settings.acd_wrapup_seconds,
            weights=self.queue_file.weights,
            is_open=make_is_open(menus, settings.ivr_ignore_business_hours),
            default_aht=settings.acd_default_aht,
        )
        self._ami: OriginatePort | None = None
        self.callbacks = CallbackEngine(
            self.acd,
            selfservice,
            sessions,
            self.sink,
            history,
            lambda: self._ami,
            ivr_queue=settings.acd_ivr_callback_queue,
            # Callback settlements the database cannot take wait on disk: no customer is dialled twice.
            status_spool=settings.data_dir / "callback-status-spool.jsonl",
            customers=CustomerDirectory(sessions),
        )
        self._callbacks_started = False
        # Logins registered from the agents table: the ones a roster sync may retire.
        self._managed: set[str] = set()
        self._roster_lock = asyncio.Lock()

    async def start(self, menu_queues: Iterable[str], *, with_ami: bool) -> None:
        """Queues, agents and their saved states; callbacks at once unless they wait for AMI."""
        # First, so that the agent states loaded below include what an earlier run left in the spool.
        await self.recorder.start()
        rows = await load_queue_rows(self._sessions)
        queues, _ = build_queues(self.queue_file, rows, menu_queues, self._defaults)
        try:
            check_open_hours([queue for queue in queues if queue.name in rows], self._menus())
        except QueueConfigError as exc:
            raise QueueConfigError(f"database table acd_queues: {exc}") from None
        for queue in queues:
            self.acd.add_queue(queue)
        agents = await load_routing_agents(self._sessions)
        registered = register_agents(self.acd, agents)
        self._managed = {record.login for record in self.acd.agents()}
        restored = restore_states(self.acd, await load_agent_states(self._sessions))
        log.info(
            "acd.started", extra={"queues": len(queues), "agents": registered, "restored": len(restored)}
        )
        if not with_ami:
            await self._start_callbacks()

    async def _start_callbacks(self) -> None:
        if not self._callbacks_started:
            self._callbacks_started = True
            await self.callbacks.start()

    async def sync_agents(self) -> RosterChanges:
        """Read the agents table again and apply what changed to the running ACD (no restart).

        Added accounts are registered (logged out), changed ones get their new
        device, queues, skills, name and team at once, disabled ones are logged
        out and forgotten (after their call, if they are on one).
        """
        async with self._roster_lock:
            agents = await load_routing_agents(self._sessions)
            return await apply_roster(self.acd, agents, self._managed)

    def queue_names(self) -> list[str]:
        """Every queue the ACD runs: what an agent may be put in."""
        return self.acd.queue_names()

    # -- queue administration (agent_console.ports.QueueAdmin) ---------------------------------

    def queues(self) -> list[QueueConfig]:
        return [self.acd.queue_config(name) for name in self.acd.queue_names()]

    async def save_queue(self, name: str, settings: Mapping[str, Any]) -> QueueConfig:
        """Check ``settings`` against every other queue, store them, then route by them at once."""
        try:
            queue = queue_from_mapping(name, {**self._defaults, **settings})
            others = [q for q in self.queues() if q.name != name]
            check_references([*others, queue])
            check_open_hours([queue], self._menus())
        except QueueConfigError as exc:
            raise ValueError(str(exc)) from None
        # The row holds the whole definition as applied, so a restart routes exactly the same.
        await save_queue_row(self._sessions, name, {**self._defaults, **settings})
        self.acd.add_queue(queue)
        log.info("acd.queue_saved", extra={"queue": name})
        return queue

    def attach_ami(self, ami: OriginatePort | None) -> None:
        self._ami = ami

    def on_ami_event(self, message: AmiMessage) -> None:
        self.callbacks.on_ami_event(message)

    async def on_ami_up(self, channels: list[AmiMessage]) -> None:
        """After a (re)connection: align agents with the PBX's channels, then dial pending callbacks."""
        changed = await self.acd.reconcile(busy_devices(channels))
        if changed:
            log.warning("acd.reconciled_agents", extra={"agents": changed})
        await self._start_callbacks()

    # -- device states (cti.devices.DeviceObserver) ---------------------------------------------

    async def device_changed(self, change: DeviceStateChange) -> None:
        """A device went in use or free: its agents are kept from offers, or offered again."""
        await self.acd.device_in_use(change.device, change.state.in_use)

    async def devices_resynced(self, in_use: frozenset[str]) -> None:
        """After an AMI (re)connection: exactly these devices have a call."""
        await self.acd.reconcile_devices(in_use)

    async def call_ended(self, linkedid: str) -> None:
        """The PBX reports a call over: an agent still shown on it moves on."""
        await self.acd.call_ended(linkedid)

    async def close(self) -> None:
        await self.callbacks.close()
        await self.acd.close()
        await self.sink.drain()
        await self.recorder.close()
