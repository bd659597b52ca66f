"""Wiring of the ACD into one service: queues, agents, persisted states, recording, reconciliation.

* Queues come from the queue settings file (``acd_queue_file``), overridden
  or completed by the ``acd_queues`` table; a queue the IVR menus name but no
  file defines gets the defaults of the ``[acd]`` settings.  A queue's
  ``open_hours`` must name a calendar of the IVR menus
  (:func:`check_open_hours`); :func:`make_is_open` keeps a queue whose
  calendar went missing since (a menu reload) closed.
* Agents come from the CRM with their skills and team; their last states are
  restored from ``agent_states``.  :func:`apply_roster` brings a running ACD
  in line with the accounts as they are now (added, changed, disabled).
* :class:`RecordingSink` publishes the ACD's events on the bus and records
  them (``queue_events``, ``agent_events``, ``agent_states``; a missed
  required wrap-up on the call's interaction).
* :func:`busy_devices` reads the PBX's channel list for
  :meth:`acd.Acd.reconcile` after a restart or an AMI reconnection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from acd import Acd, QueueConfig, QueueConfigError, SavedAgentState
from acd.config import QueueFile, check_references, queue_from_mapping
from acd.events import AgentStateChanged, BusEvent, EventSink, QueueTransition, WrapUpMissed
from acd.priority import PriorityWeights
from crm_core.contact_center.acd_store import (
    AcdRecorder,
    AgentEventRecord,
    QueueEventRecord,
    RoutingAgent,
    StoredAgentState,
)
from crm_core.schemas import InteractionRecord
from cti.ami.message import AmiMessage
from cti.devices import device_of
from ivr import MenuSet

__all__ = [
    "RecordingSink",
    "RosterChanges",
    "apply_roster",
    "build_queues",
    "busy_devices",
    "check_open_hours",
    "make_is_open",
    "register_agents",
    "restore_states",
]

log = logging.getLogger(__name__)


class CallHistory(Protocol):
    async def upsert(self, record: InteractionRecord) -> object: ...


class RecordingSink:
    """The ACD's :class:`~acd.events.EventSink`: records queue and agent events, then publishes them.

    With ``history`` (the spooled follow-up history, :class:`bankcti.history.ResilientHistory`)
    a call whose required wrap-up was missed (``wrapup.missed``) is marked on its interaction
    (``wrapup_missed_at``), in the background: the ACD's events never wait for the database.
    """

    def __init__(self, bus: EventSink, recorder: AcdRecorder, history: CallHistory | None = None) -> None:
        self._bus = bus
        self._recorder = recorder
        self._history = history
        self._writes: set[asyncio.Task[None]] = set()

    async def drain(self) -> None:
        """Wait for the history writes in flight (at shutdown, before the history closes)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _mark_missed(self, event: WrapUpMissed) -> None:
        assert self._history is not None
        missed_at = datetime.fromtimestamp(event.at, UTC)
        record = InteractionRecord(call_id=event.call_id, wrapup_missed_at=missed_at)
        try:
            await self._history.upsert(record)
        except Exception:
            log.exception("acd.wrapup_missed_not_recorded", extra={"call_id": event.call_id})

    async def publish(self, event: BusEvent) -> None:
        if isinstance(event, WrapUpMissed) and self._history is not None:
            task = asyncio.get_running_loop().create_task(self._mark_missed(event))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        if isinstance(event, QueueTransition):
            self._recorder.add(
                QueueEventRecord(
                    at=event.at,
                    call_id=event.call_id,
                    event=event.event,
                    queue=event.queue,
                    agent_login=event.agent_login,
                    customer_id=event.customer_id,
                    data=event.data,
                )
            )
        elif isinstance(event, AgentStateChanged):
            self._recorder.add(
                AgentEventRecord(
                    at=event.at,
                    agent_login=event.agent_login,
                    state=event.state,
                    reason=event.reason,
                    call_id=event.call_id,
                    last_available_at=event.last_available_at,
                    calls_handled=event.calls_handled,
                )
            )
        await self._bus.publish(event)


def build_queues(
    loaded: QueueFile,
    db_rows: Mapping[str, Mapping[str, Any]],
    menu_queues: Iterable[str],
    defaults: Mapping[str, Any],
) -> tuple[list[QueueConfig], PriorityWeights]:
    """Every queue the service runs, and the priority weights.

    ``defaults`` (ring_timeout, wrapup_seconds, max_wait_seconds) complete
    queues defined nowhere but named by a menu.  Raises
    :class:`~acd.QueueConfigError` naming the queue and setting at fault.
    """
    by_name: dict[str, QueueConfig] = {queue.name: queue for queue in loaded.queues}
    for name, row in db_rows.items():
        # A database row replaces the file's definition of the same queue.
        base = {**defaults, **row}
        try:
            by_name[name] = queue_from_mapping(name, base)
        except QueueConfigError as exc:
            raise QueueConfigError(f"database table acd_queues: {exc}") from None
    for name in menu_queues:
        if name not in by_name:
            by_name[name] = queue_from_mapping(name, dict(defaults))
    queues = list(by_name.values())
    check_references(queues)
    return queues, loaded.weights


def check_open_hours(queues: Iterable[QueueConfig], menus: MenuSet) -> None:
    """Refuse a queue whose ``open_hours`` names a calendar no IVR menu defines.

    Raises :class:`~acd.QueueConfigError` naming the queue, the calendar and
    the calendars there are (the caller prefixes where the queue was defined).
    """
    known = {name for menu in menus for name in menu.calendars}
    for queue in queues:
        if queue.open_hours is not None and queue.open_hours not in known:
            where = ", ".join(sorted({str(menu.path.parent) for menu in menus})) or "the menu directory"
            listed = ", ".join(sorted(known)) or "none"
            raise QueueConfigError(
                f"queue {queue.name!r}: open_hours: calendar {queue.open_hours!r} is defined in no IVR menu "
                f"of {where} (calendars: {listed})"
            )


def make_is_open(menus: Callable[[], MenuSet], ignore: bool) -> Callable[[QueueConfig, float], bool]:
    """A test of a queue's ``open_hours`` against the IVR calendars (always open with ``ignore``).

    A calendar no menu defines (the menus were reloaded without it since
    :func:`check_open_hours` passed) reads as closed, with an error logged:
    a typo must not open a queue around the clock.
    """

    def is_open(queue: QueueConfig, now: float) -> bool:
        if ignore or queue.open_hours is None:
            return True
        for menu in menus():
            calendar = menu.calendars.get(queue.open_hours)
            if calendar is not None:
                return calendar.is_open(now)
        log.error("acd.unknown_calendar", extra={"queue": queue.name, "calendar": queue.open_hours})
        return False

    return is_open


def register_agents(acd: Acd, agents: Iterable[RoutingAgent]) -> int:
    """Register every agent who takes calls (role agent, or anyone serving a queue)."""
    count = 0
    for agent in agents:
        if agent.role == "agent" or agent.queues:
            acd.register_agent(
                agent.login,
                agent.name,
                agent.device,
                set(agent.queues),
                skills=agent.skills,
                teams=[agent.team] if agent.team else [],
            )
            count += 1
    return count


def _routes_calls(agent: RoutingAgent) -> bool:
    return agent.role == "agent" or bool(agent.queues)


@dataclass(frozen=True)
class RosterChanges:
    """What :func:`apply_roster` did to the running ACD (logins)."""

    registered: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    retiring: list[str] = field(default_factory=list)  # still on a call: logged out and forgotten after it

    def __bool__(self) -> bool:
        return bool(self.registered or self.updated or self.retired or self.retiring)


async def apply_roster(acd: Acd, agents: Iterable[RoutingAgent], managed: set[str]) -> RosterChanges:
    """Make the running ACD route by ``agents`` (every active account, as just read).

    ``managed`` holds the logins registered from the database (updated in
    place): only those are retired when their account is disabled or no longer
    takes calls, so an agent registered some other way is left alone.  A
    changed device, name, team, queue or skill applies at once without touching
    the agent's state; a new agent starts logged out.
    """
    changes = RosterChanges()
    wanted = {agent.login: agent for agent in agents if _routes_calls(agent)}
    current = {record.login: record for record in acd.agents()}
    for login, agent in sorted(wanted.items()):
        teams = [agent.team] if agent.team else []
        record = current.get(login)
        try:
            if record is None:
                acd.register_agent(
                    login, agent.name, agent.device, set(agent.queues), skills=agent.skills, teams=teams
                )
                changes.registered.append(login)
            elif (record.name, record.device, record.queues, dict(record.skills), record.teams) != (
                agent.name,
                agent.device,
                frozenset(agent.queues),
                agent.skills,
                frozenset(teams),
            ):
                await acd.update_agent(
                    login,
                    name=agent.name,
                    device=agent.device,
                    queues=agent.queues,
                    skills=agent.skills,
                    teams=teams,
                )
                changes.updated.append(login)
        except ValueError as exc:
            # A row written around the checks (a proficiency out of range): this agent keeps what it had,
            # the others are applied.
            log.error("acd.roster_agent_refused", extra={"agent": login, "error": str(exc)})
            continue
        managed.add(login)
    for login in sorted(managed - set(wanted)):
        if await acd.retire_agent(login):
            managed.discard(login)
            changes.retired.append(login)
        else:
            changes.retiring.append(login)
    if changes:
        log.info(
            "acd.roster_applied",
            extra={
                "registered": changes.registered,
                "updated": changes.updated,
                "retired": changes.retired,
                "retiring": changes.retiring,
            },
        )
    return changes


def restore_states(acd: Acd, stored: Iterable[StoredAgentState]) -> list[str]:
    """Put agents back in their persisted states (see :meth:`acd.Acd.restore`)."""
    today = datetime.now(UTC).date()
    return acd.restore(
        (
            SavedAgentState(
                login=row.login,
                state=row.state,
                reason=row.reason,
                since=row.since,
                call_id=row.call_id,
                last_available_at=row.last_available_at,
                calls_handled=row.calls_handled,
                handled_on=row.handled_on,
            )
            for row in stored
        ),
        today,
    )


def busy_devices(channels: Iterable[AmiMessage]) -> dict[str, str]:
    """Device → Linkedid of every channel in a ``CoreShowChannels`` answer."""
    busy: dict[str, str] = {}
    for message in channels:
        channel = message.get("Channel") or ""
        linkedid = message.get("Linkedid") or message.get("Uniqueid") or ""
        if channel and linkedid:
            busy.setdefault(device_of(channel), linkedid)
    return busy
