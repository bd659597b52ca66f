"""What supervisors see: a JSON-ready picture of queues and agents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from acd.model import BUSY, AgentRecord, AgentState, QueuedCall

__all__ = ["AcdSnapshot", "AgentView", "QueueView", "WaitingCallView", "build_snapshot"]


class WaitingCallView(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    position: int  # 1-based
    priority: int
    caller_number: str | None
    customer_id: int | None
    enqueued_at: float
    wait_seconds: float


class QueueView(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    waiting: list[WaitingCallView]
    longest_wait_seconds: float  # 0 when nobody waits
    agents_available: int
    agents_logged_in: int
    agents_busy: int = 0  # reserved, ringing, on a call or on hold
    agents_paused: int = 0
    agents_wrap_up: int = 0


class AgentView(BaseModel):
    model_config = ConfigDict(frozen=True)

    login: str
    name: str
    state: str
    reason: str | None
    since: float
    seconds_in_state: float
    call_id: str | None
    queues: list[str]
    calls_handled: int
    skills: dict[str, int] = {}
    teams: list[str] = []
    pause_after_call: str | None = None


class AcdSnapshot(BaseModel):
    """Queues (with waiting calls in service order) and agents at ``at``."""

    model_config = ConfigDict(frozen=True)

    at: float
    queues: list[QueueView]
    agents: list[AgentView]


def _queue_view(
    now: float, name: str, order: list[str], calls: Mapping[str, QueuedCall], agents: Iterable[AgentRecord]
) -> QueueView:
    waiting = []
    for position, call_id in enumerate(order, start=1):
        call = calls[call_id]
        enqueued = now if call.enqueued_at is None else call.enqueued_at
        waiting.append(
            WaitingCallView(
                call_id=call_id,
                position=position,
                priority=call.priority,
                caller_number=call.caller_number,
                customer_id=call.customer_id,
                enqueued_at=enqueued,
                wait_seconds=max(0.0, now - enqueued),
            )
        )
    serving = [a for a in agents if name in a.queues]
    return QueueView(
        name=name,
        waiting=waiting,
        longest_wait_seconds=max((w.wait_seconds for w in waiting), default=0.0),
        agents_available=sum(a.state is AgentState.AVAILABLE for a in serving),
        agents_logged_in=sum(a.state is not AgentState.LOGGED_OUT for a in serving),
        agents_busy=sum(a.state in BUSY for a in serving),
        agents_paused=sum(a.state is AgentState.PAUSED for a in serving),
        agents_wrap_up=sum(a.state is AgentState.WRAP_UP for a in serving),
    )


def build_snapshot(
    now: float,
    orders: Mapping[str, list[str]],
    waiting: Mapping[str, QueuedCall],
    agents: Iterable[AgentRecord],
) -> AcdSnapshot:
    """Picture at ``now`` of the queues (``orders``: waiting call ids per queue in service order,
    ``waiting``: those calls by id) and ``agents``."""
    agents = list(agents)
    return AcdSnapshot(
        at=now,
        queues=[_queue_view(now, name, order, waiting, agents) for name, order in orders.items()],
        agents=[
            AgentView(
                login=a.login,
                name=a.name,
                state=a.state.value,
                reason=a.reason,
                since=a.since,
                seconds_in_state=max(0.0, now - a.since),
                call_id=a.call_id,
                queues=sorted(a.queues),
                calls_handled=a.calls_handled,
                skills=dict(a.skills),
                teams=sorted(a.teams),
                pause_after_call=a.pause_after_call,
            )
            for a in agents
        ],
    )
