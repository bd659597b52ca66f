"""The ACD: agent states, waiting calls and the offers that join them.

Every operation changes the state synchronously — so no other coroutine
ever sees a half-done reservation — then publishes its events in order.
The invariants: a call is offered to one agent at a time (a ring-all queue
rings its group together, by definition), an agent holds at most one call,
only ``available`` agents receive offers, and after every operation no
waiting call has an available agent who may take it now (see
:mod:`acd.router` for who may: relationship manager first within the grace
time, then skills with bullseye widening, then the queue's strategy).

Time-driven changes — the grace time running out, a bullseye step, an
overflow rule, the maximum wait — are timers per waiting call
(:mod:`acd.waits`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from fractions import Fraction

from acd.agents import AgentBook
from acd.config import QueueConfig
from acd.devices import DeviceWatch
from acd.estimate import HandlingTimes
from acd.events import BusEvent, CallQueued, EventSink, QueueTransition
from acd.figures import Figures
from acd.model import AgentRecord, AgentState, Offer, QueuedCall, UnknownQueue
from acd.offers import OfferOutcomes
from acd.priority import DEFAULT_WEIGHTS, PriorityWeights
from acd.router import Router, WaitingCall
from acd.talk import CallLifecycle
from acd.ticket import Ticket
from acd.waits import CallEntry, WaitRules
from acd.wrapups import WrapUps, WrapUpWindow

__all__ = ["Acd"]

log = logging.getLogger(__name__)


class Acd(AgentBook, CallLifecycle, WrapUps, OfferOutcomes, DeviceWatch, WaitRules, Figures):
    """Automatic call distribution for one process.

    ``sink`` receives the bus events; ``ring_timeout`` and ``wrapup_seconds``
    are the defaults of queues added by name only (``wrapup_seconds`` also
    of calls of no queue: click-to-dial, transfers to an agent); ``clock`` stamps records
    and events; ``weights`` set customer-value priority and aging;
    ``is_open(queue, now)`` tells whether a queue's open hours allow a new
    call (always open when ``None``); ``default_aht`` is the handling time
    the wait estimate assumes before enough calls were observed.
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        ring_timeout: int = 15,
        wrapup_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        weights: PriorityWeights = DEFAULT_WEIGHTS,
        is_open: Callable[[QueueConfig, float], bool] | None = None,
        default_aht: float = 180.0,
    ) -> None:
        if ring_timeout <= 0 or wrapup_seconds < 0:
            raise ValueError("ring_timeout must be > 0 and wrapup_seconds >= 0")
        self._sink = sink
        self.ring_timeout = ring_timeout
        self.wrapup_seconds = wrapup_seconds
        self._clock = clock
        self._weights = weights
        self._is_open = is_open
        self._agents: dict[str, AgentRecord] = {}
        self._calls: dict[str, CallEntry] = {}
        # Calls an earlier run connected and the PBX still has (see :meth:`adopt_connected`).
        self._adopted: dict[str, tuple[QueuedCall, str, float]] = {}
        # Exact aging rate (points per second): equal priorities must tie, see acd.ordering.
        rate = Fraction(weights.aging_per_minute) / 60
        self._router = Router(rate, Fraction(weights.aging_cap), self._is_logged_in)
        self._wrapups: dict[str, asyncio.TimerHandle] = {}
        self._windows: dict[str, WrapUpWindow] = {}
        self._misses = {}
        self._saved: OrderedDict[str, None] = OrderedDict()
        self._outbox: list[BusEvent] = []
        self._publishing = asyncio.Lock()
        self._flushes: set[asyncio.Task[None]] = set()
        self._offer_seq = 0
        self.handling = HandlingTimes()
        self.default_aht = default_aht
        self._arrivals: dict[str, deque[float]] = {}
        self._started_at = clock()

    # -- configuration -------------------------------------------------------

    def add_queue(self, queue: str | QueueConfig) -> None:
        """Add or replace a queue; a bare name gets the ACD's default ring and wrap-up times."""
        if isinstance(queue, str):
            if queue in self.queue_names():
                return
            queue = QueueConfig(
                name=queue,
                ring_timeout=self.ring_timeout,
                wrapup_seconds=self.wrapup_seconds,
                wrapup_max_seconds=max(QueueConfig.wrapup_max_seconds, self.wrapup_seconds),
            )
        self._router.set_queue(queue)

    def queue_names(self) -> list[str]:
        return self._router.queue_names()

    def queue_config(self, name: str) -> QueueConfig:
        """The queue's settings; :class:`UnknownQueue` if never added."""
        try:
            return self._router.queue(name)
        except KeyError:
            raise UnknownQueue(f"no queue {name!r}") from None

    # -- calls ----------------------------------------------------------------

    async def enqueue(self, call: QueuedCall, *, on_offer: Callable[[Offer], None] | None = None) -> Ticket:
        """Queue ``call``; the returned :class:`Ticket` resolves when an agent is reserved.

        ``on_offer`` is called synchronously each time agents are reserved
        for the call (again after a no-answer), before this coroutine returns
        if an agent is free at once.  When the queue is closed, or nobody who
        could serve it is logged in, the ticket ends at once with a
        :class:`~acd.ticket.QueueExit` saying what to do (a no-agents rule of
        ``overflow`` moves the call instead).  Callbacks are always accepted.

        Raises :class:`UnknownQueue` for a queue never added and
        :class:`ValueError` when the call is already in the ACD.
        """
        config = self.queue_config(call.queue)
        if call.call_id in self._calls:
            raise ValueError(f"call {call.call_id} is already in the ACD")
        now = self._clock()
        if call.enqueued_at is None:
            call = replace(call, enqueued_at=now)
        ticket = Ticket(call, self._position, on_offer)
        entry = CallEntry(call, ticket)
        self._calls[call.call_id] = entry
        refusal = self._refusal(call, config, now)
        if refusal is not None:
            reason, action = refusal
            if action == "overflow" and config.no_agents_queue:
                self._emit(call, "overflowed", data={"to_queue": config.no_agents_queue, "mode": "move"})
                call = replace(call, queue=config.no_agents_queue)
                entry.call = call
                ticket._moved(call)
                config = self.queue_config(call.queue)
            else:
                self._emit(call, "joined", data={"position": 0, "refused": reason})
                self._exit(entry, reason, action)
                await self._flush()
                return ticket
        self._join(entry, config, now)
        if call.kind == "call":
            self._arrived(call.queue, now)
        position = self._router.position(call.call_id, now) or 0
        entry.original_position = position
        self._outbox.append(
            CallQueued(
                call_id=call.call_id,
                queue=call.queue,
                caller_number=call.caller_number,
                customer_id=call.customer_id,
                priority=call.priority,
                at=call.enqueued_at or now,
            )
        )
        self._emit(call, "joined", data={"position": position, "priority": call.priority, "kind": call.kind})
        log.info("acd.enqueued", extra={"call_id": call.call_id, "queue": call.queue, "position": position})
        self._offer_call(call.call_id, now)
        self._schedule(call.call_id, now)
        await self._flush()
        return ticket

    def _refusal(self, call: QueuedCall, config: QueueConfig, now: float) -> tuple[str, str] | None:
        if call.kind == "callback":
            return None
        if self._is_open is not None and not self._is_open(config, now):
            return ("closed", "closed")
        if not self._router.has_serving_agent(config.name, call.skills):
            return ("no_agents", config.no_agents.value)
        return None

    def _join(self, entry: CallEntry, config: QueueConfig, now: float) -> None:
        call = entry.call
        assert call.enqueued_at is not None
        value = config.priority + call.priority + self._weights.value(call.tier, call.segment)
        rm_until = call.enqueued_at + config.rm_grace_seconds if call.owner_login else 0.0
        pools = [self._router.pool_for(call.queue, call.skills)]
        self._router.add_call(WaitingCall(call, float(value), call.enqueued_at, pools, rm_until), now)
        for rule in config.overflow[: entry.overflows_done]:
            if rule.action == "widen":
                self._router.widen(call.call_id, rule.queue, now)

    async def cancel(self, call_id: str, reason: str = "abandoned") -> None:
        """The caller left: drop the waiting call, or free the agents reserved for it.

        ``reason``: ``abandoned`` (the caller left: an ``abandoned`` event),
        ``interrupted`` (bankcti stops: an ``interrupted`` event, never an
        abandon), anything else (no event).
        The ticket's pending offer fails with :class:`~acd.ticket.CallWithdrawn`.
        A connected call is ended (:meth:`call_ended`); an unknown call is ignored.
        """
        entry = self._calls.get(call_id)
        if entry is None:
            log.debug("acd.cancel_unknown", extra={"call_id": call_id})
            return
        if entry.connected is not None:
            await self.call_ended(call_id)
            return
        now = self._clock()
        del self._calls[call_id]
        self._unschedule(entry)
        position = self._router.position(call_id, now)
        self._router.remove_call(call_id)
        freed = [login for login, _ in entry.group]
        for login in freed:
            # Not a new idle period: the agent keeps their place among the longest available.
            self._change(login, AgentState.AVAILABLE)
        waited = now - (entry.call.enqueued_at or now)
        if reason in ("abandoned", "interrupted"):
            # "interrupted": the service stops under a waiting call.  Not an abandon: the caller
            # did not leave; bankcti did, and says so (the PBX decides what comes next).
            self._emit(
                entry.call,
                reason,
                data={
                    "wait_seconds": round(waited, 3),
                    "position": position or 0,
                    "original_position": entry.original_position,
                    "ringing": freed,
                },
            )
        entry.ticket._withdraw("was cancelled")
        log.info("acd.cancelled", extra={"call_id": call_id, "reason": reason, "agents": freed})
        for login in freed:
            self._offer_agent(login, now)
        await self._flush()

    async def offer_failed(self, call_id: str, reason: str = "no-answer") -> None:
        """The reserved agents did not answer: the call goes back to its place, the next agent is tried.

        With the queue's ``auto_pause`` the agents are paused with ``reason``;
        otherwise they are available again (at the back of the idle order).
        The ticket gets a new ``offer`` future.  Ignored (logged) when the
        call is not ringing anyone.
        """
        entry = self._calls.get(call_id)
        if entry is None or not entry.group or entry.connected is not None:
            log.warning("acd.offer_failed_ignored", extra={"call_id": call_id})
            return
        now = self._clock()
        config = self.queue_config(entry.call.queue)
        group, entry.group = entry.group, ()
        for login, _ in group:
            if config.auto_pause and entry.call.kind != "callback":
                self._change(login, AgentState.PAUSED, reason=reason)
            else:
                self._change(login, AgentState.AVAILABLE, became_available=True)
            self._emit(
                entry.call,
                "no_answer",
                agent=login,
                data={"ring_seconds": entry.ring_seconds(now), "reason": reason},
            )
        self._join(entry, config, now)
        entry.ticket._rearm()
        log.info("acd.offer_failed", extra={"call_id": call_id, "agents": [g[0] for g in group]})
        # Agents left available choose first: the call they may take may outrank this one.
        for login, _ in group:
            self._offer_agent(login, now)
        self._offer_call(call_id, now)
        self._schedule(call_id, now)
        await self._flush()

    async def move_call(self, call_id: str, queue: str, *, by: str | None = None) -> None:
        """Move a waiting call to ``queue``; it keeps its arrival time (and so its fair place)."""
        entry = self._calls.get(call_id)
        if entry is None or entry.group or entry.connected is not None:
            raise LookupError(f"call {call_id} is not waiting in a queue")
        self.queue_config(queue)
        if queue == entry.call.queue:
            return
        now = self._clock()
        self._move(entry, queue, now, event="moved", data={"to_queue": queue, "by": by})
        await self._flush()

    # -- supervision ------------------------------------------------------------

    async def close(self) -> None:
        """Stop timers and publish what is still pending."""
        self._stop_wrapups()
        for entry in self._calls.values():
            self._unschedule(entry)
        await self._flush()
        if self._flushes:
            await asyncio.gather(*self._flushes)

    # -- internals ----------------------------------------------------------------

    def _position(self, call_id: str) -> int | None:
        entry = self._calls.get(call_id)
        if entry is None or entry.group:
            return None
        return self._router.position(call_id, self._clock())

    def _emit(
        self,
        call: QueuedCall,
        event: str,
        *,
        agent: str | None = None,
        data: Mapping[str, object] | None = None,
    ) -> None:
        self._outbox.append(
            QueueTransition(
                at=self._clock(),
                call_id=call.call_id,
                event=event,
                queue=call.queue,
                agent_login=agent,
                customer_id=call.customer_id,
                data=dict(data or {}),
            )
        )

    def _offer_call(self, call_id: str, now: float) -> None:
        """Serve ``call_id`` if an agent may take it now.

        The agent found then takes the best call *they* may take — which may
        be another one that became eligible at the same moment and ranks
        higher — and the search repeats until ``call_id`` is served or no
        agent is left for it.
        """
        while call_id in self._calls and not self._calls[call_id].group:
            logins = self._router.agents_for(call_id, now)
            if not logins:
                return
            if len(logins) > 1:
                self._reserve(call_id, logins, now)  # ring-all: the group rings for this call
                return
            best = self._router.call_for(logins[0], now) or call_id
            self._reserve(best, logins, now)

    def _offer_agent(self, login: str, now: float) -> None:
        """Give available ``login`` the waiting call they should take, if any."""
        record = self._agents.get(login)
        if record is None or not record.offerable:
            return
        call_id = self._router.call_for(login, now)
        if call_id is not None:
            self._reserve(call_id, [login], now)

    def _reserve(self, call_id: str, logins: Iterable[str], now: float) -> None:
        entry = self._calls[call_id]
        self._router.remove_call(call_id)
        self._unschedule(entry)
        state = AgentState.RESERVED if entry.call.kind == "callback" else AgentState.RINGING
        group = []
        for login in logins:
            self._offer_seq += 1
            record = self._change(login, state, call_id=call_id, offer_seq=self._offer_seq)
            group.append((login, record.device))
            self._emit(entry.call, "offered", agent=login, data={"ring_timeout": entry.ring_timeout(self)})
        entry.group = tuple(group)
        entry.offered_at = now
        entry.ringing_at = None
        first_login, first_device = group[0]
        offer = Offer(entry.call, first_login, first_device, offered_at=now, group=entry.group)
        entry.ticket._resolve(offer)
        log.info("acd.offered", extra={"call_id": call_id, "agents": [g[0] for g in group]})

    async def _flush(self) -> None:
        # One publisher at a time, draining in append order: events leave in
        # the order the state changed, whichever coroutine caused them.
        async with self._publishing:
            while self._outbox:
                event = self._outbox.pop(0)
                try:
                    await self._sink.publish(event)
                except Exception:
                    log.exception("acd.publish_failed", extra={"event": event.type})
