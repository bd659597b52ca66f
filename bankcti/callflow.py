"""The inbound call flow: one FastAGI session from first ring to last word.

IVR → queue (music on hold inside the FastAGI session) → the ACD reserves an
agent → screen-pop on the bus → ``EXEC Dial`` to the agent's device → talk →
follow-up history.  The caller waits *in the FastAGI session* rather than
being redirected: the session is the one place that sees the caller hang up at
once (AGI ``HANGUP``), it needs no dialplan beyond one ``AGI()`` line, and a
bankcti restart cannot strand a caller in a dialplan queue it no longer knows.

The interaction row is written as soon as the call arrives and merged at each
step (idempotent by Linkedid), so a crash at any point leaves the history of
the call up to that point — never nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from acd import Acd, Offer, QueuedCall
from acd.events import CallConnected, CallEnded, CallOffered, EventSink
from bankcti.dial_outcome import Verdict, judge, settle_ring
from bankcti.queue_wait import CallbackDesk, QueueWait
from crm_core.schemas import InteractionRecord, IvrStep
from cti.fastagi import AgiChannel, AgiHangup
from ivr import IvrEngine, IvrResult

__all__ = ["ROUTED_MEMORY", "CallFlowSettings", "HistoryWriter", "InboundCallFlow"]

#: Calls whose IVR result is kept for a transfer back into a queue.
ROUTED_MEMORY = 5000

log = logging.getLogger(__name__)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class HistoryWriter(Protocol):
    async def upsert(self, record: InteractionRecord) -> object: ...


@dataclass(frozen=True)
class CallFlowSettings:
    entry_menu: str = "main"
    hold_poll_ms: int = 250
    moh_class: str = "default"


@dataclass
class _LiveCall:
    """What the flow knows of a call while its FastAGI session runs."""

    call_id: str
    caller_number: str | None
    arrived_at: float
    path: list[IvrStep] = field(default_factory=list)
    queue: str | None = None
    agent_login: str | None = None
    offer: Offer | None = None  # the offer ringing now (or answered)
    connected_at: float | None = None
    pop_task: asyncio.Task[None] | None = None
    # History writes of the call in flight, chained in order: the caller never waits for the database.
    writes: asyncio.Task[None] | None = None


class InboundCallFlow:
    """FastAGI handler for ``agi://…/inbound``."""

    def __init__(
        self,
        *,
        ivr: IvrEngine,
        acd: Acd,
        writer: HistoryWriter,
        sink: EventSink,
        settings: CallFlowSettings,
        callbacks: CallbackDesk | None = None,
    ) -> None:
        self._ivr = ivr
        self._acd = acd
        self._writer = writer
        self._sink = sink
        self._settings = settings
        self._callbacks = callbacks
        self._live: dict[str, _LiveCall] = {}
        # What the IVR learnt of recent calls, for a call an agent transfers back into a queue:
        # the next agent's pop shows the same customer and IVR path (bounded: oldest dropped).
        self._routed: OrderedDict[str, IvrResult] = OrderedDict()

    @property
    def live_calls(self) -> int:
        return len(self._live)

    async def handle(self, channel: AgiChannel) -> None:
        arrived = time.time()
        call_id = await self._call_id(channel)
        call = _LiveCall(call_id=call_id, caller_number=channel.caller_id, arrived_at=arrived)
        self._live[call_id] = call
        log.info("call.arrived", extra={"call_id": call_id, "channel": channel.channel_name})
        self._write_later(
            call,
            InteractionRecord(call_id=call_id, caller_number=channel.caller_id, arrived_at=_utc(arrived)),
        )
        outcome = "failed"
        try:
            outcome = await self._run(channel, call)
        except AgiHangup:
            outcome = "abandoned_in_queue" if call.queue else "abandoned_in_ivr"
        except asyncio.CancelledError:
            # The service is stopping under this call: say so in its history.
            outcome = "interrupted"
            raise
        except Exception:
            # A defect in our own code must still leave the caller's history.
            log.exception("call.flow_error", extra={"call_id": call_id})
            outcome = "failed"
        finally:
            self._live.pop(call_id, None)
            await self._finish(call, outcome)

    async def _call_id(self, channel: AgiChannel) -> str:
        # Linkedid ties the AGI session to the AMI events of every leg of the call.
        try:
            linkedid = await channel.get_variable("CHANNEL(linkedid)")
        except AgiHangup:
            linkedid = None
        return linkedid or channel.uniqueid

    async def _run(self, channel: AgiChannel, call: _LiveCall) -> str:
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
        result = await self._ivr.run(
            channel, entry=self._settings.entry_menu, on_step=call.path.append, call_id=call.call_id
        )
        customer_id = result.customer_id
        self._write_later(
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

    async def _queue_and_connect(self, channel: AgiChannel, call: _LiveCall, result: IvrResult) -> str:
        assert result.route_queue is not None
        queued_at = time.time()
        customer = result.customer

        def offered(offer: Offer) -> None:
            # The screen-pop leaves the instant the ACD reserves the agent; the
            # FastAGI session notices the offer only when its current
            # WAIT FOR DIGIT slice returns, and must not hold the pop back.
            call.pop_task = asyncio.create_task(self._pop(call, result, offer), name="screen-pop")

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
        self._write_later(
            call, InteractionRecord(call_id=call.call_id, queue=call.queue, queued_at=_utc(queued_at))
        )
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
                if call.pop_task is not None:
                    await call.pop_task  # the agent sees the caller before the phone rings
                ring_timeout = self._acd.queue_config(offer.call.queue).ring_timeout
                status, dial_result, answered_seconds, peer = await self._dial(
                    channel, offer.dial_string, ring_timeout
                )
                outcome = judge(status, result=dial_result, caller_hung_up=channel.hung_up)
                if outcome.verdict is Verdict.ANSWERED:
                    call.agent_login = _answering_agent(offer, peer)
                    await self._mark_connected(call, fallback_talk=answered_seconds)
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
                # A caller gone ends the wait at once: dialling again from a dead channel would
                # fail every agent of the floor in turn (Asterisk answers CANCEL at once).
                if not await settle_ring(self._acd, call.call_id, outcome):
                    return "abandoned_in_queue" if outcome.verdict is Verdict.CALLER_GONE else "failed"
                call.agent_login = None
                call.offer = None
        finally:
            if call.connected_at is None:
                await self._acd.cancel(call.call_id)

    async def _pop(self, call: _LiveCall, result: IvrResult, offer: Offer) -> None:
        """The screen-pop, to every agent whose phone is about to ring (a ring-all group: all of them)."""
        assert call.queue is not None
        call.agent_login = offer.agent_login
        call.offer = offer
        ringing = [login for login, _ in offer.group] or [offer.agent_login]
        group = ringing if len(ringing) > 1 else []
        queue = call.queue

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
        self._write_later(
            call,
            InteractionRecord(
                call_id=call.call_id, agent_login=offer.agent_login, offered_at=_utc(offer.offered_at)
            ),
        )

    async def _dial(
        self, channel: AgiChannel, dial_string: str, ring_timeout: int
    ) -> tuple[str, int, float, str]:
        """``EXEC Dial``: (``DIALSTATUS``, Dial's result, answered seconds, answering peer).

        ``GET VARIABLE`` still works once the caller hung up (trace i3); a
        session that is gone altogether reads as a caller gone (``-1``).
        """
        try:
            music = f"m({self._settings.moh_class})"
            result = await channel.exec("Dial", dial_string, str(ring_timeout), music)
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
        if call is None or call.connected_at is not None or call.agent_login is None:
            return
        offer = call.offer
        if offer is not None and len(offer.group) > 1:
            answering = _group_member(offer, peer or "")
            if answering is None:
                return
            call.agent_login = answering
        await self._mark_connected(call, fallback_talk=None)

    async def _mark_connected(self, call: _LiveCall, *, fallback_talk: float | None) -> None:
        if call.connected_at is not None:
            return
        now = time.time()
        # Without AMI we learn of the answer only when Dial returns: date it back.
        call.connected_at = now - fallback_talk if fallback_talk else now
        assert call.agent_login is not None and call.queue is not None
        await self._acd.call_connected(call.call_id, call.agent_login)
        await self._sink.publish(
            CallConnected(call_id=call.call_id, agent_login=call.agent_login, queue=call.queue)
        )
        self._write_later(call, InteractionRecord(call_id=call.call_id, answered_at=_utc(call.connected_at)))

    async def _finish(self, call: _LiveCall, outcome: str) -> None:
        ended = time.time()
        if call.connected_at is not None:
            with contextlib.suppress(Exception):
                await self._acd.call_ended(call.call_id)
        if call.writes is not None:
            # The final record lands after every earlier one (they merge by call id).
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(call.writes)
        await self._write(
            InteractionRecord(
                call_id=call.call_id,
                agent_login=call.agent_login,
                ended_at=_utc(ended),
                outcome=outcome,
                ivr_path=list(call.path) or None,
            )
        )
        await self._sink.publish(
            CallEnded(call_id=call.call_id, outcome=outcome, agent_login=call.agent_login, queue=call.queue)
        )
        log.info("call.ended", extra={"call_id": call.call_id, "outcome": outcome})

    def _write_later(self, call: _LiveCall, record: InteractionRecord) -> None:
        previous = call.writes

        async def write() -> None:
            if previous is not None:
                await previous
            await self._write(record)

        call.writes = asyncio.create_task(write(), name="history-write")

    async def _write(self, record: InteractionRecord) -> None:
        try:
            await self._writer.upsert(record)
        except Exception:
            # The database may be briefly unavailable; the call goes on and the
            # final write at the end of the call carries everything again.
            log.exception("call.history_write_failed", extra={"call_id": record.call_id})


def _answering_agent(offer: Offer, peer: str) -> str:
    """Which agent of the offer answered: ``DIALEDPEERNUMBER`` names the device for a ring-all group."""
    return _group_member(offer, peer) or offer.agent_login


def _group_member(offer: Offer, peer: str) -> str | None:
    """The agent of the offer whose device is ``peer`` (device, resource or a channel of it)."""
    if not peer:
        return None
    for login, device in offer.group:
        _, _, resource = device.partition("/")
        if peer in (device, resource) or peer.startswith(f"{device}-"):
            return login
    return None
