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

A callback keeps every routing fact of the call it replaces — the
customer's tier and segment, the skills asked for, the relationship manager
(:func:`acd.as_callback`) — so a VIP's callback ranks as the VIP's call did.
The request is claimed (``in-progress``) in the database before the customer
is dialled, and every settlement is written durably
(:mod:`bankcti.callbacks.status`): a database fault delays an attempt, never
repeats one.  Every step is a queue event and the result is written to the
follow-up history.  When the service restarts, pending callbacks are queued
again with their routing facts, each at the time it is due — its window's
opening or its next attempt — never earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd import Acd, QueuedCall, as_callback
from acd.events import EventSink
from bankcti.callbacks.dialling import UNRECORDED_RETRY_SECONDS, CallbackDialling
from bankcti.callbacks.requests import CustomerCards, HeldCallback, OriginatePort, routing_of
from bankcti.callbacks.status import CallbackStatusWriter
from bankcti.calls import HistoryWriter
from crm_core.contact_center.callback_places import CallbackPlace, pending_callback_places
from crm_core.selfservice.service import SelfService

__all__ = ["CallbackEngine", "CustomerCards", "OriginatePort"]

log = logging.getLogger(__name__)


class CallbackEngine(CallbackDialling):
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
        status_spool: Path | None = None,
        customers: CustomerCards | None = None,
    ) -> None:
        self._acd = acd
        self._selfservice = selfservice
        self._sessions = sessions
        self._sink = sink
        self._history = history
        self._ami = ami
        self._ivr_queue = ivr_queue
        self._customers = customers
        self._status = CallbackStatusWriter(selfservice, sessions, status_spool)
        self._callbacks: dict[int, HeldCallback] = {}
        self._by_channel: dict[str, HeldCallback] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def status_writes_waiting(self) -> int:
        """Status writes waiting in the spool for the database."""
        return self._status.waiting

    # -- entering the list --------------------------------------------------------------

    async def start(self) -> int:
        """Queue again every pending callback that holds a place (after a restart); returns how many.

        What an earlier run left in the status spool is replayed first, so
        the database says which requests are still pending.  Requests whose
        writes still wait there (the database is away again) are restored
        once the spool is empty.  Each request is queued when it is due, not
        before (:attr:`~crm_core.contact_center.callback_places.CallbackPlace.due_at`).
        """
        await self._status.start()
        return await self._restore()

    async def _restore(self) -> int:
        places = await pending_callback_places(self._sessions)
        held = await self._status.held_back() if self._status.waiting else set()
        restored = 0
        retry = False
        for place in places:
            if place.callback_id in self._callbacks or place.callback_id in held:
                continue
            due = place.due_at
            if place.status == "in-progress":
                # An attempt cut short by the stop: how it ended was never recorded, so it counts
                # as an attempt that failed, tried again after the queue's retry time.
                try:
                    await self._selfservice.mark_callback(place.callback_id, "pending", "interrupted")
                except Exception as exc:
                    extra = {"callback_id": place.callback_id, "error": repr(exc)}
                    log.warning("callbacks.restore_failed", extra=extra)
                    retry = True  # the database is away: restored by the next pass
                    continue
                due = max(due, time.time() + self._retry_seconds(place.queue))
            self._queue_at(self._from_place(place), due)
            restored += 1
        if held or retry:
            self._spawn(self._restore_later(), "callbacks-restore")
        log.info("callbacks.restored", extra={"callbacks": restored, "held_back": len(held)})
        return restored

    async def _restore_later(self) -> None:
        """Restore what the last pass had to leave: once the spool is empty, after a pause."""
        await self._status.emptied()
        await asyncio.sleep(UNRECORDED_RETRY_SECONDS)
        try:
            await self._restore()
        except Exception as exc:
            log.warning("callbacks.restore_failed", extra={"error": repr(exc)})
            self._spawn(self._restore_later(), "callbacks-restore")

    def _from_place(self, place: CallbackPlace) -> HeldCallback:
        callback = HeldCallback.create(
            place.callback_id,
            place.number_e164,
            queue=place.queue,
            customer_id=place.customer_id,
            priority=place.priority,
            queued_at=place.queued_at,
            routing=place.routing,
        )
        callback.attempts = place.attempts
        return callback

    async def keep_place(self, call: QueuedCall, number: str) -> str:
        """A waiting caller asked to be called back: store it and queue it in the caller's place.

        The callback keeps the call's arrival time and every routing fact of
        it (:func:`acd.as_callback`).
        """
        now = datetime.now(UTC)
        ref = await self._selfservice.request_callback(
            call.customer_id,
            number_e164=number,
            window_start=now,
            window_end=now + timedelta(hours=8),
            reason=f"callback keeping the caller's place in queue {call.queue}",
            call_id=call.call_id,
        )
        if call.enqueued_at is None:
            call = replace(call, enqueued_at=time.time())
        request = as_callback(call, callback_id=ref.id, number=number)
        callback = HeldCallback(ref.id, number, request)
        await self._record_place(callback)
        await self._transition(
            callback, "callback_requested", data={"callback_id": ref.id, "kept_place": True}
        )
        self._callbacks[callback.callback_id] = callback
        await self._queue(callback)  # in the ACD, in the caller's place, before the caller hears "kept"
        return ref.reference

    async def _record_place(self, callback: HeldCallback) -> None:
        try:
            await self._status.place(
                callback.callback_id,
                queue=callback.queue,
                priority=callback.request.priority,
                queued_at=callback.queued_at,
                routing=routing_of(callback.request),
            )
        except Exception as exc:
            # Neither the database nor the spool took it: queued in this run all the same.
            log.error(
                "callbacks.place_unrecorded", extra={"callback_id": callback.callback_id, "error": repr(exc)}
            )

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
        """A callback booked in the IVR (:class:`ivr.ports.CallbackHandOff`): queued when its window opens.

        It ranks from its window's opening, with the customer's tier,
        segment and relationship manager from the CRM.
        """
        opens = max(window_start.timestamp(), time.time())
        self._spawn(
            self._book(callback_id, reference, customer_id, number_e164, opens), f"callback-{callback_id}"
        )

    async def _book(
        self, callback_id: int, reference: str, customer_id: int | None, number: str, opens: float
    ) -> None:
        routing: dict[str, Any] = {}
        if customer_id is not None and self._customers is not None:
            try:
                card = await self._customers.card(customer_id)
            except Exception as exc:
                card = None  # the CRM is away: the callback routes as a standard one
                extra = {"callback_id": callback_id, "error": repr(exc)}
                log.warning("callbacks.card_unavailable", extra=extra)
            if card is not None:
                routing = {"tier": card.tier, "segment": card.segment, "owner_login": card.owner_agent}
        callback = HeldCallback.create(
            callback_id,
            number,
            queue=self._ivr_queue,
            customer_id=customer_id,
            priority=0,
            queued_at=opens,
            routing=routing,
        )
        await self._record_place(callback)
        data = {"callback_id": callback_id, "reference": reference, "from": "ivr"}
        await self._transition(callback, "callback_requested", data=data)
        self._queue_at(callback, opens)

    def _queue_at(self, callback: HeldCallback, due: float) -> None:
        """Hold ``callback`` and queue it in the ACD at ``due`` (epoch seconds; at once if past)."""
        self._callbacks[callback.callback_id] = callback
        if callback.retry is not None:
            callback.retry.cancel()
            callback.retry = None
        delay = due - time.time()
        if delay <= 0:
            self._spawn(self._queue(callback), f"callback-queue-{callback.callback_id}")
            return
        extra = {"callback_id": callback.callback_id, "seconds": round(delay, 1)}
        log.info("callbacks.due_later", extra=extra)
        loop = asyncio.get_running_loop()
        callback.retry = loop.call_later(
            delay, lambda: self._spawn(self._queue(callback), f"callback-queue-{callback.callback_id}")
        )

    async def _queue(self, callback: HeldCallback) -> None:
        callback.retry = None
        if self._callbacks.get(callback.callback_id) is not callback:
            return  # withdrawn, or replaced by a newer hold of the same request
        try:
            await self._acd.enqueue(callback.request, on_offer=self._offered)
        except (LookupError, ValueError) as exc:
            log.error(
                "callbacks.queue_failed", extra={"callback_id": callback.callback_id, "error": str(exc)}
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
        await self._status.close()
