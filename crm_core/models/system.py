"""ORM models of the service's own records: parameters, the audit log, job leases, login throttling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, check_in
from crm_core.models.coltypes import utcnow

__all__ = ["LOGIN_THROTTLE_SCOPES", "AuditLog", "JobLease", "LoginFailures", "Parameter", "ParameterChange"]

#: What a login-failure count is kept for: a login, a client address, or the pair of both.
LOGIN_THROTTLE_SCOPES = ("login", "address", "pair")

#: BIGINT on PostgreSQL; SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Parameter(Base):
    """An explicitly set parameter; keys never set here take the registry's default."""

    __tablename__ = "parameters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class ParameterChange(Base):
    """One change of a parameter; ``old_value`` is NULL when it had its default."""

    __tablename__ = "parameter_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    old_value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now(), index=True)


class AuditLog(Base):
    """Who viewed or changed which record, when, from where.  Append-only (a trigger refuses UPDATE/DELETE).

    No foreign keys: the log outlives the users and records it names.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now(), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_login: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    #: Unique key of a row written through a spool (the screen-pop views): replayed after a crash,
    #: it is not stored twice.  NULL for rows written directly.
    event_key: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)


class JobLease(Base):
    """Which service instance runs a periodic job until when, and how its last run went."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class LoginFailures(Base):
    """Recent failed logins of one login, one client address or one (login, address) pair.

    The state of :mod:`crm_core.contact_center.throttle`, kept in the database so
    that every console gateway on it throttles the same way.  ``login`` is
    empty for an address count, ``address`` for a login count; ``locked_until``
    is when the next attempt may be checked (NULL: not locked).
    """

    __tablename__ = "login_failures"
    __table_args__ = (CheckConstraint(check_in("scope", LOGIN_THROTTLE_SCOPES), name="scope"),)

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]
