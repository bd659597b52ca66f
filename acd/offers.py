"""Why a ring ended without an answer, and what that means for the agents and the call.

:class:`OfferOutcomes` is a part of :class:`acd.core.Acd` (kept in its own
module for size).  The call flow learns from the PBX why the agents' phones
stopped ringing (Asterisk's ``DIALSTATUS``) and tells the ACD which of these
it was:

* the caller hung up while the phones rang (:meth:`OfferOutcomes.ring_cancelled`):
  each ringing leg is recorded as ``ring_cancelled``, the call as
  ``abandoned``, and the agents are free again *keeping their place* in the
  idle order — a caller's hang-up is nobody's fault and changes nothing
  else;
* the phone rang its whole ring time (:attr:`RingFailure.NO_ANSWER`): the
  agent did not take the call, so the queue's ``auto_pause`` applies (this
  is :meth:`Acd.offer_failed`);
* the device answered busy although the ACD believed it free
  (:attr:`RingFailure.DEVICE_BUSY`): the agent is on a call the ACD did not
  route; they are marked ``on_call`` with the call id
  :func:`device_busy_call` until the device is idle again
  (:meth:`OfferOutcomes.device_idle`, from live device state) or an AMI
  (re)connection finds the device free (:meth:`Acd.reconcile`);
* the device could not be reached (:attr:`RingFailure.DEVICE_UNAVAILABLE`):
  not the agent's doing, but offering them calls would only ring nothing, so
  they are paused with the reason :data:`DEVICE_UNAVAILABLE` — whatever the
  queue's ``auto_pause`` says, and distinct from the ``no-answer`` pause on
  every supervisor view — until the device is reachable
  (:meth:`OfferOutcomes.device_idle`) or the agent asks to be available;
* the callee refused the call (:attr:`RingFailure.DECLINED`): available
  again at the back of the idle order, not paused.

Except for the hang-up, the call goes back to its place and the next agent
is tried, exactly as after a no-answer.  Each ring that fails is a
``ring_failed`` queue event naming the agent, the reason and the PBX status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from acd.model import AgentRecord, AgentState, QueuedCall

if TYPE_CHECKING:
    from acd.config import QueueConfig
    from acd.waits import CallEntry

__all__ = ["DEVICE_BUSY_PREFIX", "DEVICE_UNAVAILABLE", "OfferOutcomes", "RingFailure", "device_busy_call"]

log = logging.getLogger(__name__)

#: Pause reason of an agent whose device could not be reached.
DEVICE_UNAVAILABLE = "device-unavailable"
#: Prefix of the call id an agent is marked on when their device answered busy.
DEVICE_BUSY_PREFIX = "device-busy:"


def device_busy_call(login: str) -> str:
    """The call id an agent whose device is busy with a call the ACD did not route is marked on."""
    return f"{DEVICE_BUSY_PREFIX}{login}"


class RingFailure(StrEnum):
    """Why the phones of an offer stopped ringing with the caller still there."""

    NO_ANSWER = "no-answer"
    DEVICE_BUSY = "device-busy"
    DEVICE_UNAVAILABLE = DEVICE_UNAVAILABLE
    DECLINED = "declined"


class OfferOutcomes:
    """Ends of an offer other than an answer."""

    _agents: dict[str, AgentRecord]
    _calls: dict[str, CallEntry]
    _clock: Callable[[], float]

    if TYPE_CHECKING:  # provided by acd.core.Acd, acd.agents.AgentBook, acd.talk.CallLifecycle, acd.waits

        def queue_config(self, name: str) -> QueueConfig: ...
        async def cancel(self, call_id: str, reason: str = "abandoned") -> None: ...
        async def offer_failed(self, call_id: str, reason: str = "no-answer") -> None: ...
        def status(self, login: str) -> AgentRecord: ...
        async def _flush(self) -> None: ...
        def _join(self, entry: CallEntry, config: QueueConfig, now: float) -> None: ...
        def _offer_agent(self, login: str, now: float) -> None: ...
        def _offer_call(self, call_id: str, now: float) -> None: ...
        def _schedule(self, call_id: str, now: float) -> None: ...
        def _after_call(
            self, login: str, call_id: str, config: QueueConfig | None, *, skip_wrapup: bool = False
        ) -> None: ...
        def _go(self, login: str, target: AgentState, reason: str | None) -> None: ...
        def _change(
            self,
            login: str,
            state: AgentState,
            *,
            reason: str | None = None,
            call_id: str | None = None,
            became_available: bool = False,
            handled: int = 0,
            offer_seq: int | None = None,
        ) -> AgentRecord: ...
        def _emit(
            self,
            call: QueuedCall,
            event: str,
            *,
            agent: str | None = None,
            data: Mapping[str, object] | None = None,
        ) -> None: ...

    def ring_started(self, call_id: str) -> None:
        """The phones of the call's current offer start ringing now (the call flow dials them).

        Ring times (``ring_seconds`` of ``connected``, ``no_answer``,
        ``ring_failed``, ``ring_cancelled``) count from this moment.
        Ignored when the call is not offered to anyone.
        """
        entry = self._calls.get(call_id)
        if entry is None or not entry.group or entry.connected is not None:
            log.warning("acd.ring_started_ignored", extra={"call_id": call_id})
            return
        entry.ringing_at = self._clock()

    async def ring_cancelled(self, call_id: str, *, dial_status: str = "CANCEL") -> None:
        """The caller hung up while the agents' phones rang: the call is abandoned, the agents are free.

        Every ringing leg is recorded (``ring_cancelled``, with its ring time
        and ``dial_status``), then the call leaves as :meth:`Acd.cancel`
        does: ``abandoned``, the agents available again in their old place of
        the idle order.  No agent is paused and no other agent is touched
        (a freed agent may at once be offered another waiting call).  A call
        not ringing anyone is simply cancelled; an unknown one is ignored.
        """
        entry = self._calls.get(call_id)
        if entry is not None and entry.group and entry.connected is None:
            now = self._clock()
            for login, _ in entry.group:
                self._emit(
                    entry.call,
                    "ring_cancelled",
                    agent=login,
                    data={"ring_seconds": entry.ring_seconds(now), "dial_status": dial_status},
                )
        await self.cancel(call_id)

    async def ring_failed(
        self, call_id: str, failure: RingFailure | str, *, dial_status: str | None = None
    ) -> None:
        """The agents' phones stopped ringing, the caller still waits: see the module docstring.

        ``failure`` says why (:class:`RingFailure`); ``dial_status`` is the
        PBX's own word for it, kept in the ``ring_failed`` event.  A
        no-answer is :meth:`Acd.offer_failed`.  Ignored (logged) when the
        call is not ringing anyone.  Raises :class:`ValueError` for an
        unknown ``failure``.
        """
        failure = RingFailure(failure)
        if failure is RingFailure.NO_ANSWER:
            await self.offer_failed(call_id, reason=failure.value)
            return
        entry = self._calls.get(call_id)
        if entry is None or not entry.group or entry.connected is not None:
            log.warning("acd.ring_failed_ignored", extra={"call_id": call_id, "failure": failure.value})
            return
        now = self._clock()
        config = self.queue_config(entry.call.queue)
        group, entry.group = entry.group, ()
        for login, _ in group:
            self._mark_device(login, failure)
            self._emit(
                entry.call,
                "ring_failed",
                agent=login,
                data={
                    "ring_seconds": entry.ring_seconds(now),
                    "reason": failure.value,
                    "dial_status": dial_status,
                },
            )
        self._join(entry, config, now)
        entry.ticket._rearm()
        log.warning(
            "acd.ring_failed",
            extra={"call_id": call_id, "agents": [g[0] for g in group], "failure": failure.value},
        )
        for login, _ in group:
            self._offer_agent(login, now)  # only a declining agent is available to take anything
        self._offer_call(call_id, now)
        self._schedule(call_id, now)
        await self._flush()

    def _mark_device(self, login: str, failure: RingFailure) -> None:
        """Set a ringing agent's state after ``failure`` (not a no-answer)."""
        if failure is RingFailure.DEVICE_BUSY:
            self._change(login, AgentState.ON_CALL, call_id=device_busy_call(login))
        elif failure is RingFailure.DEVICE_UNAVAILABLE:
            self._change(login, AgentState.PAUSED, reason=DEVICE_UNAVAILABLE)
        else:
            self._change(login, AgentState.AVAILABLE, became_available=True)

    # -- the device is back ------------------------------------------------------------------------

    async def device_idle(self, login: str) -> AgentRecord:
        """``login``'s device is idle and reachable again: undo what a busy or unreachable ring set.

        An agent marked on a busy device's call (:func:`device_busy_call`)
        moves on as after any call the ACD did not route, without wrap-up; an
        agent paused as :data:`DEVICE_UNAVAILABLE` becomes available.  Anyone
        else is left as they are.  The live device state calls it when the
        device is free (:meth:`acd.devices.DeviceWatch.device_in_use`).
        """
        record = self.status(login)
        if record.state is AgentState.ON_CALL and record.call_id == device_busy_call(login):
            self._after_call(login, record.call_id, None, skip_wrapup=True)
        elif record.state is AgentState.PAUSED and record.reason == DEVICE_UNAVAILABLE:
            self._go(login, AgentState.AVAILABLE, None)
        else:
            return record
        await self._flush()
        return self._agents[login]
