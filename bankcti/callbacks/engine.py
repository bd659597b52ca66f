"""Callbacks that keep their place: stored in the CRM, queued in the ACD, dialled agent first.

A caller who presses the callback key while waiting (or accepts the
callback offer when the wait ends) leaves the queue; the request is stored
(``callback_requests``, with the customer's follow-up history) and queued
again as a *callback* with the caller's original arrival time, so it comes
up exactly where the caller would have been.  Callbacks booked in the IVR
enter the same list, at the time their window opens.

At its turn the ACD reserves an agent (state ``reserved``); the engine then
originates the call over AMI, **agent first**: ``Originate`` rings the
agent's device, and once the agent answers the dialplan (``bankcti-dial``,
see ``config/asterisk/extensions.conf``) dials the customer.  The AMI
events of that call decide the attempt:

* ``OriginateResponse`` with ``Response: Failure`` — the agent did not
  answer: the callback goes back to its place, the next agent is tried;
* ``DialEnd`` ``ANSWER`` — the customer answered: connected;
* ``DialEnd`` with another status, or a hang-up before it — the customer did
  not answer: the agent is freed and the callback tries again after
  ``callback_retry_seconds`` (keeping its place) up to ``callback_retries``
  times, then fails.

Every step is a queue event and the result is written to the follow-up
history.  Pending callbacks are queued again when the service restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd import Acd, Offer, QueuedCall
from acd.events import EventSink, QueueTransition
from bankcti.callflow import HistoryWriter
from crm_core.contact_center.acd_store import (
    CallbackPlace,
    pending_callback_places,
    record_callback_attempt,
    set_callback_place,
)
from crm_core.schemas import InteractionRecord
from crm_core.selfservice.service import SelfService
from cti.ami.message import AmiMessage

__all__ = ["CallbackEngine", "OriginatePort"]

log = logging.getLogger(__name__)

DIAL_CONTEXT = "bankcti-dial"
#: How long the customer may ring once the agent answered, before the attempt counts as failed.
CUSTOMER_RING_LIMIT = 90.0


class OriginatePort(Protocol):
    """The AMI client as far as callbacks need it."""

    async def action(self, action: str, **fields: str | int) -> AmiMessage: ...


@dataclass
class _Callback:
    callback_id: int
    customer_id: int | None
    number: str
    queue: str
    priority: int
    queued_at: float
    attempts: int = 0
    outcome: asyncio.Future[str] | None = None
    channel_id: str | None = None
    agent_login: str | None = None
    answered_at: float | None = None
    retry: asyncio.TimerHandle | None = None

    @property
    def call_id(self) -> str:
        return f"callback-{self.callback_id}"


class CallbackEngine:
    """See the module docstring.  ``ami()`` returns the connected AMI client, or ``None``."""

    def __init__(
        self,
        acd: Acd,
        selfservice: SelfService,
        sessions: async_sessionmaker[AsyncSession],
        sink: EventSink,
        history: HistoryWriter,
        ami: Callable[[], OriginatePort | None],
        *,
        ivr_queue: str = "general",
    ) -> None:
        self._acd = acd
        self._selfservice = selfservice
        self._sessions = sessions
        self._sink = sink
        self._history = history
        self._ami = ami
        self._ivr_queue = ivr_queue
        self._callbacks: dict[int, _Callback] = {}
        self._by_channel: dict[str, _Callback] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- entering the list --------------------------------------------------------------

    async def start(self) -> int:
        """Queue again every pending callback that holds a place (after a restart)."""
        places = await pending_callback_places(self._sessions)
        for place in places:
            await self._queue(self._from_place(place))
        log.info("callbacks.restored", extra={"callbacks": len(places)})
        return len(places)

    def _from_place(self, place: CallbackPlace) -> _Callback:
        return _Callback(
            callback_id=place.callback_id,
            customer_id=place.customer_id,
            number=place.number_e164,
            queue=place.queue,
            priority=place.priority,
            queued_at=place.queued_at,
            attempts=place.attempts,
        )

    async def keep_place(self, call: QueuedCall, number: str) -> str:
        """A waiting caller asked to be called back: store it and queue it in the caller's place."""
        now = datetime.now(UTC)
        ref = await self._selfservice.request_callback(
            call.customer_id,
            number_e164=number,
            window_start=now,
            window_end=now + timedelta(hours=8),
            reason=f"callback keeping the caller's place in queue {call.queue}",
            call_id=call.call_id,
        )
        queued_at = call.enqueued_at or time.time()
        await set_callback_place(
            self._sessions,
            ref.id,
            queue=call.queue,
            priority=call.priority,
            queued_at=queued_at,
        )
        callback = _Callback(ref.id, call.customer_id, number, call.queue, call.priority, queued_at)
        await self._transition(
            callback, "callback_requested", data={"callback_id": ref.id, "kept_place": True}
        )
        await self._queue(callback)
        return ref.reference

    def hand_off(
        self,
        *,
        callback_id: int,
        reference: str,
        customer_id: int | None,
        number_e164: str,
        window_start: datetime,
        window_end: datetime,
        reason: str,
        call_id: str | None,
    ) -> None:
        """A callback booked in the IVR (:class:`ivr.ports.CallbackHandOff`): queued when its window opens."""
        opens = max(window_start.timestamp(), time.time())
        callback = _Callback(callback_id, customer_id, number_e164, self._ivr_queue, 0, opens)
        self._spawn(self._book(callback, reference), f"callback-{callback_id}")

    async def _book(self, callback: _Callback, reference: str) -> None:
        await set_callback_place(
            self._sessions,
            callback.callback_id,
            queue=callback.queue,
            priority=callback.priority,
            queued_at=callback.queued_at,
        )
        data = {"callback_id": callback.callback_id, "reference": reference, "from": "ivr"}
        await self._transition(callback, "callback_requested", data=data)
        delay = callback.queued_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await self._queue(callback)

    async def _queue(self, callback: _Callback) -> None:
        if callback.callback_id in self._callbacks and callback is not self._callbacks[callback.callback_id]:
            return
        self._callbacks[callback.callback_id] = callback
        try:
            await self._acd.enqueue(
                QueuedCall(
                    call_id=callback.call_id,
                    queue=callback.queue,
                    customer_id=callback.customer_id,
                    priority=callback.priority,
                    enqueued_at=callback.queued_at,
                    kind="callback",
                    callback_id=callback.callback_id,
                    callback_number=callback.number,
                ),
                on_offer=self._offered,
            )
        except (LookupError, ValueError) as exc:
            log.error(
                "callbacks.queue_failed", extra={"callback_id": callback.callback_id, "error": str(exc)}
            )

    # -- dialling -----------------------------------------------------------------------------

    def _offered(self, offer: Offer) -> None:
        callback = self._callbacks.get(offer.call.callback_id or -1)
        if callback is None:
            log.error("callbacks.offer_unknown", extra={"call_id": offer.call.call_id})
            return
        self._spawn(self._attempt(callback, offer), f"callback-attempt-{callback.callback_id}")

    async def _attempt(self, callback: _Callback, offer: Offer) -> None:
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
        with contextlib.suppress(Exception):
            await self._selfservice.mark_callback(callback.callback_id, "in-progress")
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

    async def _settle(self, callback: _Callback, outcome: str) -> None:
        if outcome == "agent-no-answer":
            self._forget_channel(callback)
            await self._acd.offer_failed(callback.call_id, reason="no-answer")
            return
        if outcome == "answered":
            callback.answered_at = time.time()
            await self._acd.call_connected(callback.call_id, callback.agent_login)
            data = {"callback_id": callback.callback_id, "attempts": callback.attempts}
            await self._transition(callback, "callback_completed", agent=callback.agent_login, data=data)
            await self._write(callback, "callback_completed")
            with contextlib.suppress(Exception):
                await self._selfservice.mark_callback(callback.callback_id, "done", "answered")
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
            await self._transition(callback, "callback_failed", data=failed)
            await self._write(callback, "callback_failed")
            with contextlib.suppress(Exception):
                await self._selfservice.mark_callback(callback.callback_id, "failed", outcome)
            return
        wait = self._acd.queue_config(callback.queue).callback_retry_seconds
        await record_callback_attempt(
            self._sessions,
            callback.callback_id,
            attempts=callback.attempts,
            agent_login=callback.agent_login,
            next_attempt_at=time.time() + wait,
        )
        with contextlib.suppress(Exception):
            await self._selfservice.mark_callback(callback.callback_id, "pending", outcome)
        log.info("callbacks.retry_later", extra={"callback_id": callback.callback_id, "seconds": wait})
        loop = asyncio.get_running_loop()
        callback.retry = loop.call_later(wait, lambda: self._spawn(self._queue(callback), "callback-retry"))

    def _forget_channel(self, callback: _Callback) -> None:
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

    async def _ended(self, callback: _Callback) -> None:
        await self._acd.call_ended(callback.call_id, by="customer")
        await self._write(callback, "callback_completed", ended=True)

    async def _write(self, callback: _Callback, outcome: str, *, ended: bool = False) -> None:
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
        self, callback: _Callback, event: str, *, agent: str | None = None, data: Mapping[str, object]
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

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for callback in self._callbacks.values():
            if callback.retry is not None:
                callback.retry.cancel()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
