"""Agents, waiting calls and offers: the values the ACD hands out.

All of them are frozen: :class:`~acd.core.Acd` replaces a record when the
agent changes, so a record a caller holds is a consistent snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "REQUESTABLE",
    "AgentRecord",
    "AgentState",
    "InvalidTransition",
    "Offer",
    "QueuedCall",
    "UnknownAgent",
    "UnknownQueue",
]


class AgentState(StrEnum):
    """Where an agent is in the call cycle.

    ``ringing`` means reserved: one call is offered to the agent's device and
    no other call may be offered until the offer is answered, failed or
    withdrawn.
    """

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


#: States an agent may ask for, by the states they may ask from.  Asking for
#: the current state again is accepted as a no-op (a paused agent may change
#: the pause reason).  ringing and on_call end through the call, not a request.
REQUESTABLE: dict[AgentState, frozenset[AgentState]] = {
    AgentState.AVAILABLE: frozenset(
        {AgentState.LOGGED_OUT, AgentState.PAUSED, AgentState.WRAP_UP, AgentState.AVAILABLE}
    ),
    AgentState.PAUSED: frozenset(
        {AgentState.LOGGED_OUT, AgentState.AVAILABLE, AgentState.WRAP_UP, AgentState.PAUSED}
    ),
    AgentState.LOGGED_OUT: frozenset(
        {AgentState.AVAILABLE, AgentState.PAUSED, AgentState.WRAP_UP, AgentState.LOGGED_OUT}
    ),
}


class InvalidTransition(ValueError):
    """An agent state change that the ACD refuses; the message says why."""


class UnknownAgent(LookupError):
    """No agent is registered under that login."""


class UnknownQueue(LookupError):
    """No queue of that name was added."""


@dataclass(frozen=True)
class AgentRecord:
    """One agent as the ACD sees it.

    ``since`` is when ``state`` began; ``call_id`` is the call the agent is
    ringing for, talking on or wrapping up; ``last_available_at`` is when
    the agent last became available after something else — the longest
    available agent (smallest value) is offered first.
    """

    login: str
    name: str
    device: str
    queues: frozenset[str]
    state: AgentState = AgentState.LOGGED_OUT
    reason: str | None = None
    since: float = 0.0
    call_id: str | None = None
    last_available_at: float | None = None
    calls_handled: int = 0


@dataclass(frozen=True)
class QueuedCall:
    """A call waiting for an agent in ``queue``.

    Higher ``priority`` is served first; ``enqueued_at`` (epoch seconds) is
    stamped by the ACD when left ``None``.  The IVR decides the routing
    facts: ``skills`` the answering agent needs, the customer's ``tier`` and
    how the caller proved who they are (``authentication``: ``none``,
    ``caller_id`` or ``verified``).
    """

    call_id: str
    queue: str
    caller_number: str | None = None
    customer_id: int | None = None
    priority: int = 0
    enqueued_at: float | None = None
    skills: frozenset[str] = frozenset()
    tier: str | None = None
    authentication: str = "none"


@dataclass(frozen=True)
class Offer:
    """``call`` is reserved for agent ``agent_login``: ring ``device`` now."""

    call: QueuedCall
    agent_login: str
    device: str
    offered_at: float
