"""Time-driven rules of a waiting call: grace time, bullseye steps, overflow, maximum wait.

:class:`WaitRules` is a part of :class:`acd.core.Acd` (kept in its own
module for size).  Each waiting call has at most one timer, set for the next
moment its routing can change; when it fires the call is reviewed: due
overflow rules apply (widen to another queue's agents, or move there), the
maximum wait ends the wait or moves the call, and the call is offered again
with its new reach.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from acd.config import QueueConfig
from acd.model import QueuedCall
from acd.router import Router
from acd.ticket import QueueExit, Ticket

if TYPE_CHECKING:
    from acd.events import BusEvent

__all__ = ["CallEntry", "WaitRules"]

log = logging.getLogger(__name__)


@dataclass
class CallEntry:
    """A call in the ACD: waiting (``group`` empty), ringing ``group``, or ``connected`` to an agent."""

    call: QueuedCall
    ticket: Ticket
    group: tuple[tuple[str, str], ...] = ()
    connected: str | None = None
    connected_at: float | None = None
    offered_at: float = 0.0
    ringing_at: float | None = None  # when the phones of ``group`` started ringing (Dial), if told
    original_position: int = 0
    overflows_done: int = 0
    timer: asyncio.TimerHandle | None = None

    def ring_timeout(self, acd: WaitRules) -> int:
        return acd.queue_config(self.call.queue).ring_timeout

    def ring_seconds(self, now: float) -> float:
        """How long the phones of the current offer have rung at ``now``.

        From the start of the ringing (:meth:`acd.core.Acd.ring_started`, the
        call flow's Dial) — not from the reservation, which may come seconds
        earlier while the caller still hears a prompt.  A dialler that does not
        report the start of the ringing (a callback's Originate, which rings
        the agent at once) has it counted from the reservation.
        """
        start = self.ringing_at if self.ringing_at is not None else self.offered_at
        return round(max(0.0, now - start), 3)


class WaitRules:
    """Timers and the rules they apply."""

    _calls: dict[str, CallEntry]
    _router: Router
    _clock: Callable[[], float]
    _outbox: list[BusEvent]
    _flushes: set[asyncio.Task[None]]

    if TYPE_CHECKING:  # provided by acd.core.Acd

        def queue_config(self, name: str) -> QueueConfig: ...
        def _offer_call(self, call_id: str, now: float) -> None: ...
        async def _flush(self) -> None: ...
        def _join(self, entry: CallEntry, config: QueueConfig, now: float) -> None: ...
        def _emit(
            self,
            call: QueuedCall,
            event: str,
            *,
            agent: str | None = None,
            data: Mapping[str, object] | None = None,
        ) -> None: ...

    def _routed_calls(self) -> set[str]:
        return set(self._calls)

    def _next_review(self, entry: CallEntry, now: float) -> float | None:
        """When this waiting call's routing changes next (epoch seconds), ``None`` for never."""
        call = entry.call
        assert call.enqueued_at is not None
        config = self.queue_config(call.queue)
        waited = now - call.enqueued_at
        moments = []
        if call.kind != "callback":
            moments.append(call.enqueued_at + config.max_wait_seconds)
        step = config.next_step_after(waited)
        if step is not None:
            moments.append(call.enqueued_at + step)
        if entry.overflows_done < len(config.overflow):
            # A rule already due (a call moved in or a callback entering with its old arrival
            # time) applies at once.
            moments.append(call.enqueued_at + config.overflow[entry.overflows_done].after_seconds)
        waiting = self._router.waiting(call.call_id)
        if waiting is not None and waiting.rm_until > now:
            moments.append(waiting.rm_until)
        return min(moments) if moments else None

    def _schedule(self, call_id: str, now: float) -> None:
        entry = self._calls.get(call_id)
        if entry is None or entry.group or entry.connected is not None:
            return
        self._unschedule(entry)
        when = self._next_review(entry, now)
        if when is not None:
            loop = asyncio.get_running_loop()
            entry.timer = loop.call_later(max(0.0, when - now), self._review, call_id)

    def _unschedule(self, entry: CallEntry) -> None:
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None

    def _review(self, call_id: str) -> None:
        entry = self._calls.get(call_id)
        if entry is None or entry.group or entry.connected is not None:
            return
        entry.timer = None
        now = self._clock()
        call = entry.call
        assert call.enqueued_at is not None
        config = self.queue_config(call.queue)
        waited = now - call.enqueued_at
        if call.kind != "callback" and waited >= config.max_wait_seconds:
            self._emit(
                call, "max_wait", data={"wait_seconds": round(waited, 3), "to_queue": config.max_wait_queue}
            )
            if config.max_wait_queue:
                self._move(entry, config.max_wait_queue, now, event=None, data={})
            else:
                self._router.remove_call(call_id)
                self._exit(
                    entry, "max_wait", "callback" if config.no_agents.value == "callback" else "closed"
                )
                self._spawn_flush()
                return
        else:
            rules = config.overflow
            while entry.overflows_done < len(rules) and rules[entry.overflows_done].after_seconds <= waited:
                rule = rules[entry.overflows_done]
                entry.overflows_done += 1
                data = {"to_queue": rule.queue, "after_seconds": rule.after_seconds, "mode": rule.action}
                if rule.action == "widen":
                    if self._router.widen(call_id, rule.queue, now):
                        self._emit(call, "overflowed", data=data)
                else:
                    self._move(entry, rule.queue, now, event="overflowed", data=data)
                    break
            self._offer_call(call_id, now)
        self._schedule(call_id, now)
        self._spawn_flush()

    def _move(
        self, entry: CallEntry, queue: str, now: float, *, event: str | None, data: Mapping[str, object]
    ) -> None:
        """Move a waiting call to ``queue`` keeping its arrival time; overflow rules start over there."""
        if event is not None:
            self._emit(entry.call, event, data=data)
        self._router.remove_call(entry.call.call_id)
        entry.call = replace(entry.call, queue=queue)
        entry.ticket._moved(entry.call)
        entry.overflows_done = 0
        self._join(entry, self.queue_config(queue), now)
        log.info("acd.moved", extra={"call_id": entry.call.call_id, "queue": queue})
        self._offer_call(entry.call.call_id, now)
        self._schedule(entry.call.call_id, now)

    def _exit(self, entry: CallEntry, reason: str, action: str) -> None:
        """End the wait on the ACD's side: the ticket raises :class:`QueueExit`."""
        self._unschedule(entry)
        self._calls.pop(entry.call.call_id, None)
        exit_ = QueueExit(f"call {entry.call.call_id}: {reason}", reason=reason, action=action)
        entry.ticket._withdraw(reason, exit_)
        log.info("acd.queue_exit", extra={"call_id": entry.call.call_id, "reason": reason, "action": action})

    def _spawn_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)
