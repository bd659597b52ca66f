"""Agents, waiting calls and offers: the values the ACD hands out.

All of them are frozen: :class:`~acd.core.Acd` replaces a record when the
agent changes, so a record a caller holds is a consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = [
    "BUSY",
    "REQUESTABLE",
    "AgentRecord",
    "AgentState",
    "InvalidTransition",
    "Offer",
    "QueuedCall",
    "UnknownAgent",
    "UnknownQueue",
    "as_callback",
]


class AgentState(StrEnum):
    """Where an agent is in the call cycle.

    ``ringing`` means reserved: one call is offered to the agent's device and
    no other call may be offered until the offer is answered, failed or
    withdrawn.
    """

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"  # held for a callback while the customer is being dialled
    RINGING = "ringing"
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


#: States in which the agent is busy with a call (never offered another one).
BUSY = frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL, AgentState.ON_HOLD})


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
    available agent (smallest value) is offered first.  ``skills`` maps a
    skill to a proficiency from 1 (can help) to 5 (expert); ``last_offer``
    orders agents for round-robin; ``pause_after_call`` is a pause a
    supervisor forced while the agent was busy.  ``device_busy`` says the
    PBX reports the agent's device in use — possibly with a call the ACD did
    not route (a direct call): whatever their state, no call is offered to a
    busy device (:attr:`offerable`).
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
    skills: Mapping[str, int] = field(default_factory=dict)
    teams: frozenset[str] = frozenset()
    last_offer: int = 0
    pause_after_call: str | None = None
    device_busy: bool = False

    @property
    def offerable(self) -> bool:
        """Available, and the device is free: a call may be offered now."""
        return self.state is AgentState.AVAILABLE and not self.device_busy


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
    segment: str | None = None
    owner_login: str | None = None  # the customer's relationship manager, offered first
    kind: str = "call"  # "call" or "callback" (a request keeping the caller's place)
    callback_id: int | None = None
    callback_number: str | None = None
    # The call whose place this is: a callback keeps its call's, so that among calls of equal priority and
    # arrival it is ordered exactly where the call stood (None: the call itself).
    place_of: str | None = None

    @property
    def place_id(self) -> str:
        """What orders this call among calls of equal priority and arrival (see ``place_of``)."""
        return self.place_of or self.call_id


@dataclass(frozen=True)
class Offer:
    """``call`` is reserved for agent ``agent_login``: ring ``device`` now.

    ``group`` lists every ``(login, device)`` reserved together: one pair,
    except in a ring-all queue where several agents ring at once and the
    first to answer takes the call (:meth:`Acd.call_connected`).
    """

    call: QueuedCall
    agent_login: str
    device: str
    offered_at: float
    group: tuple[tuple[str, str], ...] = ()

    @property
    def dial_string(self) -> str:
        """Devices to dial, ``&``-joined as Asterisk's ``Dial`` expects."""
        return "&".join(device for _, device in self.group) if self.group else self.device


def as_callback(call: QueuedCall, *, callback_id: int, number: str) -> QueuedCall:
    """The callback request ``call`` becomes when its caller asks to be called back at ``number``.

    Only its identity changes: it keeps every fact the ACD ranks and routes
    it by — queue, priority, arrival time, customer, tier, segment, skills,
    relationship manager — so it is served exactly where the call would have
    been, by the agents who could have taken the call.
    """
    return replace(
        call,
        call_id=f"callback-{callback_id}",
        kind="callback",
        callback_id=callback_id,
        callback_number=number,
        place_of=call.place_id,
    )
