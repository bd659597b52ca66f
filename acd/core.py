"""The ACD: agent states, waiting calls and the offers that join them.

Every operation changes the state synchronously — so no other coroutine
ever sees a half-done reservation — then publishes its events in order.
The invariants: a call is offered to at most one agent, an agent holds at
most one call, only ``available`` agents receive offers, and after every
operation no waiting call has an available agent serving its queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from acd.events import AgentStateChanged, BusEvent, CallQueued, EventSink
from acd.model import (
    REQUESTABLE,
    AgentRecord,
    AgentState,
    InvalidTransition,
    Offer,
    QueuedCall,
    UnknownAgent,
    UnknownQueue,
)
from acd.routing import RoutingPolicy, longest_available
from acd.ticket import Ticket
from acd.views import AcdSnapshot, build_snapshot
from acd.waiting import WaitingQueue

__all__ = ["Acd"]

log = logging.getLogger(__name__)


@dataclass
class _Call:
    call: QueuedCall
    ticket: Ticket
    agent: str | None = None  # login while ringing or connected
    connected: bool = False


class Acd:
    """Automatic call distribution for one process.

    ``sink`` receives :class:`AgentStateChanged` and :class:`CallQueued`
    events; ``ring_timeout`` (seconds) is how long the call flow lets an
    offered agent ring before :meth:`offer_failed`; ``wrapup_seconds`` is
    the after-call work time (0: available at once); ``clock`` stamps
    records and events; ``policy`` chooses call and agent (see
    :mod:`acd.routing`).
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        ring_timeout: int,
        wrapup_seconds: float,
        clock: Callable[[], float] = time.time,
        policy: RoutingPolicy = longest_available,
    ) -> None:
        if ring_timeout <= 0 or wrapup_seconds < 0:
            raise ValueError("ring_timeout must be > 0 and wrapup_seconds >= 0")
        self._sink = sink
        self.ring_timeout = ring_timeout
        self.wrapup_seconds = wrapup_seconds
        self._clock = clock
        self._policy = policy
        self._queues: dict[str, WaitingQueue] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._calls: dict[str, _Call] = {}
        self._wrapups: dict[str, asyncio.TimerHandle] = {}
        self._outbox: deque[BusEvent] = deque()
        self._publishing = asyncio.Lock()
        self._flushes: set[asyncio.Task[None]] = set()

    # -- configuration -------------------------------------------------------

    def add_queue(self, name: str) -> None:
        """Create queue ``name`` (adding an existing queue does nothing)."""
        self._queues.setdefault(name, WaitingQueue(name))

    def register_agent(self, login: str, name: str, device: str, queues: Iterable[str]) -> AgentRecord:
        """Add a logged-out agent serving ``queues``; ``device`` is what the call flow dials.

        A queue the agent serves is added if it does not exist yet, so agents
        may be registered before or after :meth:`add_queue`.
        """
        if login in self._agents:
            raise ValueError(f"agent {login} is already registered")
        served = frozenset([queues] if isinstance(queues, str) else queues)
        for queue in sorted(served):
            self.add_queue(queue)
        record = AgentRecord(login=login, name=name, device=device, queues=served, since=self._clock())
        self._agents[login] = record
        return record

    # -- agents ---------------------------------------------------------------

    def status(self, login: str) -> AgentRecord:
        """The agent's current record; :class:`UnknownAgent` if not registered."""
        try:
            return self._agents[login]
        except KeyError:
            raise UnknownAgent(f"no agent {login!r}") from None

    async def set_agent_state(
        self, login: str, state: AgentState | str, reason: str | None = None
    ) -> AgentRecord:
        """An agent asks for ``available``, ``paused`` (with ``reason``) or ``logged_out``.

        Going available from wrap-up ends the wrap-up early.  Raises
        :class:`InvalidTransition` for any other target, or while the agent
        is ringing or on a call.  Returns the record after routing (an agent
        who became available may already be ringing).
        """
        record = self.status(login)
        try:
            target = AgentState(state)
        except ValueError:
            raise InvalidTransition(f"agent {login}: {state!r} is not an agent state") from None
        allowed = REQUESTABLE.get(target)
        if allowed is None:
            raise InvalidTransition(
                f"agent {login}: cannot ask for {target}; agents ask for available, paused or logged_out"
            )
        if record.state not in allowed:
            raise InvalidTransition(
                f"agent {login} is {record.state} on call {record.call_id}: "
                f"cannot go {target} before the call ends"
            )
        if record.state is target and (target is not AgentState.PAUSED or record.reason == reason):
            return record
        self._cancel_wrapup(login)
        if target is AgentState.AVAILABLE:
            self._change(login, target, became_available=True)
            self._dispatch()
        else:
            self._change(login, target, reason=reason if target is AgentState.PAUSED else None)
        await self._flush()
        return self._agents[login]

    # -- calls ----------------------------------------------------------------

    async def enqueue(self, call: QueuedCall, *, on_offer: Callable[[Offer], None] | None = None) -> Ticket:
        """Queue ``call``; the returned :class:`Ticket` resolves when an agent is reserved.

        ``on_offer`` is called synchronously each time an agent is reserved
        for the call (again after a no-answer), before this coroutine returns
        if an agent is free at once.

        Raises :class:`UnknownQueue` for a queue never added and
        :class:`ValueError` when the call is already in the ACD.
        """
        if call.queue not in self._queues:
            raise UnknownQueue(f"call {call.call_id}: no queue {call.queue!r}")
        if call.call_id in self._calls:
            raise ValueError(f"call {call.call_id} is already in the ACD")
        if call.enqueued_at is None:
            call = replace(call, enqueued_at=self._clock())
        ticket = Ticket(call, self._position, on_offer)
        self._calls[call.call_id] = _Call(call, ticket)
        self._queues[call.queue].push(call)
        self._outbox.append(
            CallQueued(
                call_id=call.call_id,
                queue=call.queue,
                caller_number=call.caller_number,
                customer_id=call.customer_id,
                priority=call.priority,
                at=call.enqueued_at or self._clock(),
            )
        )
        log.info(
            "acd.enqueued", extra={"call_id": call.call_id, "queue": call.queue, "priority": call.priority}
        )
        self._dispatch()
        await self._flush()
        return ticket

    async def cancel(self, call_id: str) -> None:
        """The caller left: drop the waiting call, or free the agent reserved for it.

        The ticket's pending offer fails with :class:`~acd.ticket.CallWithdrawn`.
        A connected call is ended (:meth:`call_ended`); an unknown call is ignored.
        """
        entry = self._calls.get(call_id)
        if entry is None:
            log.debug("acd.cancel_unknown", extra={"call_id": call_id})
            return
        if entry.connected:
            await self.call_ended(call_id)
            return
        del self._calls[call_id]
        if entry.agent is None:
            self._queues[entry.call.queue].remove(call_id)
        else:
            # Not a new idle period: the agent keeps their place among the longest available.
            self._change(entry.agent, AgentState.AVAILABLE)
        entry.ticket._withdraw("was cancelled")
        log.info("acd.cancelled", extra={"call_id": call_id, "agent": entry.agent})
        self._dispatch()
        await self._flush()

    async def offer_failed(self, call_id: str, reason: str = "no-answer") -> None:
        """The reserved agent did not answer: pause them with ``reason``, requeue the call at the head.

        The ticket gets a new ``offer`` future and the next agent is tried at
        once.  Ignored (logged) when the call is not ringing an agent.
        """
        entry = self._calls.get(call_id)
        if entry is None or entry.agent is None or entry.connected:
            log.warning("acd.offer_failed_ignored", extra={"call_id": call_id})
            return
        login, entry.agent = entry.agent, None
        self._change(login, AgentState.PAUSED, reason=reason)
        self._queues[entry.call.queue].push(entry.call, head=True)
        entry.ticket._rearm()
        log.info("acd.offer_failed", extra={"call_id": call_id, "agent": login, "reason": reason})
        self._dispatch()
        await self._flush()

    async def call_connected(self, call_id: str) -> None:
        """The reserved agent answered: they are ``on_call``.  Ignored when not ringing."""
        entry = self._calls.get(call_id)
        if entry is None or entry.agent is None or entry.connected:
            log.warning("acd.connected_ignored", extra={"call_id": call_id})
            return
        entry.connected = True
        self._change(entry.agent, AgentState.ON_CALL, call_id=call_id, handled=1)
        await self._flush()

    async def call_ended(self, call_id: str) -> None:
        """The call is over: the agent wraps up, then becomes available by itself.

        A call that never connected is treated as :meth:`cancel`; an unknown
        call is ignored.
        """
        entry = self._calls.get(call_id)
        if entry is None:
            log.debug("acd.ended_unknown", extra={"call_id": call_id})
            return
        if not entry.connected or entry.agent is None:
            await self.cancel(call_id)
            return
        del self._calls[call_id]
        login = entry.agent
        if self.wrapup_seconds > 0:
            self._change(login, AgentState.WRAP_UP, call_id=call_id)
            loop = asyncio.get_running_loop()
            self._wrapups[login] = loop.call_later(self.wrapup_seconds, self._wrapup_over, login)
        else:
            self._change(login, AgentState.AVAILABLE, became_available=True)
            self._dispatch()
        await self._flush()

    # -- supervision ------------------------------------------------------------

    def snapshot(self) -> AcdSnapshot:
        """Queues with their waiting calls (in service order) and every agent."""
        waiting = {call_id: entry.call for call_id, entry in self._calls.items() if entry.agent is None}
        return build_snapshot(self._clock(), self._queues.values(), waiting, self._agents.values())

    async def close(self) -> None:
        """Stop wrap-up timers and publish what is still pending."""
        for handle in self._wrapups.values():
            handle.cancel()
        self._wrapups.clear()
        await self._flush()
        if self._flushes:
            await asyncio.gather(*self._flushes)

    # -- internals ----------------------------------------------------------------

    def _position(self, call_id: str) -> int | None:
        entry = self._calls.get(call_id)
        if entry is None or entry.agent is not None:
            return None
        return self._queues[entry.call.queue].position(call_id)

    def _change(
        self,
        login: str,
        state: AgentState,
        *,
        reason: str | None = None,
        call_id: str | None = None,
        became_available: bool = False,
        handled: int = 0,
    ) -> AgentRecord:
        old = self._agents[login]
        now = self._clock()
        record = replace(
            old,
            state=state,
            reason=reason,
            since=now,
            call_id=call_id,
            last_available_at=now if became_available else old.last_available_at,
            calls_handled=old.calls_handled + handled,
        )
        self._agents[login] = record
        self._outbox.append(
            AgentStateChanged(agent_login=login, state=state.value, reason=reason, call_id=call_id, at=now)
        )
        log.info("acd.agent_state", extra={"agent": login, "state": state.value, "reason": reason})
        return record

    def _dispatch(self) -> None:
        """Reserve agents for waiting calls until no pair matches."""
        waiting = {call_id: entry.call for call_id, entry in self._calls.items() if entry.agent is None}
        while (match := self._policy(self._queues, waiting, self._agents.values())) is not None:
            call_id, login = match
            entry = self._calls[call_id]
            self._queues[entry.call.queue].remove(call_id)
            del waiting[call_id]
            entry.agent = login
            record = self._change(login, AgentState.RINGING, call_id=call_id)
            entry.ticket._resolve(Offer(entry.call, login, record.device, offered_at=record.since))
            log.info("acd.offered", extra={"call_id": call_id, "agent": login})

    def _cancel_wrapup(self, login: str) -> None:
        handle = self._wrapups.pop(login, None)
        if handle is not None:
            handle.cancel()

    def _wrapup_over(self, login: str) -> None:
        # Every other way out of wrap-up cancels this timer first (_cancel_wrapup).
        self._wrapups.pop(login, None)
        self._change(login, AgentState.AVAILABLE, became_available=True)
        self._dispatch()
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        # One publisher at a time, draining in append order: events leave in
        # the order the state changed, whichever coroutine caused them.
        async with self._publishing:
            while self._outbox:
                event = self._outbox.popleft()
                try:
                    await self._sink.publish(event)
                except Exception:
                    log.exception("acd.publish_failed", extra={"event": event.type})
