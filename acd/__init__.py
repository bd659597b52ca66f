"""ACD: agent states, queues of waiting calls, and the offer of a call to one agent.

The call flow enqueues a call after the IVR and waits on the ticket; the
agent console changes agent states; supervisors read :meth:`Acd.snapshot`.
"""

from acd.agents import SavedAgentState
from acd.config import NoAgents, OverflowRule, QueueConfig, QueueConfigError, Strategy
from acd.core import Acd
from acd.model import (
    AgentRecord,
    AgentState,
    InvalidTransition,
    Offer,
    QueuedCall,
    UnknownAgent,
    UnknownQueue,
    as_callback,
)
from acd.offers import DEVICE_UNAVAILABLE, RingFailure, device_busy_call
from acd.ticket import CallWithdrawn, QueueExit, Ticket
from acd.views import AcdSnapshot, AgentView, QueueView, WaitingCallView

__all__ = [
    "DEVICE_UNAVAILABLE",
    "Acd",
    "AcdSnapshot",
    "AgentRecord",
    "AgentState",
    "AgentView",
    "CallWithdrawn",
    "InvalidTransition",
    "NoAgents",
    "Offer",
    "OverflowRule",
    "QueueConfig",
    "QueueConfigError",
    "QueueExit",
    "QueueView",
    "QueuedCall",
    "RingFailure",
    "SavedAgentState",
    "Strategy",
    "Ticket",
    "UnknownAgent",
    "UnknownQueue",
    "WaitingCallView",
    "as_callback",
    "device_busy_call",
]
