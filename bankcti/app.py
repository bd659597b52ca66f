"""The composition root: one bankcti process, wired from settings.

``Service`` owns every long-lived piece (database engine, bus, ACD, FastAGI
server, AMI client, call tracker, console server) and is the only place that
knows all of them; the packages below talk through the small interfaces
passed in here.  ``Service.start()`` returns once every listener is bound;
``Service.close()`` stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from agent_console.admin import end_agent_sessions
from agent_console.app import create_app
from agent_console.crm.deps import CrmServices
from agent_console.server import ConsoleServer, start_console
from agent_console.wallboard import DbCallHistory, DbWallboardDirectory, WallboardConfig
from bankcti.acd_runtime import AcdRuntime
from bankcti.adapters import AcdAgentControl, CrmAuthenticator
from bankcti.bus import EventBus, MqttTls, create_bus
from bankcti.call_control_adapter import ConsoleCallControl
from bankcti.calls import CallAdoption, CallFlowSettings, CallLegs, CallWatch, InboundCallFlow, PopGate
from bankcti.crm_jobs import register_crm_jobs
from bankcti.history import ResilientHistory
from bankcti.history_lanes import lanes_for
from bankcti.pidfile import PID_FILE, pid_line, read_pid_file
from bankcti.roster import AgentRoster
from bankcti.settings import Settings
from crm_core.analytics.runner import SegmentationRunner
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.accounts import load_or_create_pepper
from crm_core.customers.directory import CustomerDirectory
from crm_core.db import create_engine, session_factory
from crm_core.followups.interactions import InteractionWriter
from crm_core.jobs import JobRunner, default_holder
from crm_core.parameters.store import ParameterStore
from crm_core.protection.service import ProtectionService
from crm_core.selfservice.service import SelfService
from cti.ami.client import AmiClient, AmiError
from cti.ami.message import AmiMessage
from cti.control import CallControl
from cti.devices import DeviceMonitor, device_of
from cti.fastagi import FastAgiServer
from cti.tracker import Call, CallState, CallTracker
from ivr import IvrEngine, MenuError, MenuSet, UnknownMenu, load_menus

__all__ = ["PID_FILE", "Service", "ServicePorts", "mqtt_tls"]


log = logging.getLogger(__name__)


def mqtt_tls(settings: Settings) -> MqttTls | None:
    """The ``[mqtt]`` TLS settings for an ``mqtts://`` URL (``None`` for a plain or no broker)."""
    if not settings.mqtt_url.startswith("mqtts://"):
        return None
    return MqttTls(
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
        check_hostname=settings.mqtt_check_hostname,
    )


@dataclass(frozen=True)
class ServicePorts:
    http: int
    fastagi: int


class Service:
    """Everything of one bankcti process."""

    def __init__(self, settings: Settings, *, bus: EventBus | None = None) -> None:
        self.settings = settings
        self.bus = bus or create_bus(
            settings.mqtt_url, topic_prefix=settings.mqtt_topic_prefix, tls=mqtt_tls(settings)
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Keys the hashes of account numbers: one per installation, never in the database.
        self.pepper = load_or_create_pepper(settings.data_dir / "account-pepper")
        self.engine = create_engine(settings.effective_database_url())
        self.sessions = session_factory(self.engine)
        self.interactions = InteractionWriter(self.sessions)
        self.agents = AgentDirectory(self.sessions)
        self.parameters = ParameterStore(self.sessions)
        # The pop cards' and the IVR's VIP flag read analytics.vip_tiers through the service's own store.
        self.customers = CustomerDirectory(self.sessions, self.parameters)
        self.protection = ProtectionService(self.sessions, self.parameters)
        self.jobs = JobRunner(self.sessions, default_holder())
        register_crm_jobs(
            self.jobs, self.protection, self.parameters, SegmentationRunner(self.sessions, self.parameters)
        )
        self.history = ResilientHistory(
            self.interactions,
            settings.data_dir / "history-spool.jsonl",
            serialize=self.engine.dialect.name == "sqlite",
            lanes=lanes_for(self.engine.dialect.name),
        )
        self.menus = self._load_menus()
        self.selfservice = SelfService(self.sessions, self.pepper, self.parameters)
        self.acd_runtime = AcdRuntime(
            settings, self.bus, self.sessions, self.selfservice, self.history, lambda: self.menus
        )
        self.acd = self.acd_runtime.acd
        # Accounts added, changed or disabled while running reach the ACD and the sessions (bankcti.roster).
        self.roster = AgentRoster(self.acd_runtime, self.agents, self.bus)
        self.callbacks = self.acd_runtime.callbacks
        self.ivr = IvrEngine(
            self.menus,
            self.customers,
            region=settings.phone_region,
            selfservice=self.selfservice,
            callbacks=self.callbacks,
            ignore_business_hours=settings.ivr_ignore_business_hours,
        )
        # The agent's phone rings once their console showed the pop (bounded wait): bankcti.calls.pop_gate.
        self.pop_gate = PopGate(self.bus, wait_ms=settings.acd_pop_ack_wait_ms)
        self.tracker = CallTracker()
        # The legs of each call (bankcti.calls.legs), and the PBX's side of them: transfers, holds,
        # dialplan dials and the true end (bankcti.calls.watch); open calls left by an earlier run are
        # adopted or closed honestly once the AMI link is up (bankcti.calls.adoption).
        self.call_legs = CallLegs(self.history)
        self.call_watch = CallWatch(self.tracker, self.call_legs, self._agent_of_device)
        self.adoption = CallAdoption(
            self.interactions, self.call_legs, self.call_watch, self.tracker, acd=self.acd
        )
        self.flow = InboundCallFlow(
            ivr=self.ivr,
            acd=self.acd,
            writer=self.history,
            sink=self.bus,
            settings=CallFlowSettings(
                entry_menu=settings.ivr_entry_menu,
                hold_poll_ms=settings.acd_hold_poll_ms,
                moh_class=settings.acd_moh_class,
            ),
            callbacks=self.callbacks,
            pop_gate=self.pop_gate,
            legs=self.call_legs,
            watch=self.call_watch if settings.ami_enabled else None,
        )
        self.tracker.on_change(self._on_call_change)
        # Device states from AMI: an agent on a call nobody routed through us is never offered one.
        self.devices = DeviceMonitor()
        self.devices.subscribe(self.acd_runtime)
        self.fastagi = FastAgiServer(
            routes={"inbound": self.flow.handle}, host=settings.fastagi_host, port=settings.fastagi_port
        )
        self.ami: AmiClient | None = None
        self.call_control: CallControl | None = None
        self.console_calls: ConsoleCallControl | None = None
        self.console: ConsoleServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pid_file = settings.data_dir / PID_FILE
        self._sighup = False

    def _load_menus(self) -> MenuSet:
        """Load and check the menu directory, including the entry menu (``MenuError`` when bad)."""
        menus = load_menus(self.settings.ivr_menu_dir)
        try:
            menus.get(self.settings.ivr_entry_menu)
        except UnknownMenu as exc:
            raise MenuError(self.settings.ivr_menu_dir, None, str(exc)) from None
        return menus

    def reload_menus(self) -> bool:
        """Load the menu files again (SIGHUP, ``bankcti ivr reload``).

        New calls start on the new menus, calls in progress finish on the
        version they started with.  A bad file is logged with its file, line
        and reason, and the running menus stay: the result is ``False``.
        """
        try:
            menus = self._load_menus()
            self.ivr.replace_menus(menus)
        except (MenuError, ValueError) as exc:
            log.error("ivr.reload_refused", extra={"error": str(exc)})
            return False
        self.menus = menus
        for queue in menus.queue_names():
            self.acd.add_queue(queue)
        log.info("ivr.reloaded", extra={"menus": sorted(menu.name for menu in menus)})
        return True

    def _install_reload(self) -> None:
        # One service per process owns SIGHUP and the pid file (tests may run several, one at a time).
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload_menus)
            # `bankcti agents …` asks for its change to be applied now (else the roster's poll finds it).
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.roster.request_sync)
            self._sighup = True
        self._pid_file.write_text(pid_line(), encoding="ascii")

    def _remove_reload(self) -> None:
        if self._sighup:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
                asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
            self._sighup = False
        with contextlib.suppress(OSError, ValueError):
            if read_pid_file(self._pid_file)[0] == os.getpid():
                self._pid_file.unlink()

    @property
    def ports(self) -> ServicePorts:
        assert self.console is not None
        return ServicePorts(http=self.console.port, fastagi=self.fastagi.port)

    async def start(self) -> None:
        await self.history.start()
        await self.bus.start()
        await self.pop_gate.start()
        await self.acd_runtime.start(self.menus.queue_names(), with_ami=self.settings.ami_enabled)
        await self.roster.start()
        await self.fastagi.start()
        if self.settings.jobs_enabled:
            self.jobs.start()
        if self.settings.ami_enabled:
            self._start_ami()
        control = AcdAgentControl(self.acd)
        app = create_app(
            authenticator=CrmAuthenticator(self.agents),
            control=control,
            events=self.bus,
            session_ttl=self.settings.http_session_ttl_seconds,
            # Logged-in browsers stay logged in across a restart (digests only, never tokens).
            session_file=self.settings.data_dir / "console-sessions.json",
            wrapup_seconds=self.settings.acd_wrapup_seconds,
            # The supervisor wallboard: live ACD view + today's calls from the history at start.
            wallboard=WallboardConfig(
                live_acd=self.acd,
                history=DbCallHistory(self.sessions),
                # One threshold per queue and one site zone: the reports use the same (reports_site).
                service_levels=lambda queue: self.acd.queue_config(queue).service_level_seconds,
                tz=ZoneInfo(self.settings.site_timezone),
                directory=DbWallboardDirectory(self.sessions),
                queue_titles=lambda queue: self.acd.queue_config(queue).display_name,
                push_interval=self.settings.http_wallboard_push_ms / 1000,
            ),
            calls=self.console_calls,
            queues=self.acd_runtime,
            roster=self.roster,
            # Screen-pop audit rows the database cannot take (an outage) wait on disk, replayed in order.
            pop_audit_spool=self.settings.data_dir / "pop-audit-spool.jsonl",
            # Pops the consoles received, and who has a console: the call flow dials after the pop.
            receipts=self.bus,
            metrics=lambda: {"pops": self.pop_gate.counters.as_dict()},
            # A saved wrap-up lets its agent go on (a queue's disposition_required holds them until then).
            on_wrapped_up=control.wrapped_up,
            # The IVR path on the agent's screen in words (the menus' label / label_zh, reloads included).
            ivr_labels=lambda: self.menus.node_labels(self.settings.ivr_entry_menu),
            crm=CrmServices.build(
                self.sessions,
                pepper=self.pepper,
                region=self.settings.phone_region,
                parameters=self.parameters,
                recent_customer_minutes=self.settings.http_recent_customer_access_minutes,
                site_zone=ZoneInfo(self.settings.site_timezone),
            ),
        )
        self.roster.on_credentials_changed(lambda logins: end_agent_sessions(app, logins))
        self.console = await start_console(
            app,
            self.settings.http_host,
            self.settings.http_port,
            trusted_proxies=self.settings.http_trusted_proxies,
        )
        self._install_reload()
        log.info(
            "service.started",
            extra={"http": self.console.port, "fastagi": self.fastagi.port, "bus": type(self.bus).__name__},
        )

    def _start_ami(self) -> None:
        s = self.settings
        self.ami = AmiClient(
            host=s.ami_host,
            port=s.ami_port,
            username=s.ami_username,
            secret=s.ami_secret,
            ping_interval=s.ami_ping_interval,
            ping_timeout=s.ami_ping_timeout,
            reconnect_min=s.ami_reconnect_min,
            reconnect_max=s.ami_reconnect_max,
            flap_max=s.ami_flap_max,
        )
        self.ami.on_event(self._on_ami_event)
        self.ami.on_event(self.devices.feed, "DeviceStateChange")
        self.ami.on_connection(self._on_ami_connection)
        self.acd_runtime.attach_ami(self.ami)
        # Hold, transfers, click-to-dial and ChanSpy from the console (cti.control).
        self.call_control = CallControl(self.ami, self.tracker)
        self.ami.on_event(self.call_control.on_event)
        self.console_calls = ConsoleCallControl(
            self.call_control, self.acd, self.agents, self.history, self.tracker, events=self.bus
        )
        self._spawn(self._connect_ami(), "ami-connect")

    async def _connect_ami(self) -> None:
        assert self.ami is not None
        # Asterisk may start after us: retry with back-off; calls still work over
        # FastAGI meanwhile. Bad credentials are not retried: they need a person.
        try:
            await self.ami.connect(retry=True)
        except AmiError as exc:
            log.error("ami.login_refused", extra={"error": str(exc)})

    def _on_ami_event(self, message: AmiMessage) -> None:
        self.tracker.feed(message)
        self.acd_runtime.on_ami_event(message)

    async def _on_ami_connection(self, up: bool) -> None:
        if not up or self.ami is None:
            return
        try:
            channels = await self.ami.core_show_channels()
        except AmiError as exc:
            log.warning("ami.resync_failed", extra={"error": str(exc)})
            return
        with self.call_watch.resyncing():
            self.tracker.resync(channels)
        log.info("ami.resynced", extra={"channels": len(channels)})
        # Calls an earlier run left open: adopted if the PBX still has them, else closed as unobserved.
        await self.adoption.reconcile(self.flow.live_call_ids)
        # Devices first: the reconciliation below offers calls to agents it frees.
        await self.devices.resync(channels)
        # After a restart or a lost link: nobody stuck "on call" without a call, nobody offered while busy.
        await self.acd_runtime.on_ami_up(channels)

    def _on_call_change(self, call: Call, previous: CallState | None) -> None:
        if call.state == CallState.CONNECTED and previous != CallState.CONNECTED:
            # Which device answered matters for a ring-all group: the agent who took the call.
            answered = next(
                (d.dial_string or d.dest_channel for d in call.dials.values() if d.status == "ANSWER"), None
            )
            self._spawn(self.flow.connected(call.linkedid, answered), "call-connected")
        elif call.state == CallState.ENDED and previous != CallState.ENDED:
            self._spawn(self.acd_runtime.call_ended(call.linkedid), "call-ended")

    def _agent_of_device(self, dialled: str) -> str | None:
        """The ACD agent whose device ``dialled`` is (a dial string or a channel of it), if any."""
        device = device_of(dialled)
        return next((record.login for record in self.acd.agents() if record.device == device), None)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def set_agent_available(self, login: str) -> None:
        await self.acd.set_agent_state(login, "available")

    async def close(self) -> None:
        self._remove_reload()
        if self.console is not None:
            await self.console.close()
        await self.fastagi.close()
        await self.jobs.close()
        if self.ami is not None:
            await self.ami.close()
        if self.console_calls is not None:
            await self.console_calls.close()
        await self.roster.close()
        await self.acd_runtime.close()
        await self.call_legs.close_all()
        await self.pop_gate.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.bus.close()
        await self.history.close()
        await self.engine.dispose()
        log.info("service.stopped")
