"""ORM models of the CRM (SQLAlchemy 2, typed, async-safe).

Relationships are ``lazy="raise"``: lazy loading cannot work inside asyncio
(it would need a blocking round trip), so every query states what it loads
with ``selectinload``.  These objects never leave :mod:`crm_core`; services
convert them to :mod:`crm_core.schemas` before returning.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm_core.coltypes import Money, UtcDateTime, utcnow

__all__ = [
    "ACCOUNT_STATUSES",
    "ACCOUNT_TYPES",
    "AGENT_ROLES",
    "CUSTOMER_KINDS",
    "CUSTOMER_STATUSES",
    "PHONE_TYPES",
    "Account",
    "Agent",
    "Base",
    "Customer",
    "Interaction",
    "PhoneNumber",
]

CUSTOMER_KINDS = ("individual", "company")
CUSTOMER_STATUSES = ("owned", "public", "locked")
PHONE_TYPES = ("mobile", "landline", "work")
ACCOUNT_TYPES = ("deposit", "loan", "card", "wealth")
ACCOUNT_STATUSES = ("active", "frozen", "lost")
AGENT_ROLES = ("agent", "supervisor", "admin")

# Stable constraint names keep Alembic batch mode (SQLite) and PostgreSQL in step.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), Decimal: Money()}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())


class Agent(Timestamped, Base):
    """A contact-center user: agent, supervisor or admin."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(_in("role", AGENT_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Customer(Timestamped, Base):
    """A bank customer, person or company; deleting only sets ``deleted_at``."""

    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(_in("kind", CUSTOMER_KINDS), name="kind"),
        CheckConstraint(_in("status", CUSTOMER_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="individual")
    tier: Mapped[str] = mapped_column(String(32), default="standard", index=True)
    owner_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="public")
    deleted_at: Mapped[datetime | None]

    owner: Mapped[Agent | None] = relationship(lazy="raise")
    phones: Mapped[list[PhoneNumber]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan", order_by="PhoneNumber.id"
    )
    accounts: Mapped[list[Account]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan", order_by="Account.id"
    )


class PhoneNumber(Base):
    """A customer's phone; ``e164`` is not unique (a landline can be shared)."""

    __tablename__ = "phone_numbers"
    __table_args__ = (CheckConstraint(_in("type", PHONE_TYPES), name="type"),)

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
        CheckConstraint(_in("type", ACCOUNT_TYPES), name="type"),
        CheckConstraint(_in("status", ACCOUNT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    number_last4: Mapped[str] = mapped_column(String(4))
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    balance: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(16), default="active")

    customer: Mapped[Customer] = relationship(back_populates="accounts", lazy="raise")


class Interaction(Timestamped, Base):
    """One contact with a customer (the follow-up history), unique by ``call_id``."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer_id_arrived_at", "customer_id", "arrived_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
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
    wait_seconds: Mapped[float | None]
    talk_seconds: Mapped[float | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer | None] = relationship(lazy="raise")
    agent: Mapped[Agent | None] = relationship(lazy="raise")
