"""The console's :class:`~agent_console.ports.CallControl` over AMI call control and the ACD.

The console speaks of logins and call ids; :class:`cti.control.CallControl`
of devices and channels.  This adapter maps one onto the other (an agent's
device from the ACD, a supervisor's — who may not be an ACD agent — from
the agent directory), keeps the ACD in step (``on_hold`` while a call is
parked, wrap-up for the agent who completed an attended transfer) and
records click-to-dial calls as outbound interactions: a row when the call
is placed, its answer and its end as the call tracker sees them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol

from acd import Acd
from acd.events import EventSink, OutboundCallChanged
from acd.model import AgentState
from agent_console.schemas import AgentStatus
from bankcti.adapters import AcdAgentControl
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.views import mask_phone
from crm_core.schemas import InteractionRecord
from cti.control import CallControl, ControlRefused, TransferKind, TransferTarget
from cti.tracker import Call, CallState, CallTracker

__all__ = ["ConsoleCallControl"]

log = logging.getLogger(__name__)

_KINDS = {"queue": TransferKind.QUEUE, "agent": TransferKind.AGENT, "number": TransferKind.NUMBER}


class HistoryWriter(Protocol):
    async def upsert(self, record: InteractionRecord) -> object: ...


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class ConsoleCallControl:
    """:class:`agent_console.ports.CallControl` for one bankcti process."""

    def __init__(
        self,
        control: CallControl,
        acd: Acd,
        agents: AgentDirectory,
        history: HistoryWriter,
        tracker: CallTracker,
        events: EventSink | None = None,
    ) -> None:
        self._control = control
        self._events = events
        self._acd = acd
        self._agents = agents
        self._history = history
        self._outbound: dict[str, str] = {}  # call id → agent login, until the call ends
        self._customers: dict[str, int] = {}  # call id → the customer dialled, until the call ends
        self._tasks: set[asyncio.Task[None]] = set()
        tracker.on_change(self._on_call_change)

    # -- devices -------------------------------------------------------------------------------
    async def _device(self, login: str) -> str:
        try:
            return self._acd.status(login).device
        except LookupError:
            pass
        profile = await self._agents.get(login)
        if profile is None or not profile.device:
            raise LookupError(f"{login} has no phone device")
        return profile.device

    async def _held(self, call_id: str, held: bool) -> None:
        try:
            await self._acd.call_held(call_id, held)
        except LookupError:
            # A click-to-dial call is not routed by the ACD: nothing to follow.
            log.debug("calls.hold_not_routed", extra={"call_id": call_id})

    # -- the agent's own call ----------------------------------------------------------------------
    async def hold(self, login: str, call_id: str) -> None:
        await self._control.hold(call_id, await self._device(login))
        await self._held(call_id, True)

    async def resume(self, login: str, call_id: str) -> None:
        await self._control.resume(call_id, await self._device(login))
        await self._held(call_id, False)

    async def hangup(self, login: str, call_id: str) -> None:
        await self._control.hangup(call_id, await self._device(login))

    async def transfer(self, login: str, call_id: str, *, kind: str, target_type: str, target: str) -> None:
        device = await self._device(login)
        destination = self._target(login, target_type, target)
        if kind == "blind":
            await self._control.blind_transfer(call_id, device, destination)
            agent = target if target_type == "agent" else None
            await self._acd.call_transferred(call_id, to=target, kind="blind", target_agent=agent)
        elif kind == "attended":
            await self._control.attended_transfer(call_id, device, destination)
        else:
            raise ValueError(f"unknown transfer kind {kind!r}; use blind or attended")

    def _target(self, login: str, target_type: str, target: str) -> TransferTarget:
        kind = _KINDS.get(target_type)
        if kind is None:
            raise ValueError(f"unknown target type {target_type!r}; use queue, agent or number")
        if kind is TransferKind.QUEUE:
            if target not in self._acd.queue_names():
                raise ValueError(f"there is no queue {target!r}")
            return TransferTarget(kind, target)
        if kind is TransferKind.AGENT:
            try:
                record = self._acd.status(target)
            except LookupError:
                raise ValueError(f"there is no agent {target!r}") from None
            if record.login == login:
                raise ValueError("you cannot transfer a call to yourself")
            if record.state is not AgentState.AVAILABLE:
                raise ValueError(f"{target} is {record.state.value.replace('_', ' ')}, not available")
            return TransferTarget(kind, record.device)
        number = "".join(ch for ch in target if ch.isdigit() or ch == "+")
        try:
            return TransferTarget(kind, number)
        except ControlRefused as exc:
            raise ValueError(str(exc)) from None

    async def complete_transfer(self, login: str, call_id: str) -> None:
        await self._control.complete_transfer(call_id, await self._device(login))
        # The customer talks on with the target; this agent's part is over.
        await self._acd.call_transferred(call_id, to="attended", kind="attended")

    async def cancel_transfer(self, login: str, call_id: str) -> None:
        await self._control.cancel_transfer(call_id, await self._device(login))

    # -- click-to-dial -------------------------------------------------------------------------------
    def dialled_by(self, call_id: str) -> str | None:
        return self._outbound.get(call_id)

    async def dial(self, login: str, customer_id: int, number: str) -> str:
        device = await self._device(login)
        placed = time.time()
        call_id = await self._control.dial(
            device,
            number,
            variables={"BANKCTI_AGENT": login, "BANKCTI_CUSTOMER_ID": str(customer_id)},
        )
        self._outbound[call_id] = login
        self._customers[call_id] = customer_id
        await self._tell(OutboundCallChanged(call_id=call_id, agent_login=login, state="dialing",
                                             customer_id=customer_id, number=mask_phone(number)))  # fmt: skip
        try:
            # The agent is busy on this call: the ACD must not offer them another meanwhile.
            await self._acd.external_call(login, call_id)
        except ValueError as exc:
            log.info("calls.dial_while_busy", extra={"login": login, "call_id": call_id, "why": str(exc)})
        await self._write(
            InteractionRecord(
                call_id=call_id,
                direction="outbound",
                caller_number=number,
                caller_e164=number,
                customer_id=customer_id,
                agent_login=login,
                arrived_at=_utc(placed),
            )
        )
        return call_id

    def _on_call_change(self, call: Call, previous: CallState | None) -> None:
        login = self._outbound.get(call.linkedid)
        if login is None:
            return
        if call.state is CallState.CONNECTED and previous is not CallState.CONNECTED:
            answered = _utc(call.connected_at or time.time())
            record = InteractionRecord(call_id=call.linkedid, direction="outbound", answered_at=answered)
            self._spawn(self._write(record))
            changed = OutboundCallChanged(
                call_id=call.linkedid,
                agent_login=login,
                state="connected",
                customer_id=self._customers.get(call.linkedid),
            )
            self._spawn(self._tell(changed))
        elif call.state is CallState.ENDED:
            del self._outbound[call.linkedid]
            customer_id = self._customers.pop(call.linkedid, None)
            outcome = "answered" if call.connected_at is not None else "unanswered"
            ended = _utc(call.ended_at or time.time())
            # "direction" has a default: every partial write must repeat it.
            record = InteractionRecord(
                call_id=call.linkedid, direction="outbound", ended_at=ended, outcome=outcome
            )
            self._spawn(self._write(record))
            finished = OutboundCallChanged(call_id=call.linkedid, agent_login=login, state="ended",
                                        customer_id=customer_id, outcome=outcome)  # fmt: skip
            self._spawn(self._tell(finished))

    async def _tell(self, event: OutboundCallChanged) -> None:
        """Show the agent's console the call's state (a lost event costs a screen update, not data)."""
        if self._events is None:
            return
        try:
            await self._events.publish(event)
        except Exception:
            log.exception("calls.outbound_event_failed", extra={"call_id": event.call_id})

    async def _write(self, record: InteractionRecord) -> None:
        try:
            await self._history.upsert(record)
        except Exception:
            log.exception("calls.history_write_failed", extra={"call_id": record.call_id})

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name="outbound-history")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- supervision -----------------------------------------------------------------------------------
    async def spy(self, supervisor: str, agent: str, mode: str) -> None:
        agent_device = self._acd.status(agent).device
        await self._control.spy(await self._device(supervisor), agent_device, mode)

    async def force_state(self, login: str, state: str, reason: str | None, *, by: str) -> AgentStatus:
        await self._acd.force_state(login, state, reason, by=by)
        return AcdAgentControl(self._acd).status(login)

    async def move_call(self, call_id: str, queue: str, *, by: str) -> None:
        if queue not in self._acd.queue_names():
            raise ValueError(f"there is no queue {queue!r}")
        await self._acd.move_call(call_id, queue, by=by)

    async def close(self) -> None:
        """Let the last outbound history writes finish."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
