"""ORM models of what happens to customers: follow-ups, transactions, ownership, sharing, phone banking."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import (
    GRANT_ACCESS_LEVELS,
    OWNERSHIP_ACTIONS,
    TRANSACTION_CHANNELS,
    Base,
    Timestamped,
    check_in,
)
from crm_core.models.coltypes import utcnow
from crm_core.models.people import Account, Agent, Customer

__all__ = [
    "CALLBACK_STATUSES",
    "CUSTOMER_LINKS",
    "CallbackRequest",
    "Interaction",
    "LostCardReport",
    "OwnershipHistory",
    "SharingGrant",
    "Transaction",
]

#: Life of a callback request: the ACD takes a pending one (in-progress) and settles it.
CALLBACK_STATUSES = ("pending", "in-progress", "done", "failed", "cancelled")
#: ``interactions.customer_link`` of a call the IVR could not identify because the CRM was
#: unavailable, settled once the database took the call's record: ``caller_number`` — linked
#: to the one live customer with the caller's number (a match, never a verification);
#: ``ambiguous`` — several customers share the number, left unlinked; ``no_match`` — none has it.
CUSTOMER_LINKS = ("caller_number", "ambiguous", "no_match")


class Interaction(Timestamped, Base):
    """One follow-up with a customer: a call (unique by ``call_id``, the Linkedid) or a visit, email…

    ``call_id`` is NULL for follow-ups that are not calls; several NULLs do
    not collide under the unique constraint on either backend.
    """

    __tablename__ = "interactions"
    # No CHECK on channel/direction: the call flow records what the network
    # sends (cut to length); the follow-up service validates what users type.
    __table_args__ = (Index("ix_interactions_customer_id_arrived_at", "customer_id", "arrived_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    ivr_path: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    arrived_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    offered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # Totals of a call with legs are derived from them (crm_core.followups.legs): wait = the queue
    # waits, talk = the agents' answered stretches (holds included), hold = the holds.
    wait_seconds: Mapped[float | None]
    talk_seconds: Mapped[float | None]
    hold_seconds: Mapped[float | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    disposition: Mapped[str | None] = mapped_column(String(64))
    #: The follow-up's text: a call's wrap-up notes, a visit's or an email's summary.
    content: Mapped[str | None] = mapped_column(Text)
    next_contact_on: Mapped[date | None] = mapped_column(index=True)
    #: How to contact the customer next (one of INTERACTION_CHANNELS); NULL: not said.
    next_contact_channel: Mapped[str | None] = mapped_column(String(16))
    #: Who saved a call's wrap-up (a login: the record outlives the account) and when; the
    #: agent who handled the call stays in ``agent_id``.
    wrapped_up_by: Mapped[str | None] = mapped_column(String(64))
    wrapped_up_at: Mapped[datetime | None]
    #: When the queue's longest wrap-up ended with no wrap-up saved: reported "not wrapped up".
    wrapup_missed_at: Mapped[datetime | None]
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    #: How the call was tied to a customer after the fact, when the IVR could not look the caller
    #: up (CRM unavailable): see :data:`CUSTOMER_LINKS`.  NULL: linked (or not) by the IVR or a user.
    customer_link: Mapped[str | None] = mapped_column(String(16))
    #: A call that ended while bankcti was not observing it (outcome ``ended_unobserved``, ended_at
    #: NULL) ended between these two: the last moment bankcti saw it live (or stopped observing it
    #: at a shutdown), and the moment it found the call gone from the PBX.  Facts, not a guess.
    last_seen_at: Mapped[datetime | None]
    found_gone_at: Mapped[datetime | None]

    customer: Mapped[Customer | None] = relationship(lazy="raise")
    agent: Mapped[Agent | None] = relationship(foreign_keys=[agent_id], lazy="raise")
    created_by: Mapped[Agent | None] = relationship(foreign_keys=[created_by_id], lazy="raise")


class Transaction(Base):
    """A movement on an account: ``amount`` is signed (+ credit, − debit)."""

    __tablename__ = "transactions"
    __table_args__ = (CheckConstraint(check_in("channel", TRANSACTION_CHANNELS), name="channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    amount: Mapped[Decimal]
    channel: Mapped[str] = mapped_column(String(16))
    customer_initiated: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(128), default="")

    account: Mapped[Account] = relationship(lazy="raise")


class OwnershipHistory(Base):
    """One change of a customer's owner (or lock state), with why and by whom (NULL actor: the system)."""

    __tablename__ = "ownership_history"
    __table_args__ = (CheckConstraint(check_in("action", OWNERSHIP_ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    from_owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    to_owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now(), index=True)

    customer: Mapped[Customer] = relationship(lazy="raise")


class SharingGrant(Base):
    """Access to one customer given to a user or a team (exactly one), read or write, maybe expiring.

    A grant counts while ``revoked_at`` is NULL and ``expires_at`` is NULL or
    in the future; expired and revoked grants stay as history.
    """

    __tablename__ = "sharing_grants"
    __table_args__ = (
        CheckConstraint(check_in("access", GRANT_ACCESS_LEVELS), name="access"),
        CheckConstraint("(grantee_user_id IS NULL) <> (grantee_team_id IS NULL)", name="one_grantee"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    grantee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    grantee_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    access: Mapped[str] = mapped_column(String(8))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(lazy="raise")


class LostCardReport(Base):
    """A card reported lost through the IVR; ``reference`` (``LC-20261129-000042``) is told to the caller.

    One report per call and card: a repeated report in the same call finds
    this row (unique ``call_id, account_id``; reports without a call never collide).
    """

    __tablename__ = "lost_card_reports"
    __table_args__ = (UniqueConstraint("call_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(64))
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class CallbackRequest(Timestamped, Base):
    """A caller asked to be called back at ``number_e164`` between ``window_start`` and ``window_end``.

    ``customer_id`` is NULL for callers the IVR could not identify.  The ACD
    consumes pending requests; ``status`` follows :data:`CALLBACK_STATUSES`.
    """

    __tablename__ = "callback_requests"
    __table_args__ = (
        CheckConstraint(check_in("status", CALLBACK_STATUSES), name="status"),
        CheckConstraint("window_end > window_start", name="window"),
        Index("ix_callback_requests_status_window_start", "status", "window_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    number_e164: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    result: Mapped[str | None] = mapped_column(String(255))
    call_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set when the request keeps a place in an ACD queue (pressed while waiting, or routed by the IVR):
    # ``queued_at`` is the original entry time, so the callback is served where the caller would have been.
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queued_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    agent_login: Mapped[str | None] = mapped_column(String(64))
    # What the ACD routes the callback by, as it routed the caller's call (tier, segment, skills,
    # owner_login): a callback queued again after a restart keeps its rank and its agents.
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
