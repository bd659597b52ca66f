"""ORM models of the ACD's durable state: queue definitions, agent states, queue events.

The ACD itself keeps everything in memory; these tables are what survives a
restart (agent states, queue settings edited in the database) and what the
statistics read afterwards (every queue transition and agent state change).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, check_in
from crm_core.models.coltypes import utcnow
from crm_core.models.system import BigId

__all__ = [
    "ACD_STRATEGIES",
    "AGENT_STATES",
    "NO_AGENT_ACTIONS",
    "QUEUE_EVENTS",
    "AcdQueue",
    "AgentEvent",
    "AgentStateRow",
    "QueueEvent",
]

ACD_STRATEGIES = ("longest-idle", "fewest-calls", "round-robin", "ring-all", "skills-best-match")
NO_AGENT_ACTIONS = ("callback", "closed", "overflow")
AGENT_STATES = ("logged_out", "available", "reserved", "ringing", "on_call", "on_hold", "wrap_up", "paused")
#: Queue transitions recorded per call (the names of queue_log, lower case).
QUEUE_EVENTS = (
    "joined",
    "offered",
    "no_answer",
    "connected",
    "abandoned",
    "overflowed",
    "max_wait",
    "completed",
    "transferred",
    "moved",
    "callback_requested",
    "callback_attempt",
    "callback_completed",
    "callback_failed",
    "ring_cancelled",  # the caller hung up while this agent's phone rang (queue_log RINGCANCELED)
    "ring_failed",  # the agent's device was busy or unreachable (DIALSTATUS BUSY, CHANUNAVAIL, …)
    # bankcti stopped while the call waited or rang: the caller did not leave, bankcti did (no queue_log
    # line: app_queue has no such event; the PBX decides what happens to the caller next).
    "interrupted",
)


class AcdQueue(Base):
    """A queue defined (or overridden) in the database; the settings file gives the defaults."""

    __tablename__ = "acd_queues"
    __table_args__ = (
        CheckConstraint(check_in("strategy", ACD_STRATEGIES), name="strategy"),
        CheckConstraint(check_in("no_agents", NO_AGENT_ACTIONS), name="no_agents"),
    )

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    strategy: Mapped[str] = mapped_column(String(24), default="longest-idle")
    ring_timeout: Mapped[int] = mapped_column(Integer, default=15)
    wrapup_seconds: Mapped[int] = mapped_column(Integer, default=10)
    max_wait_seconds: Mapped[int] = mapped_column(Integer, default=600)
    max_wait_queue: Mapped[str | None] = mapped_column(String(64))
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=20)
    overflow: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    open_hours: Mapped[str | None] = mapped_column(String(64))
    no_agents: Mapped[str] = mapped_column(String(16), default="callback")
    no_agents_queue: Mapped[str | None] = mapped_column(String(64))
    announce_seconds: Mapped[int] = mapped_column(Integer, default=60)
    rm_grace_seconds: Mapped[int] = mapped_column(Integer, default=15)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgentStateRow(Base):
    """The last known state of one agent, restored when the service starts."""

    __tablename__ = "agent_states"
    __table_args__ = (CheckConstraint(check_in("state", AGENT_STATES), name="state"),)

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[datetime]
    call_id: Mapped[str | None] = mapped_column(String(64))
    last_available_at: Mapped[datetime | None]
    calls_handled: Mapped[int] = mapped_column(Integer, default=0)
    handled_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QueueEvent(Base):
    """One transition of a call in the ACD (joined, offered, no-answer, connected, …).

    ``data`` holds the event's details (position, wait, reason, target queue);
    never a PIN or an account number.
    """

    __tablename__ = "queue_events"
    __table_args__ = (
        CheckConstraint(check_in("event", QUEUE_EVENTS), name="event"),
        Index("ix_queue_events_queue_at", "queue", "at"),
        Index("ix_queue_events_call_id_at", "call_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    call_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(24))
    queue: Mapped[str | None] = mapped_column(String(64))
    agent_login: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    #: Unique key given when the event happened: a write replayed from the spool after a crash is
    #: recognised and not stored twice (NULL for rows written before keys existed).
    event_key: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)


class AgentEvent(Base):
    """One agent state change (login, pause with reason, ringing, on call, wrap-up, logout)."""

    __tablename__ = "agent_events"
    __table_args__ = (Index("ix_agent_events_agent_login_at", "agent_login", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    agent_login: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(64))
    #: See :attr:`QueueEvent.event_key`.
    event_key: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)
