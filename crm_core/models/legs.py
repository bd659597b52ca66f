"""ORM model of a call's timeline: every leg of an interaction (IVR, queue waits, agents, holds, dials).

One call (one ``interactions`` row, keyed by the Linkedid) goes through
several stretches: the IVR, a wait in a queue, an agent's phone ringing and
the talk with that agent, a hold, a transfer to another queue, agent or
number.  Each is one ``interaction_legs`` row, unique by ``(call_id,
leg_key)``: the writer chooses the key when the leg starts and repeats it on
every later write of that leg, so replays from the history spool merge into
the same row.  The interaction's totals (wait, talk, hold) are derived from
its legs (:mod:`crm_core.followups.legs`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, check_in

__all__ = ["LEG_END_REASONS", "LEG_KINDS", "InteractionLeg"]

#: ``ivr`` — the caller in the IVR; ``queue`` — waiting in a queue (overflows and moves stay in the
#: leg, which names the last queue); ``agent`` — an agent's phone offered, ringing, then the talk;
#: ``external`` — a dialplan ``Dial`` to a number (a transfer to a number: no agent); ``hold`` —
#: the customer parked by call control, until unparked.
LEG_KINDS = ("ivr", "queue", "agent", "external", "hold")
#: How a leg ended.  ``ended_unobserved``: the call ended while bankcti was not observing it (the
#: leg's ``ended_at`` stays NULL: never a guessed time).  ``interrupted``: bankcti stopped while the
#: caller was in the IVR or the queue, and the PBX ended the call (not the caller's abandon).
LEG_END_REASONS = (
    "routed", "ended_in_ivr", "answered", "caller_hung_up", "no_agent", "closed", "callback_requested",
    "completed", "no_answer", "ring_failed", "transferred_blind", "transferred_attended", "redirected",
    "resumed", "timed_out", "failed", "ended_unobserved", "interrupted",
)  # fmt: skip


class InteractionLeg(Base):
    """One stretch of a call (see the module).  Times are UTC; NULL: not (yet) known."""

    __tablename__ = "interaction_legs"
    __table_args__ = (
        UniqueConstraint("call_id", "leg_key"),
        CheckConstraint(check_in("kind", LEG_KINDS), name="kind"),
        CheckConstraint(
            f"end_reason IS NULL OR {check_in('end_reason', LEG_END_REASONS)}", name="end_reason"
        ),
        Index("ix_interaction_legs_interaction_id_started_at", "interaction_id", "started_at"),
        # An agent's recent calls and the handled-call access rule look legs up by agent.
        Index("ix_interaction_legs_agent_login_started_at", "agent_login", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(String(64))
    leg_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(64))
    agent_login: Mapped[str | None] = mapped_column(String(64))
    #: What was dialled: the agent's device, the number (``external``), the parking space (``hold``).
    target: Mapped[str | None] = mapped_column(String(80))
    started_at: Mapped[datetime]
    offered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(24))
    #: Where a transferred leg sent the call (``queue``/``agent`` extension or a number).
    transferred_to: Mapped[str | None] = mapped_column(String(80))
