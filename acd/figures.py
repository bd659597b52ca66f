"""Live figures of the ACD: arrival rates, handling times, wait estimates, the supervisor snapshot.

:class:`Figures` is a part of :class:`acd.core.Acd` (kept in its own module
for size).  Arrival rates are counted over a sliding window; handling times
(talk + wrap-up) are observed per queue as calls end; both feed
:func:`acd.estimate.estimate_wait`, which picks the better estimate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from acd.estimate import HandlingTimes, WaitEstimate, estimate_wait
from acd.model import AgentRecord, AgentState, QueuedCall
from acd.router import Router
from acd.views import AcdSnapshot, build_snapshot

if TYPE_CHECKING:
    from acd.waits import CallEntry

__all__ = ["ARRIVAL_WINDOW_SECONDS", "Figures"]

#: Arrivals counted for the live arrival rate (half an hour, as staffing intervals).
ARRIVAL_WINDOW_SECONDS = 1800.0


class Figures:
    """Arrival rates, handling times and what supervisors and waiting callers are told."""

    _agents: dict[str, AgentRecord]
    _calls: dict[str, CallEntry]
    _router: Router
    _clock: Callable[[], float]
    handling: HandlingTimes
    default_aht: float
    _arrivals: dict[str, deque[float]]
    _started_at: float

    if TYPE_CHECKING:  # provided by acd.core.Acd

        def queue_names(self) -> list[str]: ...

    def _arrived(self, queue: str, at: float) -> None:
        arrivals = self._arrivals.setdefault(queue, deque())
        arrivals.append(at)
        self._trim(arrivals, at)

    def _trim(self, arrivals: deque[float], now: float) -> None:
        while arrivals and arrivals[0] < now - ARRIVAL_WINDOW_SECONDS:
            arrivals.popleft()

    def arrival_rate(self, queue: str) -> float:
        """Calls per second that entered ``queue`` over the last window (or since start-up)."""
        now = self._clock()
        arrivals = self._arrivals.get(queue)
        if not arrivals:
            return 0.0
        self._trim(arrivals, now)
        span = min(ARRIVAL_WINDOW_SECONDS, max(now - self._started_at, 1.0))
        return len(arrivals) / span

    def wait_estimate(self, call_id: str) -> tuple[int, WaitEstimate] | None:
        """Position (1 = next) and expected remaining wait of a waiting call; ``None`` once offered."""
        now = self._clock()
        waiting = self._router.waiting(call_id)
        if waiting is None:
            return None
        position = self._router.position(call_id, now) or 1
        queue = waiting.call.queue
        members = [self._agents[login] for login in self._router.pool_members(queue) if login in self._agents]
        serving = [a for a in members if a.state not in (AgentState.LOGGED_OUT, AgentState.PAUSED)]
        available = [a for a in serving if a.state is AgentState.AVAILABLE]
        estimate = estimate_wait(
            position=position,
            agents_serving=len(serving),
            agents_available=len(available),
            arrivals_per_second=self.arrival_rate(queue),
            handling=self.handling,
            queue=queue,
            default_aht=self.default_aht,
        )
        return position, estimate

    def snapshot(self) -> AcdSnapshot:
        """Queues with their waiting calls (in service order) and every agent."""
        now = self._clock()
        orders = {name: self._router.queue_order(name, now) for name in self.queue_names()}
        calls = {call_id: entry.call for call_id, entry in self._calls.items() if not entry.group}
        return build_snapshot(now, orders, calls, self._agents.values())

    def waiting_calls(self, queue: str) -> list[QueuedCall]:
        """Calls waiting in ``queue`` in service order."""
        now = self._clock()
        return [self._calls[call_id].call for call_id in self._router.queue_order(queue, now)]
