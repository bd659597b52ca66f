"""The inbound call flow: one FastAGI session from first ring to last word.

IVR → queue (music on hold inside the FastAGI session) → the ACD reserves an
agent → screen-pop on the bus → ``EXEC Dial`` to the agent's device → talk →
follow-up history.  The caller waits *in the FastAGI session* rather than
being redirected: the session is the one place that sees the caller hang up at
once (AGI ``HANGUP``), it needs no dialplan beyond one ``AGI()`` line, and a
bankcti restart cannot strand a caller in a dialplan queue it no longer knows.

The interaction row is written as soon as the call arrives and merged at each
step (idempotent by Linkedid), so a crash at any point leaves the history of
the call up to that point — never nothing.  Each stretch of the session is a
leg of the call (:mod:`bankcti.calls.legs`): the IVR, the queue wait, each
agent dialled.  A call an agent transferred back into a queue comes back in
a new session with the same Linkedid: it adds legs, the row keeps its first
arrival.  With the AMI call tracker (:mod:`bankcti.calls.watch`) the call's
end is the PBX's: a session that ends while the call lives on (a transfer,
a redirect) ends nothing; a service that stops under a call records that it
stopped observing it, never an end.

This module drives the session (IVR, queue wait, dialling the agent); what
the call reaches on the way — the pop, each ring, the answer, the end — is
recorded by :class:`bankcti.calls.milestones.CallMilestones`, and the call's
state and ordered history writes live in :mod:`bankcti.calls.live`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from acd import Acd, Offer, QueuedCall
from acd.events import EventSink
from bankcti.calls.dial_outcome import Verdict, judge, settle_ring
from bankcti.calls.legs import CallLegs, LegWriter, utc
from bankcti.calls.live import CallRecords, HistoryWriter, LiveCall
from bankcti.calls.milestones import CallMilestones, CallObserver, answering_agent
from bankcti.calls.pop_gate import PopGate
from bankcti.calls.queue_wait import CallbackDesk, QueueWait
from crm_core.schemas import InteractionRecord
from cti.fastagi import AgiChannel, AgiHangup
from ivr import IvrEngine, IvrResult

__all__ = ["ROUTED_MEMORY", "CallFlowSettings", "CallHistory", "InboundCallFlow"]

#: At most this many calls' IVR results are kept for a transfer back into a queue.  A call's is dropped
#: when a session ends the call; this bound covers calls transferred away that end elsewhere at the PBX.
ROUTED_MEMORY = 5000

log = logging.getLogger(__name__)


class CallHistory(HistoryWriter, LegWriter, Protocol):
    """The call's row, its legs and its end (:class:`bankcti.history.ResilientHistory`)."""


@dataclass(frozen=True)
class CallFlowSettings:
    entry_menu: str = "main"
    hold_poll_ms: int = 250
    moh_class: str = "default"


class InboundCallFlow:
    """FastAGI handler for ``agi://…/inbound``."""

    def __init__(
        self,
        *,
        ivr: IvrEngine,
        acd: Acd,
        writer: CallHistory,
        sink: EventSink,
        settings: CallFlowSettings,
        callbacks: CallbackDesk | None = None,
        legs: CallLegs | None = None,
        watch: CallObserver | None = None,
        pop_gate: PopGate | None = None,
    ) -> None:
        self._ivr = ivr
        self._acd = acd
        self._settings = settings
        self._callbacks = callbacks
        self._legs = legs if legs is not None else CallLegs(writer)
        self._watch = watch  # None: no PBX link, each session ends its call as it sees it
        self._records = CallRecords(writer)
        self._milestones = CallMilestones(
            acd=acd, sink=sink, legs=self._legs, records=self._records, watch=watch, pop_gate=pop_gate
        )
        self._live: dict[str, LiveCall] = {}
        # What the IVR learnt of recent calls, for a call an agent transfers back into a queue:
        # the next agent's pop shows the same customer and IVR path (bounded: oldest dropped).
        self._routed: OrderedDict[str, IvrResult] = OrderedDict()

    @property
    def live_calls(self) -> int:
        return len(self._live)

    @property
    def routes_kept(self) -> int:
        """Calls whose IVR result is kept for a transfer back into a queue: those living on at the PBX."""
        return len(self._routed)

    @property
    def live_call_ids(self) -> frozenset[str]:
        """The calls with a FastAGI session in this process now."""
        return frozenset(self._live)

    async def handle(self, channel: AgiChannel) -> None:
        arrived = time.time()
        call_id = await self._call_id(channel)
        call = LiveCall(call_id=call_id, caller_number=channel.caller_id, arrived_at=arrived)
        self._live[call_id] = call
        if self._watch is not None:
            self._watch.session_started(call_id)
        log.info("call.arrived", extra={"call_id": call_id, "channel": channel.channel_name})
        self._records.later(
            call,
            InteractionRecord(call_id=call_id, caller_number=channel.caller_id, arrived_at=utc(arrived)),
        )
        outcome = "failed"
        stopping = False
        try:
            outcome = await self._run(channel, call)
        except AgiHangup:
            outcome = "abandoned_in_queue" if call.queue else "abandoned_in_ivr"
        except asyncio.CancelledError:
            # The service stops under this call, which goes on at the PBX (a connected call stays
            # in its Dial): nothing of its end is known here.  The next start adopts or closes it.
            stopping = True
            raise
        except Exception:
            # A defect in our own code must still leave the caller's history.
            log.exception("call.flow_error", extra={"call_id": call_id})
            outcome = "failed"
        finally:
            self._live.pop(call_id, None)
            if stopping:
                await self._milestones.stopped(call)
            else:
                await self._milestones.finish(call, outcome)
                if not self._lives_on(call):
                    # Its route (customer card, IVR path) is kept only for a transfer back to a queue.
                    self._routed.pop(call_id, None)

    def _lives_on(self, call: LiveCall) -> bool:
        """Whether ``call`` goes on at the PBX after its session ended (the watch follows it still)."""
        if self._watch is not None:
            return self._watch.following(call.call_id)
        return call.dial_result == 0  # an async goto (a transfer, a redirect): see CallMilestones.finish

    async def _call_id(self, channel: AgiChannel) -> str:
        # Linkedid ties the AGI session to the AMI events of every leg of the call.
        try:
            linkedid = await channel.get_variable("CHANNEL(linkedid)")
        except AgiHangup:
            linkedid = None
        return linkedid or channel.uniqueid

    async def _run(self, channel: AgiChannel, call: LiveCall) -> str:
        await channel.answer()
        transfer_queue = await channel.get_variable("BANKCTI_TRANSFER_QUEUE")
        if transfer_queue:
            # An agent blind-transferred the call back to us (cti.control): no IVR again.
            log.info("call.transferred_in", extra={"call_id": call.call_id, "queue": transfer_queue})
            known = self._routed.get(call.call_id)
            if known is not None:
                transferred = known.model_copy(
                    update={"route_queue": transfer_queue, "route_skills": frozenset()}
                )
            else:
                transferred = IvrResult(outcome="routed", route_queue=transfer_queue)
            return await self._queue_and_connect(channel, call, transferred)
        ivr_leg = self._legs.open(call.call_id, "ivr", at=call.arrived_at)
        result = await self._ivr.run(
            channel, entry=self._settings.entry_menu, on_step=call.path.append, call_id=call.call_id
        )
        self._legs.close(
            call.call_id, ivr_leg, at=time.time(), reason=_IVR_ENDS.get(result.outcome, "ended_in_ivr")
        )
        customer_id = result.customer_id
        self._records.later(
            call,
            InteractionRecord(
                call_id=call.call_id,
                caller_e164=result.caller_e164,
                customer_id=customer_id,
                identify_later=result.caller_lookup_failed,
                ivr_path=list(result.path),
            ),
        )
        if result.outcome == "abandoned":
            return "abandoned_in_ivr"
        if result.outcome != "routed" or not result.route_queue:
            return "ended_in_ivr"
        self._routed[call.call_id] = result
        while len(self._routed) > ROUTED_MEMORY:
            self._routed.popitem(last=False)
        return await self._queue_and_connect(channel, call, result)

    async def _queue_and_connect(self, channel: AgiChannel, call: LiveCall, result: IvrResult) -> str:
        assert result.route_queue is not None
        queued_at = time.time()
        customer = result.customer

        def offered(offer: Offer) -> None:
            # The screen-pop leaves the instant the ACD reserves the agent, while the
            # FastAGI session is still inside a prompt or a WAIT FOR DIGIT slice; the
            # task ends once the agents' consoles received it (or its wait is over).
            call.pop_task = asyncio.create_task(self._milestones.pop(call, result, offer), name="screen-pop")

        ticket = await self._acd.enqueue(
            QueuedCall(
                call_id=call.call_id,
                queue=result.route_queue,
                caller_number=call.caller_number,
                customer_id=result.customer_id,
                priority=result.route_priority,
                enqueued_at=queued_at,
                skills=result.route_skills,
                tier=result.tier,
                authentication=result.authentication,
                segment=customer.segment if customer is not None else None,
                owner_login=customer.owner_agent if customer is not None else None,
            ),
            on_offer=offered,
        )
        call.queue = ticket.call.queue
        self._records.later(
            call, InteractionRecord(call_id=call.call_id, queue=call.queue, queued_at=utc(queued_at))
        )
        call.queue_leg = self._legs.open(call.call_id, "queue", at=queued_at, queue=call.queue)
        stopping = False
        waiter = QueueWait(
            channel,
            self._acd,
            ticket,
            callbacks=self._callbacks,
            number=result.caller_e164,
            moh_class=self._settings.moh_class,
            poll_ms=self._settings.hold_poll_ms,
        )
        try:
            while True:
                waited = await waiter.wait()
                call.queue = ticket.call.queue  # an overflow may have moved it
                if waited.offer is None:
                    return waited.outcome or "no_agent"
                offer = waited.offer
                self._milestones.offered(call, offer)
                if call.pop_task is not None:
                    await call.pop_task  # the agent sees the caller before the phone rings
                ring_timeout = self._acd.queue_config(offer.call.queue).ring_timeout
                # Ring time counts from here (Dial starts the ringing), not from the reservation.
                self._acd.ring_started(call.call_id)
                status, dial_result, answered_seconds, peer = await self._dial(
                    channel, offer.dial_string, ring_timeout
                )
                call.dial_result = dial_result
                outcome = judge(status, result=dial_result, caller_hung_up=channel.hung_up)
                if outcome.verdict is Verdict.ANSWERED:
                    call.agent_login = answering_agent(offer, peer)
                    await self._milestones.mark_connected(call, fallback_talk=answered_seconds)
                    return "answered"
                log.info(
                    "call.ring_ended",
                    extra={
                        "call_id": call.call_id,
                        "status": outcome.status,
                        "verdict": outcome.verdict.value,
                        "failure": outcome.failure.value if outcome.failure else None,
                    },
                )
                self._milestones.ring_ended(call, outcome)
                # A caller gone ends the wait at once: dialling again from a dead channel would
                # fail every agent of the floor in turn (Asterisk answers CANCEL at once).
                if not await settle_ring(self._acd, call.call_id, outcome):
                    return "abandoned_in_queue" if outcome.verdict is Verdict.CALLER_GONE else "failed"
                call.agent_login = None
                call.offer = None
        except asyncio.CancelledError:
            stopping = True
            raise
        finally:
            if call.connected_at is None:
                # A service that stops takes the call out of its own ACD without an "abandoned"
                # event: the caller did not leave, bankcti did (the PBX decides what comes next).
                await self._acd.cancel(call.call_id, reason="interrupted" if stopping else "abandoned")

    async def _dial(
        self, channel: AgiChannel, dial_string: str, ring_timeout: int
    ) -> tuple[str, int, float, str]:
        """``EXEC Dial``: (``DIALSTATUS``, Dial's result, answered seconds, answering peer).

        ``GET VARIABLE`` still works once the caller hung up (trace i3); a
        session that is gone altogether reads as a caller gone (``-1``).

        Options: ``t`` lets the *called* party — the agent — use the transfer
        features of ``features.conf`` (``atxfer => *2``), which is all AMI
        ``Atxfer`` does: it queues ``*2`` and the digits on the agent's channel
        (traces k2–k4: without ``t`` they just reach the customer as tones).
        ``T`` is left out on purpose: it would let the customer start a
        transfer by pressing ``*2`` (k3/k4 show the digits work from either
        side).  ``m(<class>)``: music while the agent rings.
        """
        try:
            options = f"tm({self._settings.moh_class})"
            result = await channel.exec("Dial", dial_string, str(ring_timeout), options)
            status = (await channel.get_variable("DIALSTATUS")) or ""
        except AgiHangup:
            return "", -1, 0.0, ""
        answered = 0.0
        peer = ""
        if status == "ANSWER":
            with contextlib.suppress(ValueError, TypeError):
                answered = float(await channel.get_variable("ANSWEREDTIME") or 0)
            if "&" in dial_string:
                peer = (await channel.get_variable("DIALEDPEERNUMBER")) or ""
        return status, result, answered, peer

    async def connected(self, call_id: str, peer: str | None = None) -> None:
        """The PBX reports the agent answered (from the AMI call tracker).

        ``peer`` is the device (or its channel) that answered.  For a
        ring-all group whose answering device is not known yet, nothing is
        marked here: the return of ``Dial`` names it (``DIALEDPEERNUMBER``).
        """
        call = self._live.get(call_id)
        if call is None:
            return
        await self._milestones.connected(call, peer)


#: How the IVR's result ends its leg.
_IVR_ENDS = {"routed": "routed", "abandoned": "caller_hung_up"}
