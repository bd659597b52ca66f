"""The pop gate: an agent's phone rings only once their console has shown the caller.

The call flow publishes the screen-pop (``call.offered``) the moment the ACD
reserves an agent; the console gateway sends it down the agent's websocket,
the browser shows it and acknowledges it, and the gateway publishes
:class:`~acd.events.PopReceived` on the same bus the pop crossed (in-process
or MQTT).  :class:`PopGate` follows those receipts and lets the call flow
wait for them before ``EXEC Dial``:

* every agent of the offer (each agent of a ring-all group) must have
  received the pop;
* the wait is bounded (``acd.pop_ack_wait_ms``, counted from the moment the
  pop was published): past it the call is dialled anyway, and the late pop is
  logged (``call.pop_late``) and counted;
* an agent with no console connected on any gateway
  (:class:`~acd.events.ConsolePresence`) is not waited for at all: nothing
  could show their pop, so waiting would only delay the call.  A gateway that
  never said anything about an agent counts as "no console" — an agent
  logged in through the API alone is dialled at once.

The counters (:class:`PopCounters`) are what ``GET /api/metrics`` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from acd.events import ConsolePresence, EventSource, PopReceived

__all__ = ["PopCounters", "PopGate", "PopReceipt"]

log = logging.getLogger(__name__)


@dataclass
class PopCounters:
    """Since the start of the process: how the pops of the calls dialled fared.

    ``gated``: pops the call flow waited for (one per agent with a console);
    ``received_in_time``: of those, received before the wait was over;
    ``late``: not received within the wait (the phone rang first);
    ``no_console``: pops to an agent with no console connected (not waited for).
    """

    gated: int = 0
    received_in_time: int = 0
    late: int = 0
    no_console: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class PopReceipt:
    """The receipts one offer waits for: ``waiting`` agents, until ``deadline`` (epoch seconds)."""

    call_id: str
    published_at: float
    deadline: float
    waiting: set[str]
    received: dict[str, float] = field(default_factory=dict)  # login -> when the gateway got the ack
    done: asyncio.Event = field(default_factory=asyncio.Event)


class PopGate:
    """Follows pop receipts and console presence on the bus; see the module docstring.

    ``wait_ms`` 0 disables the wait (the phone rings as soon as the call flow
    dials, the pop possibly after it).
    """

    def __init__(self, events: EventSource, *, wait_ms: int, clock: Callable[[], float] = time.time) -> None:
        if wait_ms < 0:
            raise ValueError("wait_ms must not be negative")
        self._events = events
        self.wait_seconds = wait_ms / 1000
        self._clock = clock
        self.counters = PopCounters()
        # login -> {gateway: connections}: has_console is asked for every pop, so it must not scan
        # every agent's entry (a scan cost ~0.1 ms per pop with 1 000 agents logged in).
        self._consoles: dict[str, dict[str, int]] = {}
        self._pending: dict[str, PopReceipt] = {}  # call id -> receipt of its current offer
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Subscribe to the bus; returns once receipts published from now on are seen."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pop-gate")
            await self._ready.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for receipt in self._pending.values():
            receipt.done.set()
        self._pending.clear()

    def has_console(self, login: str) -> bool:
        """Whether some gateway reports a console connection of ``login``."""
        return any(count > 0 for count in self._consoles.get(login, {}).values())

    def expect(self, call_id: str, logins: Iterable[str]) -> PopReceipt:
        """Start waiting for the receipts of the pop about to be published to ``logins``.

        Called *before* the pop is published, so that no receipt can come
        first.  Agents with no console are counted and not waited for.
        """
        now = self._clock()
        waiting: set[str] = set()
        for login in dict.fromkeys(logins):
            if self.wait_seconds > 0 and self.has_console(login):
                waiting.add(login)
            elif self.wait_seconds > 0:
                self.counters.no_console += 1
        receipt = PopReceipt(call_id, now, now + self.wait_seconds, waiting)
        if waiting:
            self.counters.gated += len(waiting)
            self._pending[call_id] = receipt
        else:
            receipt.done.set()
        return receipt

    async def settle(self, receipt: PopReceipt) -> list[str]:
        """Wait until every agent of ``receipt`` received the pop, or its deadline; return the late agents."""
        if not receipt.done.is_set():
            remaining = receipt.deadline - self._clock()
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await receipt.done.wait()
        if self._pending.get(receipt.call_id) is receipt:
            del self._pending[receipt.call_id]
        late = sorted(receipt.waiting)
        receipt.waiting.clear()
        receipt.done.set()
        if late:
            self.counters.late += len(late)
            log.warning(
                "call.pop_late",
                extra={
                    "call_id": receipt.call_id,
                    "agents": late,
                    "waited_ms": round((self._clock() - receipt.published_at) * 1000, 1),
                    "bound_ms": round(self.wait_seconds * 1000),
                },
            )
        return late

    async def _run(self) -> None:
        stream = self._events.subscribe()
        self._ready.set()
        try:
            async for event in stream:
                if isinstance(event, PopReceived):
                    self._received(event)
                elif isinstance(event, ConsolePresence):
                    self._presence(event)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def _received(self, event: PopReceived) -> None:
        receipt = self._pending.get(event.call_id)
        if receipt is None or event.agent_login not in receipt.waiting:
            return  # a pop re-sent after a reconnection, or one no call waits for any more
        receipt.waiting.discard(event.agent_login)
        receipt.received[event.agent_login] = event.at
        self.counters.received_in_time += 1
        if not receipt.waiting:
            del self._pending[event.call_id]
            receipt.done.set()

    def _presence(self, event: ConsolePresence) -> None:
        gateways = self._consoles.setdefault(event.agent_login, {})
        if event.connections:
            gateways[event.gateway] = event.connections
        else:
            gateways.pop(event.gateway, None)
            if not gateways:
                del self._consoles[event.agent_login]
