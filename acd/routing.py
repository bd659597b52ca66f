"""Which waiting call goes to which available agent.

Kept apart from :class:`~acd.core.Acd` so richer policies (skills, queue
weights, sticky agents) can replace :func:`longest_available` without
touching the state machine.  A policy only chooses; the ACD reserves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from acd.model import AgentRecord, AgentState, QueuedCall
from acd.waiting import WaitingQueue

__all__ = ["RoutingPolicy", "longest_available"]

RoutingPolicy = Callable[
    [Mapping[str, WaitingQueue], Mapping[str, QueuedCall], Iterable[AgentRecord]],
    tuple[str, str] | None,
]
"""``(queues, waiting calls by id, agents) -> (call_id, agent login)`` or ``None`` when nothing matches."""


def longest_available(
    queues: Mapping[str, WaitingQueue],
    calls: Mapping[str, QueuedCall],
    agents: Iterable[AgentRecord],
) -> tuple[str, str] | None:
    """Serve the most urgent head call that has an available agent.

    Among the queue heads with at least one available agent serving the
    queue, the call with the highest priority, then the earliest
    ``enqueued_at``, wins; it goes to the agent available the longest
    (earliest ``last_available_at``, then login for a stable order).
    """
    available = [agent for agent in agents if agent.state is AgentState.AVAILABLE]
    if not available:
        return None
    best: tuple[tuple[int, float], str, AgentRecord] | None = None
    for queue in queues.values():
        head = queue.head()
        if head is None:
            continue
        serving = [agent for agent in available if queue.name in agent.queues]
        if not serving:
            continue
        call = calls[head]
        rank = (-call.priority, call.enqueued_at or 0.0)
        if best is None or rank < best[0]:
            agent = min(serving, key=lambda a: (a.last_available_at or 0.0, a.login))
            best = (rank, head, agent)
    return None if best is None else (best[1], best[2].login)
