"""The call model the tracker keeps: a call, its legs and its dials.

A *call* is everything Asterisk links under one ``Linkedid``: the caller's
channel, the IVR leg, the legs dialled towards agents.  A *leg* is one
channel (one ``Uniqueid``).  A *dial* is one attempt to reach a destination
(``DialBegin`` … ``DialEnd``), the way the tracker knows which leg is the
agent's and whether the agent answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["PRE_CONNECTED", "Call", "CallOutcome", "CallState", "Dial", "Leg"]


class CallState(StrEnum):
    """Where a call is in its life, from the contact center's point of view."""

    RINGING = "ringing"  # channels exist, nothing answered it yet
    IN_IVR = "in_ivr"  # our AGI (or any AGI) runs on one of its legs
    QUEUED = "queued"  # waiting for an agent
    OFFERED = "offered"  # an agent's phone rings
    CONNECTED = "connected"  # an agent (or the dialled party) answered
    ENDED = "ended"  # every leg hung up


class CallOutcome(StrEnum):
    """How a call ended."""

    ANSWERED = "answered"
    ABANDONED_IN_IVR = "abandoned_in_ivr"
    ABANDONED_IN_QUEUE = "abandoned_in_queue"
    UNANSWERED = "unanswered"  # ended while ringing (no IVR, no queue)
    LOST = "lost"  # vanished while we were disconnected: no channel left at resync


PRE_CONNECTED = frozenset({CallState.RINGING, CallState.IN_IVR, CallState.QUEUED, CallState.OFFERED})


@dataclass(slots=True)
class Leg:
    """One channel of a call.  Times are seconds since the epoch."""

    uniqueid: str
    linkedid: str
    channel: str
    state_desc: str = ""
    caller_number: str | None = None
    caller_name: str | None = None
    created_at: float = 0.0
    answered_at: float | None = None
    hungup_at: float | None = None
    hangup_cause: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    bridge_id: str | None = None  # the bridge the leg is in now, if any

    @property
    def live(self) -> bool:
        return self.hungup_at is None


@dataclass(slots=True)
class Dial:
    """One dial from a leg of the call to ``dest_uniqueid``."""

    dest_uniqueid: str
    dest_channel: str
    dial_string: str | None
    began_at: float
    status: str | None = None  # DialEnd's DialStatus (ANSWER, NOANSWER, CANCEL…); None: ringing
    ended_at: float | None = None


@dataclass(slots=True)
class Call:
    """A call as the contact center sees it.

    ``agent`` is the queue member name (``Agent 1001``), else the member's
    interface, else the dialled device — or what our own ACD reported with
    :meth:`cti.tracker.CallTracker.mark`.  ``hold_time`` is the wait in queue
    and ``talk_time`` the conversation, both in seconds: Asterisk's own
    figures (``AgentConnect``/``AgentComplete``) when it sends them, else
    measured from event times.
    """

    linkedid: str
    legs: dict[str, Leg] = field(default_factory=dict)
    state: CallState = CallState.RINGING
    caller_number: str | None = None
    caller_name: str | None = None
    queue: str | None = None
    agent: str | None = None
    arrived_at: float = 0.0
    ivr_at: float | None = None
    queued_at: float | None = None
    offered_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    outcome: CallOutcome | None = None
    hold_time: float | None = None
    talk_time: float | None = None
    dials: dict[str, Dial] = field(default_factory=dict)
    agent_complete: bool = False  # Asterisk's AgentComplete figures are in

    @property
    def live_legs(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.live]

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED
