"""One agent's or observer's websocket as the hub sees it: its outbox, sequence numbers and fate.

The :class:`~agent_console.hub.Hub` never waits for a socket: it only
appends to the bounded outbox of each interested :class:`Connection`, whose
writer (:mod:`agent_console.ws`) drains it.  A connection whose outbox is
full is dropped (close code 1013, :data:`CLOSE_OVERLOADED`); the browser
reconnects and gets a fresh ``hello`` plus its unacknowledged screen-pops.
The connection also remembers which of its messages were its own agent's
screen-pops, so that an ``ack`` of a seq names the call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["CLOSE_OVERLOADED", "Connection"]

log = logging.getLogger(__name__)

CLOSE_OVERLOADED = 1013  # "try again later": the client fell behind and must resync


class Connection:
    """One authenticated websocket: its outbox, sequence numbers and fate.

    Messages are serialised once, numbered with a per-connection ``seq``
    starting at 1, and queued as text for the connection's writer.
    """

    def __init__(
        self,
        *,
        login: str,
        session_key: str,
        observer: bool,
        max_queue: int,
        max_tracked_pops: int = 256,
        watch: frozenset[str] | None = None,
        remote_addr: str | None = None,
    ) -> None:
        self.login = login
        self.session_key = session_key
        self.observer = observer
        #: For an observer: the agents whose events it may see (``None``: all events).
        self.watch = watch
        self.remote_addr = remote_addr
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

    def sees(self, agent_login: str | None) -> bool:
        """Whether this observer may receive an event about ``agent_login`` (``None``: no agent)."""
        if self.watch is None:
            return True
        return agent_login is not None and agent_login in self.watch

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
