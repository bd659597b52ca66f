"""Fan-out of bus events to the agents' websocket connections.

The hub is synchronous on purpose: :meth:`Hub.dispatch` only appends to the
bounded outbox of each interested :class:`Connection` and never waits for a
socket, so one slow browser cannot hold back the others.  A connection whose
outbox is full is dropped (close code 1013); the browser reconnects and gets
a fresh ``hello`` plus its unacknowledged screen-pops.

Besides routing, the hub remembers which calls were offered to which agent
(the console lets an agent annotate only those) and keeps every
``call.offered`` an agent has not acknowledged yet, to send it again on the
agent's next connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from acd.events import AgentStateChanged, BusEvent, CallConnected, CallEnded, CallOffered

__all__ = ["CLOSE_OVERLOADED", "Connection", "Hub"]

log = logging.getLogger(__name__)

CLOSE_OVERLOADED = 1013  # "try again later": the client fell behind and must resync


class Connection:
    """One authenticated websocket: its outbox, sequence numbers and fate.

    Messages are serialised once, numbered with a per-connection ``seq``
    starting at 1, and queued as text for the connection's writer.
    """

    def __init__(
        self, *, login: str, session_key: str, observer: bool, max_queue: int, max_tracked_pops: int = 256
    ) -> None:
        self.login = login
        self.session_key = session_key
        self.observer = observer
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=max_queue)
        self.closed = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self._seq = 0
        self._pop_seqs: OrderedDict[int, str] = OrderedDict()  # seq -> call_id of own pops
        self._max_tracked_pops = max_tracked_pops

    def send(self, message_type: str, fields: dict[str, Any] | None = None) -> int | None:
        """Queue ``{"type", "seq", **fields}``; return its seq (``None`` if dropped)."""
        extra = fields or {}
        return self._queue(
            lambda seq: json.dumps({"type": message_type, "seq": seq, **extra}, separators=(",", ":"))
        )

    def send_event(self, message_type: str, event_json: str, pop_call_id: str | None = None) -> int | None:
        """Queue a bus event already serialised as JSON under ``"event"``.

        ``pop_call_id`` marks a screen-pop for this connection's own agent, so
        that an ``ack`` of the returned seq can be matched to the call.
        """
        prefix = '{"type":' + json.dumps(message_type) + ',"seq":'
        seq = self._queue(lambda seq: prefix + str(seq) + ',"event":' + event_json + "}")
        if seq is not None and pop_call_id is not None:
            self._pop_seqs[seq] = pop_call_id
            if len(self._pop_seqs) > self._max_tracked_pops:
                self._pop_seqs.popitem(last=False)
        return seq

    def take_pop(self, seq: int) -> str | None:
        """The call id of the screen-pop sent as ``seq``, forgotten once taken."""
        return self._pop_seqs.pop(seq, None)

    def close(self, code: int, reason: str) -> None:
        """Ask the connection's handler to close the socket with ``code``."""
        if self.closed.is_set():
            return
        self.close_code = code
        self.close_reason = reason
        self.closed.set()

    def _queue(self, render: Callable[[int], str]) -> int | None:
        if self.closed.is_set():
            return None
        seq = self._seq + 1
        try:
            self.outbox.put_nowait(render(seq))
        except asyncio.QueueFull:
            log.warning(
                "console.client_overloaded", extra={"login": self.login, "queued": self.outbox.qsize()}
            )
            self.close(CLOSE_OVERLOADED, "client too slow; reconnect to resync")
            return None
        self._seq = seq
        return seq


class Hub:
    """Routes bus events to connections and keeps the screen-pop bookkeeping.

    An agent receives ``call.offered``, ``call.connected``, ``call.ended`` and
    ``agent.state`` events about itself (a ``call.ended`` without an agent goes
    to the agent the call was last offered to); observers (supervisors)
    receive every event.
    """

    def __init__(
        self, *, max_pending_pops: int = 20, max_offers_per_agent: int = 500, max_tracked_calls: int = 10_000
    ) -> None:
        self._by_login: dict[str, set[Connection]] = {}
        self._observers: set[Connection] = set()
        self._pending: dict[str, OrderedDict[str, str]] = {}  # login -> call_id -> offered event JSON
        self._offered: dict[str, OrderedDict[str, None]] = {}  # login -> call ids offered (note rights)
        self._last_offer: OrderedDict[str, str] = OrderedDict()  # call_id -> login
        self._max_pending_pops = max_pending_pops
        self._max_offers_per_agent = max_offers_per_agent
        self._max_tracked_calls = max_tracked_calls

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self._by_login.values())

    def attach(self, conn: Connection, hello: dict[str, Any]) -> None:
        """Register ``conn``: queue the ``hello`` then the agent's unacked pops.

        Nothing awaits in between, so no event can slip between the hello and
        the registration.
        """
        conn.send("hello", hello)
        for call_id, event_json in self._pending.get(conn.login, {}).items():
            conn.send_event("call.offered", event_json, pop_call_id=call_id)
        self._by_login.setdefault(conn.login, set()).add(conn)
        if conn.observer:
            self._observers.add(conn)

    def detach(self, conn: Connection) -> None:
        peers = self._by_login.get(conn.login)
        if peers is not None:
            peers.discard(conn)
            if not peers:
                del self._by_login[conn.login]
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
        return True

    def was_offered(self, login: str, call_id: str) -> bool:
        return call_id in self._offered.get(login, ())

    def close_session(self, session_key: str, code: int, reason: str) -> int:
        """Close every connection opened with one session; return how many."""
        closing = [c for peers in self._by_login.values() for c in peers if c.session_key == session_key]
        for conn in closing:
            conn.close(code, reason)
        return len(closing)

    def dispatch(self, event: BusEvent) -> None:
        """Route one bus event; never blocks, never raises for a slow client."""
        target = self._target(event)
        recipients = set(self._observers)
        if target is not None:
            recipients.update(self._by_login.get(target, ()))
        event_json = event.model_dump_json() if recipients or isinstance(event, CallOffered) else ""
        if isinstance(event, CallOffered):
            self._remember_offer(event, event_json)
        elif isinstance(event, CallEnded) and target is not None:
            self._drop_pending(target, event.call_id)
        for conn in recipients:
            pop = event.call_id if isinstance(event, CallOffered) and conn.login == target else None
            conn.send_event(event.type, event_json, pop_call_id=pop)

    def _target(self, event: BusEvent) -> str | None:
        if isinstance(event, CallOffered | CallConnected | AgentStateChanged):
            return event.agent_login
        if isinstance(event, CallEnded):
            return event.agent_login or self._last_offer.get(event.call_id)
        return None

    def _remember_offer(self, event: CallOffered, event_json: str) -> None:
        previous = self._last_offer.pop(event.call_id, None)
        if previous is not None and previous != event.agent_login:
            self._drop_pending(previous, event.call_id)  # re-routed: the old pop is stale
        self._last_offer[event.call_id] = event.agent_login
        if len(self._last_offer) > self._max_tracked_calls:
            self._last_offer.popitem(last=False)

        offered = self._offered.setdefault(event.agent_login, OrderedDict())
        offered[event.call_id] = None
        offered.move_to_end(event.call_id)
        if len(offered) > self._max_offers_per_agent:
            offered.popitem(last=False)

        pending = self._pending.setdefault(event.agent_login, OrderedDict())
        pending.pop(event.call_id, None)
        pending[event.call_id] = event_json
        if len(pending) > self._max_pending_pops:
            pending.popitem(last=False)

    def _drop_pending(self, login: str, call_id: str) -> None:
        pending = self._pending.get(login)
        if pending is not None and pending.pop(call_id, None) is not None and not pending:
            del self._pending[login]
