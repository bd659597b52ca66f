"""The milestones of an inbound call, told to the ACD, the consoles, the legs and the history.

The FastAGI session (:class:`bankcti.calls.callflow.InboundCallFlow`)
decides what happens to the caller; :class:`CallMilestones` records what
did: the screen-pop to the agents about to ring, each ring that starts or
ends unanswered, the answer, and the session's end — the call's end, or,
when the service stops under it, only that bankcti stopped observing it.

With the AMI call tracker (:mod:`bankcti.calls.watch`) the call's end is
the PBX's: a session that ends while the call lives on (a transfer, a
redirect) ends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from acd import Acd, Offer, RingFailure
from acd.events import CallConnected, CallEnded, CallOffered, EventSink
from bankcti.calls.dial_outcome import DialOutcome, Verdict
from bankcti.calls.legs import CallLegs, utc
from bankcti.calls.live import CallRecords, LiveCall
from bankcti.calls.pop_gate import PopGate
from crm_core.schemas import CallEndRecord, InteractionRecord
from ivr import IvrResult

__all__ = ["CallMilestones", "CallObserver", "answering_agent", "group_member"]

log = logging.getLogger(__name__)

#: How a session's outcome ends a queue wait still open (one that ended without an offer).
_QUEUE_ENDS = {
    "no_agent": "no_agent",
    "closed": "closed",
    "callback_requested": "callback_requested",
    "abandoned_in_queue": "caller_hung_up",
    "failed": "failed",
}


class CallObserver(Protocol):
    """Who follows the call at the PBX (:class:`bankcti.calls.watch.CallWatch`)."""

    def following(self, call_id: str) -> bool: ...
    def session_started(self, call_id: str) -> None: ...
    def transferred(self, call_id: str) -> bool: ...
    def session_ended(self, call_id: str, outcome: str, at: float, *, lives_on: bool) -> bool: ...
    def session_stopped(self, call_id: str) -> None: ...


class CallMilestones:
    """Records each milestone of a live call where it belongs."""

    def __init__(
        self,
        *,
        acd: Acd,
        sink: EventSink,
        legs: CallLegs,
        records: CallRecords,
        watch: CallObserver | None,
        pop_gate: PopGate | None,
    ) -> None:
        self._acd = acd
        self._sink = sink
        self._legs = legs
        self._records = records
        self._watch = watch  # None: no PBX link, each session ends its call as it sees it
        self._pop_gate = pop_gate  # None: the phone rings without waiting for the console

    async def pop(self, call: LiveCall, result: IvrResult, offer: Offer) -> None:
        """The screen-pop, to every agent whose phone is about to ring (a ring-all group: all of them).

        Returns once every one of them received it, or the pop gate's bounded
        wait is over (see :mod:`bankcti.calls.pop_gate`): the call is dialled after.
        """
        assert call.queue is not None
        call.agent_login = offer.agent_login
        call.offer = offer
        ringing = [login for login, _ in offer.group] or [offer.agent_login]
        group = ringing if len(ringing) > 1 else []
        queue = call.queue
        # Registered before the pop leaves: a console's receipt cannot come first.
        receipt = self._pop_gate.expect(call.call_id, ringing) if self._pop_gate is not None else None

        async def pop(login: str) -> None:
            try:
                await self._sink.publish(
                    CallOffered(
                        at=offer.offered_at,
                        call_id=call.call_id,
                        agent_login=login,
                        group=group,
                        queue=queue,
                        caller_number=call.caller_number,
                        customer=result.customer,
                        ivr_path=list(result.path),
                        authentication=result.authentication,
                    )
                )
            except Exception:
                # The call still rings the agent; the console resyncs on reconnect.
                log.exception("call.pop_failed", extra={"call_id": call.call_id, "agent": login})

        await asyncio.gather(*(pop(login) for login in ringing))
        self._records.later(
            call,
            InteractionRecord(
                call_id=call.call_id, agent_login=offer.agent_login, offered_at=utc(offer.offered_at)
            ),
        )
        if receipt is not None:
            assert self._pop_gate is not None
            await self._pop_gate.settle(receipt)

    def offered(self, call: LiveCall, offer: Offer) -> None:
        """The agent's phone is about to ring: a new agent leg; the queue leg names the queue now."""
        self._legs.agent_offered(
            call.call_id,
            at=offer.offered_at,
            agent_login=offer.agent_login,
            device=offer.dial_string,
            queue=offer.call.queue,
            queue_leg=call.queue_leg,
        )

    def ring_ended(self, call: LiveCall, outcome: DialOutcome) -> None:
        """The agent's phone stopped ringing unanswered: their leg ends; the caller waits on, or left."""
        if outcome.verdict is Verdict.CALLER_GONE:
            reason = "caller_hung_up"
        elif outcome.verdict is Verdict.PBX_FAULT:
            reason = "failed"
        else:
            reason = "no_answer" if outcome.failure is RingFailure.NO_ANSWER else "ring_failed"
        self._legs.ring_ended(call.call_id, at=time.time(), reason=reason, queue_leg=call.queue_leg)

    async def connected(self, call: LiveCall, peer: str | None) -> None:
        """The PBX reports the agent answered: see :meth:`InboundCallFlow.connected`."""
        if call.connected_at is not None or call.agent_login is None:
            return
        offer = call.offer
        if offer is not None and len(offer.group) > 1:
            answering = group_member(offer, peer or "")
            if answering is None:
                return
            call.agent_login = answering
        await self.mark_connected(call, fallback_talk=None)

    async def mark_connected(self, call: LiveCall, *, fallback_talk: float | None) -> None:
        """The agent answered: the queue leg ends, the agent leg is answered, the ACD and consoles know."""
        if call.connected_at is not None:
            return
        now = time.time()
        # Without AMI we learn of the answer only when Dial returns: date it back.
        call.connected_at = now - fallback_talk if fallback_talk else now
        assert call.agent_login is not None and call.queue is not None
        self._legs.close(
            call.call_id, call.queue_leg, at=call.connected_at, reason="answered", queue=call.queue
        )
        agent_leg = self._legs.agent_leg(call.call_id)
        if agent_leg is not None:
            self._legs.update(
                call.call_id, agent_leg, answered_at=call.connected_at, agent_login=call.agent_login
            )
        await self._acd.call_connected(call.call_id, call.agent_login)
        await self._sink.publish(
            CallConnected(call_id=call.call_id, agent_login=call.agent_login, queue=call.queue)
        )
        self._records.later(call, InteractionRecord(call_id=call.call_id, answered_at=utc(call.connected_at)))

    async def stopped(self, call: LiveCall) -> None:
        """The service stops under the call: a fact about bankcti (it stopped observing), not about the call.

        No end, no outcome, no ACD event: the agent stays on the call (their
        state is saved as it is) and the next start adopts the call if the
        PBX still has it, or closes it as ended unobserved.
        """
        if self._watch is not None:
            self._watch.session_stopped(call.call_id)
        if call.writes is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(call.writes)
        await self._records.now(
            InteractionRecord(
                call_id=call.call_id,
                agent_login=call.agent_login,
                ivr_path=list(call.path) or None,
                last_seen_at=utc(time.time()),
            )
        )
        log.info("call.observation_stopped", extra={"call_id": call.call_id})

    async def finish(self, call: LiveCall, outcome: str) -> None:
        """The session ended with ``outcome``: the call's end, unless the call lives on at the PBX."""
        ended = time.time()
        if call.connected_at is not None:
            with contextlib.suppress(Exception):
                await self._acd.call_ended(call.call_id)
        if call.writes is not None:
            # The final record lands after every earlier one (they merge by call id).
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(call.writes)
        reason = _QUEUE_ENDS.get(outcome)
        if reason is not None:
            self._legs.close(call.call_id, call.queue_leg, at=ended, reason=reason)
        await self._records.now(
            InteractionRecord(
                call_id=call.call_id, agent_login=call.agent_login, ivr_path=list(call.path) or None
            )
        )
        # An answered call lives on after this session when the agent transferred it, or when its Dial
        # returned 0 (an async goto: a transfer, a redirect, a park's timeout; real Asterisk, trace k1):
        # then its end is the PBX's.  Otherwise the session's end is the call's (the caller left, or
        # the dialplan hangs the caller up as soon as the session closes).
        lives_on = outcome == "answered" and (
            call.dial_result == 0 or (self._watch is not None and self._watch.transferred(call.call_id))
        )
        if self._watch is None or not self._watch.session_ended(
            call.call_id, outcome, ended, lives_on=lives_on
        ):
            self._legs.end(
                CallEndRecord(
                    call_id=call.call_id, outcome=outcome, ended_at=utc(ended), agent_login=call.agent_login
                )
            )
        # Whoever reads the history on CallEnded finds the end there.
        await self._legs.settled(call.call_id)
        await self._sink.publish(
            CallEnded(call_id=call.call_id, outcome=outcome, agent_login=call.agent_login, queue=call.queue)
        )
        log.info("call.ended", extra={"call_id": call.call_id, "outcome": outcome})


def answering_agent(offer: Offer, peer: str) -> str:
    """Which agent of the offer answered: ``DIALEDPEERNUMBER`` names the device for a ring-all group."""
    return group_member(offer, peer) or offer.agent_login


def group_member(offer: Offer, peer: str) -> str | None:
    """The agent of the offer whose device is ``peer`` (device, resource or a channel of it)."""
    if not peer:
        return None
    for login, device in offer.group:
        _, _, resource = device.partition("/")
        if peer in (device, resource) or peer.startswith(f"{device}-"):
            return login
    return None
