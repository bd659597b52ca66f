"""ORM models of people and what they hold: teams, users, customers, phones, accounts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import (
    ACCOUNT_STATUSES,
    ACCOUNT_TYPES,
    AGENT_ROLES,
    CUSTOMER_DEAL_STATUSES,
    CUSTOMER_KINDS,
    CUSTOMER_SOURCES,
    CUSTOMER_STATUSES,
    PHONE_TYPES,
    Base,
    Timestamped,
    check_in,
)
from crm_core.models.coltypes import utcnow

__all__ = ["Account", "Agent", "Customer", "CustomerContact", "PhoneNumber", "Team"]


class Team(Base):
    """A group of agents; its supervisor sees and manages the members' customers."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    supervisor: Mapped[Agent | None] = relationship(foreign_keys=[supervisor_id], lazy="raise")
    members: Mapped[list[Agent]] = relationship(
        back_populates="team", foreign_keys="Agent.team_id", lazy="raise", order_by="Agent.id"
    )


class Agent(Timestamped, Base):
    """A contact-center user: agent, supervisor or admin (``team_id``: the team they belong to)."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(check_in("role", AGENT_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Skill name -> proficiency 1 (can help) .. 5 (expert); the ACD routes on it.
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # use_alter: teams and agents reference each other; this breaks the cycle for DDL sorting.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL", use_alter=True), index=True
    )

    team: Mapped[Team | None] = relationship(back_populates="members", foreign_keys=[team_id], lazy="raise")


class Customer(Timestamped, Base):
    """A bank customer, person or company; deleting only sets ``deleted_at`` (the recycle bin).

    ``status`` is ``owned`` (``owner_agent_id`` set), ``public`` (in the pool,
    no owner) or ``locked`` (owned and never released to the pool).  The ID
    number is kept as ``HMAC-SHA256(pepper, number)`` plus its last four.
    """

    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(check_in("kind", CUSTOMER_KINDS), name="kind"),
        CheckConstraint(check_in("status", CUSTOMER_STATUSES), name="status"),
        CheckConstraint(check_in("deal_status", CUSTOMER_DEAL_STATUSES), name="deal_status"),
        CheckConstraint(check_in("source", CUSTOMER_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="individual")
    tier: Mapped[str] = mapped_column(String(32), default="standard", index=True)
    owner_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="public", index=True)
    deleted_at: Mapped[datetime | None]
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_last4: Mapped[str | None] = mapped_column(String(4))
    deal_status: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    source: Mapped[str] = mapped_column(String(32), default="branch", server_default="branch")
    owned_since: Mapped[datetime | None]
    last_follow_up_at: Mapped[datetime | None]
    last_deal_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    previous_owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    purge_after: Mapped[datetime | None]
    # Segment fields: written by the analytics job, NULL until it has run.
    segment_abc: Mapped[str | None] = mapped_column(String(1))
    aum_tier: Mapped[str | None] = mapped_column(String(16))
    rfm_score: Mapped[str | None] = mapped_column(String(3))
    contribution: Mapped[Decimal | None]
    segment_computed_at: Mapped[datetime | None]

    owner: Mapped[Agent | None] = relationship(foreign_keys=[owner_agent_id], lazy="raise")
    previous_owner: Mapped[Agent | None] = relationship(foreign_keys=[previous_owner_id], lazy="raise")
    phones: Mapped[list[PhoneNumber]] = relationship(
        back_populates="customer",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PhoneNumber.id",
    )
    accounts: Mapped[list[Account]] = relationship(
        back_populates="customer",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Account.id",
    )
    contacts: Mapped[list[CustomerContact]] = relationship(
        back_populates="customer",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CustomerContact.id",
    )


class CustomerContact(Base):
    """A person to talk to at a company customer."""

    __tablename__ = "customer_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="contacts", lazy="raise")


class PhoneNumber(Base):
    """A customer's phone; ``e164`` is not unique (a landline can be shared)."""

    __tablename__ = "phone_numbers"
    __table_args__ = (CheckConstraint(check_in("type", PHONE_TYPES), name="type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    raw: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    type: Mapped[str] = mapped_column(String(16), default="mobile")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="phones", lazy="raise")


class Account(Base):
    """A bank account; the full number is never stored, only last 4 and a peppered hash."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(check_in("type", ACCOUNT_TYPES), name="type"),
        CheckConstraint(check_in("status", ACCOUNT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    number_last4: Mapped[str] = mapped_column(String(4))
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    balance: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Phone-banking PIN (deposit and card accounts): a salted, peppered hash, never
    # the PIN; with the lockout state of crm_core.selfservice.pins.
    pin_hash: Mapped[str | None] = mapped_column(String(128))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_first_failure_at: Mapped[datetime | None]
    pin_locked_until: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(back_populates="accounts", lazy="raise")
