"""ACD: agent states, queues of waiting calls, and the offer of a call to one agent.

The call flow enqueues a call after the IVR and waits on the ticket; the
agent console changes agent states; supervisors read :meth:`Acd.snapshot`.
"""

from acd.core import Acd
from acd.model import (
    AgentRecord,
    AgentState,
    InvalidTransition,
    Offer,
    QueuedCall,
    UnknownAgent,
    UnknownQueue,
)
from acd.routing import RoutingPolicy, longest_available
from acd.ticket import CallWithdrawn, Ticket
from acd.views import AcdSnapshot, AgentView, QueueView, WaitingCallView
from acd.waiting import WaitingQueue

__all__ = [
    "Acd",
    "AcdSnapshot",
    "AgentRecord",
    "AgentState",
    "AgentView",
    "CallWithdrawn",
    "InvalidTransition",
    "Offer",
    "QueueView",
    "QueuedCall",
    "RoutingPolicy",
    "Ticket",
    "UnknownAgent",
    "UnknownQueue",
    "WaitingCallView",
    "WaitingQueue",
    "longest_available",
]
