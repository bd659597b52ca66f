"""Dialling a callback: agent first, then the customer; what each end of an attempt means.

:class:`CallbackDialling` is a part of :class:`bankcti.callbacks.engine.CallbackEngine`
(kept in its own module for size).  When the ACD reserves an agent for a
held callback, the request is claimed in the database (``in-progress``)
before anything rings — a request that cannot be claimed is not dialled —
then ``Originate`` rings the agent's device and the ``bankcti-dial``
dialplan dials the customer.  The AMI events of that call
(:meth:`CallbackDialling.on_ami_event`) decide the attempt, and how it
ended is recorded durably (:class:`~bankcti.callbacks.status.CallbackStatusWriter`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from acd import Acd, Offer
from acd.events import EventSink, QueueTransition
from bankcti.callbacks.requests import HeldCallback, OriginatePort
from bankcti.callbacks.status import CallbackStatusWriter
from bankcti.calls import HistoryWriter
from crm_core.schemas import InteractionRecord
from cti.ami.message import AmiMessage

__all__ = ["CUSTOMER_RING_LIMIT", "DIAL_CONTEXT", "UNRECORDED_RETRY_SECONDS", "CallbackDialling"]

log = logging.getLogger(__name__)

DIAL_CONTEXT = "bankcti-dial"
#: How long the customer may ring once the agent answered, before the attempt counts as failed.
CUSTOMER_RING_LIMIT = 90.0
#: Seconds before an attempt the database could not record is tried again (at most the queue's retry time).
UNRECORDED_RETRY_SECONDS = 5.0


class CallbackDialling:
    """Attempts of held callbacks."""

    _acd: Acd
    _sink: EventSink
    _history: HistoryWriter
    _ami: Callable[[], OriginatePort | None]
    _status: CallbackStatusWriter
    _callbacks: dict[int, HeldCallback]
    _by_channel: dict[str, HeldCallback]

    if TYPE_CHECKING:  # provided by bankcti.callbacks.engine.CallbackEngine

        def _queue_at(self, callback: HeldCallback, due: float) -> None: ...
        def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None: ...

    def _offered(self, offer: Offer) -> None:
        callback = self._callbacks.get(offer.call.callback_id or -1)
        if callback is None:
            log.error("callbacks.offer_unknown", extra={"call_id": offer.call.call_id})
            return
        self._spawn(self._attempt(callback, offer), f"callback-attempt-{callback.callback_id}")

    async def _attempt(self, callback: HeldCallback, offer: Offer) -> None:
        # Persist before acting: the database says in-progress before the customer's phone can ring.
        if self._status.waiting:
            # Earlier writes still wait for the database: an attempt now could not be recorded.
            await self._postpone(callback, "status writes waiting for the database")
            return
        try:
            claimed = await self._status.claim(callback.callback_id)
        except Exception as exc:
            await self._postpone(callback, f"claim failed: {type(exc).__name__}")
            return
        if not claimed:
            # Cancelled or settled elsewhere meanwhile: the customer is not dialled.
            self._callbacks.pop(callback.callback_id, None)
            await self._acd.cancel(callback.call_id, reason="callback-withdrawn")
            return
        callback.attempts += 1
        callback.agent_login = offer.agent_login
        callback.channel_id = (
            f"cb{callback.callback_id}a{callback.attempts}{int(time.time() * 1000) % 100000}"
        )
        loop = asyncio.get_running_loop()
        callback.outcome = loop.create_future()
        self._by_channel[callback.channel_id] = callback
        data = {"callback_id": callback.callback_id, "attempt": callback.attempts}
        await self._transition(callback, "callback_attempt", agent=offer.agent_login, data=data)
        ami = self._ami()
        outcome = "pbx-unavailable"
        if ami is not None:
            try:
                await ami.action(
                    "Originate",
                    Channel=offer.device,
                    Context=DIAL_CONTEXT,
                    Exten=callback.number,
                    Priority=1,
                    CallerID=f'"Callback" <{callback.number}>',
                    Timeout=self._acd.queue_config(callback.queue).ring_timeout * 1000,
                    Async="true",
                    ChannelId=callback.channel_id,
                    Variable=f"BANKCTI_CALLBACK={callback.callback_id}",
                )
                limit = self._acd.queue_config(callback.queue).ring_timeout + CUSTOMER_RING_LIMIT
                outcome = await asyncio.wait_for(asyncio.shield(callback.outcome), limit)
            except TimeoutError:
                outcome = "no-result"
            except Exception as exc:
                log.warning(
                    "callbacks.originate_failed",
                    extra={"callback_id": callback.callback_id, "error": str(exc)},
                )
        await self._settle(callback, outcome)

    async def _postpone(self, callback: HeldCallback, why: str) -> None:
        """Free the reserved agent and queue the callback again shortly, in its place; no attempt counted."""
        log.warning("callbacks.attempt_postponed", extra={"callback_id": callback.callback_id, "why": why})
        await self._acd.cancel(callback.call_id, reason="callback-retry")
        wait = min(UNRECORDED_RETRY_SECONDS, self._retry_seconds(callback.queue))
        self._queue_at(callback, time.time() + wait)

    def _retry_seconds(self, queue: str) -> float:
        try:
            return self._acd.queue_config(queue).callback_retry_seconds
        except LookupError:
            return UNRECORDED_RETRY_SECONDS

    async def _record(
        self,
        callback: HeldCallback,
        status: str,
        result: str | None,
        *,
        next_attempt_at: float | None = None,
    ) -> None:
        """Settle the request durably (:meth:`CallbackStatusWriter.settle`); a write nobody took is logged."""
        try:
            await self._status.settle(
                callback.callback_id,
                status,
                result,
                attempts=callback.attempts,
                agent_login=callback.agent_login,
                next_attempt_at=next_attempt_at,
            )
        except Exception as exc:
            log.error(
                "callbacks.status_unrecorded",
                extra={"callback_id": callback.callback_id, "status": status, "error": repr(exc)},
            )

    async def _settle(self, callback: HeldCallback, outcome: str) -> None:
        if outcome == "agent-no-answer":
            # The customer was never dialled: the request is pending again before the next agent's try.
            self._forget_channel(callback)
            await self._record(callback, "pending", outcome)
            await self._acd.offer_failed(callback.call_id, reason="no-answer")
            return
        if outcome == "answered":
            callback.answered_at = time.time()
            await self._acd.call_connected(callback.call_id, callback.agent_login)
            await self._record(callback, "done", "answered")
            data = {"callback_id": callback.callback_id, "attempts": callback.attempts}
            await self._transition(callback, "callback_completed", agent=callback.agent_login, data=data)
            await self._write(callback, "callback_completed")
            return  # the hang-up ends the call (on_ami_event)
        # The customer did not answer (or the PBX could not be reached): free the agent, try later.
        self._forget_channel(callback)
        await self._acd.cancel(callback.call_id, reason="callback-retry")
        retries = self._acd.queue_config(callback.queue).callback_retries
        if callback.attempts >= retries:
            self._callbacks.pop(callback.callback_id, None)
            failed: dict[str, object] = {
                "callback_id": callback.callback_id,
                "attempts": callback.attempts,
                "result": outcome,
            }
            await self._record(callback, "failed", outcome)
            await self._transition(callback, "callback_failed", data=failed)
            await self._write(callback, "callback_failed")
            return
        wait = self._acd.queue_config(callback.queue).callback_retry_seconds
        due = time.time() + wait
        await self._record(callback, "pending", outcome, next_attempt_at=due)
        log.info("callbacks.retry_later", extra={"callback_id": callback.callback_id, "seconds": wait})
        self._queue_at(callback, due)

    def _forget_channel(self, callback: HeldCallback) -> None:
        if callback.channel_id is not None:
            self._by_channel.pop(callback.channel_id, None)

    def on_ami_event(self, message: AmiMessage) -> None:
        """Feed every AMI event: the ones of a callback's channel decide its attempt."""
        name = message.get("Event")
        if name not in ("OriginateResponse", "DialEnd", "Hangup"):
            return
        key = message.get("Linkedid") or message.get("Uniqueid") or ""
        callback = self._by_channel.get(key)
        if callback is None:
            return
        pending = callback.outcome is not None and not callback.outcome.done()
        if name == "OriginateResponse" and message.get("Response") == "Failure" and pending:
            assert callback.outcome is not None
            callback.outcome.set_result("agent-no-answer")
        elif name == "DialEnd" and pending:
            assert callback.outcome is not None
            status = message.get("DialStatus") or "UNKNOWN"
            callback.outcome.set_result("answered" if status == "ANSWER" else f"customer-{status.lower()}")
        elif name == "Hangup" and message.get("Uniqueid") == callback.channel_id:
            if pending:
                assert callback.outcome is not None
                callback.outcome.set_result("hangup-before-answer")
            elif callback.answered_at is not None:
                self._forget_channel(callback)
                self._callbacks.pop(callback.callback_id, None)
                self._spawn(self._ended(callback), "callback-ended")

    async def _ended(self, callback: HeldCallback) -> None:
        await self._acd.call_ended(callback.call_id, by="customer")
        await self._write(callback, "callback_completed", ended=True)

    async def _write(self, callback: HeldCallback, outcome: str, *, ended: bool = False) -> None:
        now = datetime.now(UTC)
        answered = datetime.fromtimestamp(callback.answered_at, tz=UTC) if callback.answered_at else None
        record = InteractionRecord(
            call_id=callback.channel_id or callback.call_id,
            direction="outbound",
            caller_number=callback.number,
            caller_e164=callback.number,
            customer_id=callback.customer_id,
            agent_login=callback.agent_login,
            queue=callback.queue,
            queued_at=datetime.fromtimestamp(callback.queued_at, tz=UTC),
            answered_at=answered,
            ended_at=now if ended or outcome == "callback_failed" else None,
            outcome=outcome,
        )
        try:
            await self._history.upsert(record)
        except Exception:
            log.exception("callbacks.history_failed", extra={"callback_id": callback.callback_id})

    async def _transition(
        self, callback: HeldCallback, event: str, *, agent: str | None = None, data: Mapping[str, object]
    ) -> None:
        await self._sink.publish(
            QueueTransition(
                call_id=callback.call_id,
                event=event,
                queue=callback.queue,
                agent_login=agent,
                customer_id=callback.customer_id,
                data=dict(data),
            )
        )
