"""Fan-out of bus events to the agents' websocket connections.

The hub is synchronous on purpose: :meth:`Hub.dispatch` only appends to the
bounded outbox of each interested :class:`Connection` and never waits for a
socket, so one slow browser cannot hold back the others.  A connection whose
outbox is full is dropped (close code 1013, see :mod:`agent_console.connection`);
the browser reconnects and gets a fresh ``hello`` plus its unacknowledged
screen-pops.

Besides routing, the hub remembers which calls were offered to which agent
(the console lets an agent annotate only those), which customers are on the
calls an agent is handling (the CRM lets the agent read those records, see
:meth:`Hub.offered_customers`), and keeps every ``call.offered`` an agent
has not acknowledged yet, to send it again on the agent's next connection.

A ring-all queue offers one call to a group of agents at once: each gets
the pop and may read the customer while the phones ring.  When one of them
answers (``call.connected``), every other one gets a ``call.taken`` message
naming who took it, and loses the pop, the right to annotate the call and
the access to the customer at that moment.

Access rule of every event sent: an agent's connection gets the events
about that agent only; an observer's connection (supervisor, admin) gets
the events about the agents in its ``watch`` set, or every event when
``watch`` is ``None``.  Events about no agent (``call.queued``, a call that
ended before any offer) go to unrestricted observers only.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acd.events import (
    AgentStateChanged,
    BusEvent,
    CallConnected,
    CallEnded,
    CallOffered,
    ConsolePresence,
    OutboundCallChanged,
    PopReceived,
)
from agent_console.connection import Connection

__all__ = ["Hub", "PopDelivered"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PopDelivered:
    """A screen-pop with a customer card reached at least one of its agent's connections."""

    agent_login: str
    call_id: str
    customer_id: int
    remote_addr: str | None  # of the agent's first connection that got it


@dataclass(slots=True)
class _Offer:
    event_json: str
    customer_id: int | None
    ended: bool = False


class Hub:
    """Routes bus events to connections and keeps the screen-pop bookkeeping.

    An agent receives ``call.offered``, ``call.connected``, ``call.ended`` and
    ``agent.state`` events about itself (a ``call.ended`` without an agent goes
    to the agent the call was last offered to); observers receive the events
    their :attr:`Connection.watch` allows.

    ``on_pop`` is called (synchronously, after the pop is queued, so it
    never delays the send) each time a ``call.offered`` that carries a
    customer is queued to an agent's connections — on the offer and on each
    re-send after a reconnection.  It must not block; an exception it
    raises is logged and ignored.

    ``on_ack(login, call_id)`` is called when an agent's connection
    acknowledges one of its pops, ``on_presence(login, connections)`` when
    the number of a login's connections changes; both must not block either
    (see :class:`agent_console.receipts.ReceiptPublisher`).
    """

    def __init__(
        self,
        *,
        max_pending_pops: int = 20,
        max_offers_per_agent: int = 500,
        max_tracked_calls: int = 10_000,
        max_live_offers: int = 20,
        on_pop: Callable[[PopDelivered], None] | None = None,
        on_ack: Callable[[str, str], None] | None = None,
        on_presence: Callable[[str, int], None] | None = None,
    ) -> None:
        self._by_login: dict[str, set[Connection]] = {}
        self._observers: set[Connection] = set()
        self._pending: dict[str, OrderedDict[str, _Offer]] = {}  # login -> call_id -> unacked offer
        self._offered: dict[str, OrderedDict[str, None]] = {}  # login -> call ids offered (note rights)
        self._live: dict[str, OrderedDict[str, _Offer]] = {}  # login -> calls being handled
        # (login, call_id) of the calls each agent answered: they keep the right to wrap them up
        # after a transfer re-offers the call to someone else.
        self._answered: OrderedDict[tuple[str, str], None] = OrderedDict()
        # call_id -> the agents it is offered to now: one, or a ring-all group until one answers
        self._last_offer: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._max_pending_pops = max_pending_pops
        self._max_offers_per_agent = max_offers_per_agent
        self._max_tracked_calls = max_tracked_calls
        self._max_live_offers = max_live_offers
        self._on_pop = on_pop
        self._on_ack = on_ack
        self._on_presence = on_presence
        self._topics: dict[str, Callable[[Connection], None]] = {}  # topic -> its subscribe handler

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self._by_login.values())

    def attach(self, conn: Connection, hello: dict[str, Any]) -> None:
        """Register ``conn``: queue the ``hello`` then the agent's unacked pops.

        Nothing awaits in between, so no event can slip between the hello and
        the registration.
        """
        conn.send("hello", hello)
        for call_id, offer in self._pending.get(conn.login, {}).items():
            seq = conn.send_event("call.offered", offer.event_json, pop_call_id=call_id)
            if seq is not None and offer.customer_id is not None:
                self._notify_pop(conn.login, call_id, offer.customer_id, conn.remote_addr)
        peers = self._by_login.setdefault(conn.login, set())
        peers.add(conn)
        if conn.observer:
            self._observers.add(conn)
        self._presence(conn.login, len(peers))

    def observers(self) -> tuple[Connection, ...]:
        """The observer connections (supervisors, admins) attached now."""
        return tuple(self._observers)

    def add_topic(self, topic: str, on_subscribe: Callable[[Connection], None]) -> None:
        """Let observers ``subscribe`` to ``topic``; ``on_subscribe(conn)`` takes each one on."""
        self._topics[topic] = on_subscribe

    def subscribe(self, conn: Connection, topic: str) -> bool:
        """Hand an attached observer to ``topic``'s handler; False for an unknown topic or a non-observer."""
        handler = self._topics.get(topic)
        if handler is None or conn not in self._observers:
            return False
        handler(conn)
        return True

    def detach(self, conn: Connection) -> None:
        peers = self._by_login.get(conn.login)
        if peers is not None and conn in peers:
            peers.discard(conn)
            if not peers:
                del self._by_login[conn.login]
            self._presence(conn.login, len(peers))
        self._observers.discard(conn)

    def ack(self, conn: Connection, seq: int) -> bool:
        """Acknowledge the screen-pop ``conn`` sent as ``seq``; False if none."""
        call_id = conn.take_pop(seq)
        if call_id is None:
            return False
        pending = self._pending.get(conn.login)
        if pending is not None:
            pending.pop(call_id, None)
            if not pending:
                del self._pending[conn.login]
        if self._on_ack is not None:
            try:
                self._on_ack(conn.login, call_id)
            except Exception:
                log.exception("console.ack_hook_failed", extra={"login": conn.login, "call_id": call_id})
        return True

    def was_offered(self, login: str, call_id: str) -> bool:
        return call_id in self._offered.get(login, ())

    def offered_to(self, call_id: str) -> str | None:
        """The agent ``call_id`` was last offered to (``None``: unknown or forgotten).

        For a ring-all group still ringing, its first agent; once one
        answered, that one.
        """
        logins = self._last_offer.get(call_id)
        return logins[0] if logins else None

    def offered_customers(self, login: str) -> frozenset[int]:
        """Customers on the calls ``login`` is handling: offered, not re-routed, not yet wrapped up.

        A customer stays in the set from the offer until the call has ended
        and the agent has then left wrap-up (any later ``agent.state``
        other than ``wrap_up``), so the record stays readable while the
        agent writes the follow-up.
        """
        live = self._live.get(login)
        if not live:
            return frozenset()
        return frozenset(o.customer_id for o in live.values() if o.customer_id is not None)

    def close_session(self, session_key: str, code: int, reason: str) -> int:
        """Close every connection opened with one session; return how many."""
        closing = [c for peers in self._by_login.values() for c in peers if c.session_key == session_key]
        for conn in closing:
            conn.close(code, reason)
        return len(closing)

    def dispatch(self, event: BusEvent) -> None:
        """Route one bus event; never blocks, never raises for a slow client."""
        if isinstance(event, PopReceived | ConsolePresence):
            return  # the consoles' own receipts, for the call flow: nothing to show anyone
        target = self._target(event)
        recipients = {conn for conn in self._observers if conn.sees(target)}
        if target is not None:
            recipients.update(self._by_login.get(target, ()))
        # A call that ends while a ring-all group still rings ends for every agent of the group.
        ending = self._ringing_group(event, target) if isinstance(event, CallEnded) else ()
        for login in ending:
            recipients.update(self._by_login.get(login, ()))
        event_json = event.model_dump_json() if recipients or isinstance(event, CallOffered) else ""
        if isinstance(event, CallOffered):
            self._remember_offer(event, event_json)
        elif isinstance(event, CallConnected):
            self._taken(event)
        elif isinstance(event, CallEnded):
            for login in {*ending, *([target] if target is not None else [])}:
                self._drop_pending(login, event.call_id)
                live = self._live.get(login)
                if live is not None and event.call_id in live:
                    live[event.call_id].ended = True
        elif isinstance(event, AgentStateChanged) and event.state != "wrap_up":
            self._forget_ended(event.agent_login)
        popped_to: str | None = None
        for conn in recipients:
            pop = event.call_id if isinstance(event, CallOffered) and conn.login == target else None
            seq = conn.send_event(event.type, event_json, pop_call_id=pop)
            if pop is not None and seq is not None and popped_to is None:
                popped_to = conn.remote_addr or ""
        if isinstance(event, CallOffered) and event.customer is not None and popped_to is not None:
            self._notify_pop(event.agent_login, event.call_id, event.customer.id, popped_to or None)

    def _presence(self, login: str, connections: int) -> None:
        if self._on_presence is None:
            return
        try:
            self._on_presence(login, connections)
        except Exception:
            log.exception("console.presence_hook_failed", extra={"login": login})

    def _notify_pop(self, login: str, call_id: str, customer_id: int, remote_addr: str | None) -> None:
        if self._on_pop is None:
            return
        try:
            self._on_pop(PopDelivered(login, call_id, customer_id, remote_addr))
        except Exception:
            log.exception("console.pop_hook_failed", extra={"login": login, "call_id": call_id})

    def _target(self, event: BusEvent) -> str | None:
        if isinstance(event, CallOffered | CallConnected | AgentStateChanged | OutboundCallChanged):
            return event.agent_login
        if isinstance(event, CallEnded):
            return event.agent_login or self.offered_to(event.call_id)
        return None

    def _ringing_group(self, event: CallEnded, target: str | None) -> tuple[str, ...]:
        """The agents besides ``target`` a ring-all call is still offered to when it ends."""
        return tuple(login for login in self._last_offer.get(event.call_id, ()) if login != target)

    def _taken(self, event: CallConnected) -> None:
        """``event.agent_login`` answered: the rest of a ring-all group lose the call and its customer."""
        self._answered[(event.agent_login, event.call_id)] = None
        if len(self._answered) > self._max_tracked_calls:
            self._answered.popitem(last=False)
        offered = self._last_offer.get(event.call_id)
        if offered is None:
            return
        self._last_offer[event.call_id] = (event.agent_login,)
        for login in offered:
            if login == event.agent_login:
                continue
            self._revoke(login, event.call_id)
            taken = json.dumps(
                {
                    "type": "call.taken",
                    "at": event.at,
                    "call_id": event.call_id,
                    "agent_login": login,
                    "taken_by": event.agent_login,
                    "queue": event.queue,
                },
                separators=(",", ":"),
            )
            for conn in self._by_login.get(login, ()):
                conn.send_event("call.taken", taken)
            by = event.agent_login
            log.info("console.call_taken", extra={"call_id": event.call_id, "login": login, "by": by})

    def _revoke(self, login: str, call_id: str) -> None:
        """``login`` no longer handles ``call_id``: no pop to re-send, no notes, no customer access."""
        self._drop_pending(login, call_id)
        live = self._live.get(login)
        if live is not None:
            live.pop(call_id, None)
            if not live:
                del self._live[login]
        offered = self._offered.get(login)
        if offered is not None:
            offered.pop(call_id, None)

    def _remember_offer(self, event: CallOffered, event_json: str) -> None:
        previous = self._last_offer.pop(event.call_id, ())
        together = set(event.group) | {event.agent_login}
        for login in previous:
            if login not in together:
                # Re-routed: the old pop is stale and the old agent no longer handles the customer;
                # one who never answered has no wrap-up to record either.
                if (login, event.call_id) in self._answered:
                    self._drop_pending(login, event.call_id)
                    old_live = self._live.get(login)
                    if old_live is not None:
                        old_live.pop(event.call_id, None)
                        if not old_live:
                            del self._live[login]
                else:
                    self._revoke(login, event.call_id)
        kept = tuple(login for login in previous if login in together and login != event.agent_login)
        self._last_offer[event.call_id] = (*kept, event.agent_login)
        if len(self._last_offer) > self._max_tracked_calls:
            self._last_offer.popitem(last=False)

        offered = self._offered.setdefault(event.agent_login, OrderedDict())
        offered[event.call_id] = None
        offered.move_to_end(event.call_id)
        if len(offered) > self._max_offers_per_agent:
            offered.popitem(last=False)

        offer = _Offer(event_json, event.customer.id if event.customer is not None else None)
        _put_bounded(
            self._pending.setdefault(event.agent_login, OrderedDict()),
            event.call_id,
            offer,
            self._max_pending_pops,
        )
        _put_bounded(
            self._live.setdefault(event.agent_login, OrderedDict()),
            event.call_id,
            _Offer("", offer.customer_id),
            self._max_live_offers,
        )

    def _forget_ended(self, login: str) -> None:
        live = self._live.get(login)
        if live is None:
            return
        for call_id in [c for c, offer in live.items() if offer.ended]:
            del live[call_id]
        if not live:
            del self._live[login]

    def _drop_pending(self, login: str, call_id: str) -> None:
        pending = self._pending.get(login)
        if pending is not None and pending.pop(call_id, None) is not None and not pending:
            del self._pending[login]


def _put_bounded(entries: OrderedDict[str, _Offer], call_id: str, offer: _Offer, limit: int) -> None:
    """Add ``offer`` as the newest entry, dropping the oldest beyond ``limit``."""
    entries.pop(call_id, None)
    entries[call_id] = offer
    if len(entries) > limit:
        entries.popitem(last=False)
