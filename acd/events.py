"""Typed events that travel on the bus (in-process or MQTT).

Every event is a pydantic model with a literal ``type``; :func:`decode`
turns JSON back into the right class.  The publisher is anything with the
:class:`EventSink` shape, the consumer anything with :class:`EventSource` —
the composition root wires the real bus in.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, Field, TypeAdapter

from crm_core.schemas import CustomerCard, IvrStep

__all__ = [
    "AgentStateChanged",
    "AgentsChanged",
    "BusEvent",
    "CallConnected",
    "CallEnded",
    "CallOffered",
    "CallQueued",
    "ConsolePresence",
    "EventSink",
    "EventSource",
    "OutboundCallChanged",
    "PopReceived",
    "QueueTransition",
    "WrapUpMissed",
    "decode",
    "decode_object",
]


class _Event(BaseModel):
    at: float = Field(default_factory=time.time)


class CallQueued(_Event):
    type: Literal["call.queued"] = "call.queued"
    call_id: str
    queue: str
    caller_number: str | None = None
    customer_id: int | None = None
    priority: int = 0


class CallOffered(_Event):
    """The ACD chose an agent: the moment of the screen-pop.

    A ring-all queue rings a group of agents at once: each of them gets
    their own ``call.offered`` (``agent_login``), and ``group`` lists every
    agent ringing together, this one included (empty for a one-agent offer).
    """

    type: Literal["call.offered"] = "call.offered"
    call_id: str
    agent_login: str
    group: list[str] = Field(default_factory=list)
    queue: str
    caller_number: str | None = None
    customer: CustomerCard | None = None  # None: unknown caller card
    ivr_path: list[IvrStep] = Field(default_factory=list)
    authentication: str = "none"  # none, caller_id, verified


class CallConnected(_Event):
    type: Literal["call.connected"] = "call.connected"
    call_id: str
    agent_login: str
    queue: str


class CallEnded(_Event):
    type: Literal["call.ended"] = "call.ended"
    call_id: str
    outcome: str
    agent_login: str | None = None
    queue: str | None = None


class AgentStateChanged(_Event):
    type: Literal["agent.state"] = "agent.state"
    agent_login: str
    state: str
    reason: str | None = None
    call_id: str | None = None
    # What a restarted service needs to restore the agent exactly (see acd.core.Acd.restore).
    last_available_at: float | None = None
    calls_handled: int = 0
    # Entering wrap_up: when it ends by itself, the latest it may last, and whether the queue
    # requires the wrap-up saved first (acd.wrapups); None / False in every other state.
    wrapup_until: float | None = None
    wrapup_max_until: float | None = None
    wrapup_required: bool = False


class QueueTransition(_Event):
    """One step of a call through the ACD; the history and the statistics record every one.

    ``event`` is one of joined, offered, no_answer, ring_failed (busy,
    unreachable or declining device), ring_cancelled (the caller hung up while
    it rang), connected, abandoned, overflowed, moved, max_wait, completed,
    transferred, callback_requested, callback_attempt, callback_completed,
    callback_failed; ``data`` holds its figures (position, wait_seconds,
    ring_seconds, dial_status, to_queue, callback_id…).
    """

    type: Literal["queue.transition"] = "queue.transition"
    call_id: str
    event: str
    queue: str | None = None
    agent_login: str | None = None
    customer_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class AgentsChanged(_Event):
    """Agent accounts changed in the database (added, edited, disabled, new password).

    Every service on the bus reads its agents again and applies the difference
    to its running ACD, and ends the console sessions of accounts disabled or
    given a new password.  ``source`` names the process that published it (it
    has applied the change already); ``logins`` are the accounts concerned.
    """

    type: Literal["agents.changed"] = "agents.changed"
    source: str = ""
    logins: list[str] = Field(default_factory=list)


class PopReceived(_Event):
    """An agent's console showed the screen-pop of ``call_id`` (its ``ack`` reached a console gateway).

    ``at`` is when the gateway received the acknowledgement.  The call flow
    dials the agent's phone only once every ringing agent's pop was received
    (or its bounded wait is over), so the agent sees the caller before the
    phone rings.
    """

    type: Literal["pop.received"] = "pop.received"
    call_id: str
    agent_login: str


class ConsolePresence(_Event):
    """How many console connections ``gateway`` now serves for ``agent_login`` (0: none).

    The call flow does not wait for the acknowledgement of a pop no console
    can show: an agent with no connection on any gateway is dialled at once.
    """

    type: Literal["console.presence"] = "console.presence"
    gateway: str
    agent_login: str
    connections: int = Field(ge=0)


class OutboundCallChanged(_Event):
    """A call an agent placed from a customer's record (click-to-dial) changed state.

    ``state`` is ``dialing`` (placed: the agent's phone rings, then the
    customer's), ``connected`` (the customer answered) or ``ended`` (with
    ``outcome`` answered or unanswered).  Only the agent's console shows it:
    the call appears there like an inbound one and ends in the same wrap-up.
    ``number`` is masked as the console shows numbers.
    """

    type: Literal["call.outbound"] = "call.outbound"
    call_id: str
    agent_login: str
    state: Literal["dialing", "connected", "ended"]
    customer_id: int | None = None
    number: str | None = None
    outcome: str | None = None


class WrapUpMissed(_Event):
    """The wrap-up of ``call_id``, required by its queue, was not saved within the queue's maximum.

    ``at`` is when the maximum (``wrapup_max_seconds`` after the call's end)
    passed; ``agent_login`` handled the call.  The service records it on the
    call (``interactions.wrapup_missed_at``) and the reports count it.
    """

    type: Literal["wrapup.missed"] = "wrapup.missed"
    call_id: str
    agent_login: str
    queue: str


BusEvent = Annotated[
    CallQueued
    | CallOffered
    | CallConnected
    | CallEnded
    | AgentStateChanged
    | QueueTransition
    | AgentsChanged
    | PopReceived
    | ConsolePresence
    | OutboundCallChanged
    | WrapUpMissed,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[BusEvent] = TypeAdapter(BusEvent)


def decode(data: bytes | str) -> BusEvent:
    """Parse one JSON-encoded event; raises ``pydantic.ValidationError``."""
    return _adapter.validate_json(data)


def decode_object(data: object) -> BusEvent:
    """Validate an already-parsed JSON object as an event."""
    return _adapter.validate_python(data)


class EventSink(Protocol):
    async def publish(self, event: BusEvent) -> None: ...


class EventSource(Protocol):
    def subscribe(self) -> AsyncIterator[BusEvent]: ...
