"""ORM models of commission accounting (提成核算): rules by date, credit splits, statements and their lines.

Rates and ratios are decimal *strings* (``"1.5"`` = 1.5 %): a rate needs
more than two decimals, and neither backend may turn it into a float.
Percentages of a credit split are exact two-decimal numbers (the
:class:`~crm_core.models.coltypes.Money` column type, integer hundredths on SQLite).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, check_in
from crm_core.models.coltypes import utcnow

__all__ = [
    "COMMISSION_BASES",
    "COMMISSION_DATE_BASES",
    "COMMISSION_LINE_KINDS",
    "COMMISSION_PRODUCT_KEYS",
    "COMMISSION_STATEMENT_STATUSES",
    "COMMISSION_TIER_METHODS",
    "CommissionLine",
    "CommissionRule",
    "CommissionSplit",
    "CommissionStatement",
]

COMMISSION_BASES = ("contract_amount", "collected", "margin")
COMMISSION_DATE_BASES = ("signed", "paid")
#: ``whole``: all at the tier reached (全额累进); ``slice``: each slice at its rate (超额累进).
COMMISSION_TIER_METHODS = ("whole", "slice")
#: A rule covers one product type, or every product type without a rule of its own (``*``).
COMMISSION_PRODUCT_KEYS = ("*", "deposit", "loan", "card", "wealth", "insurance")
COMMISSION_STATEMENT_STATUSES = ("open", "approved")
#: ``commission``: an event of the statement's own period; ``adjustment``: a correction of an approved period.
COMMISSION_LINE_KINDS = ("commission", "adjustment")


class CommissionRule(Base):
    """One version of the commission rule of a product key, in force from ``effective_from``.

    A change never edits a row: it adds a version with a later (or equal
    day, replacing) ``effective_from``; the version in force on an event's
    date prices that event.  ``active`` false means: no commission from
    that date on.  ``tiers`` is ``[{"from": "0", "rate": "1.0"}, …]``,
    thresholds ascending from 0, rates in percent.
    """

    __tablename__ = "commission_rules"
    __table_args__ = (
        CheckConstraint(check_in("product_key", COMMISSION_PRODUCT_KEYS), name="product_key"),
        CheckConstraint(check_in("basis", COMMISSION_BASES), name="basis"),
        CheckConstraint(check_in("date_basis", COMMISSION_DATE_BASES), name="date_basis"),
        CheckConstraint(check_in("tier_method", COMMISSION_TIER_METHODS), name="tier_method"),
        UniqueConstraint("product_key", "version", name="uq_commission_rules_product_key_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_key: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    basis: Mapped[str] = mapped_column(String(16))
    date_basis: Mapped[str] = mapped_column(String(8))
    tier_method: Mapped[str] = mapped_column(String(8))
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    renewal_rate: Mapped[str | None] = mapped_column(String(16))
    margin_ratio: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class CommissionSplit(Base):
    """One shared owner's percentage of a contract's commission credit (a contract's rows sum to 100)."""

    __tablename__ = "commission_splits"
    __table_args__ = (
        UniqueConstraint("contract_id", "agent_id", name="uq_commission_splits_contract_id_agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    percent: Mapped[Decimal]


class CommissionStatement(Base):
    """An agent's commission for one period (``YYYY-MM``); frozen once ``approved``."""

    __tablename__ = "commission_statements"
    __table_args__ = (
        CheckConstraint(check_in("status", COMMISSION_STATEMENT_STATUSES), name="status"),
        UniqueConstraint("period", "agent_id", name="uq_commission_statements_period_agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    total: Mapped[Decimal]
    calculated_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))

    lines: Mapped[list[CommissionLine]] = relationship(
        back_populates="statement",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CommissionLine.id",
    )


class CommissionLine(Base):
    """One priced event (a signing or a payment) credited to the statement's agent, or a correction of one.

    ``for_period`` is the period the event belongs to (an adjustment's is
    earlier than its statement's).  ``base`` is the event's amount,
    ``credited`` the agent's share of it, ``commission`` the line's money,
    rounded half-up to the cent.
    """

    __tablename__ = "commission_lines"
    __table_args__ = (CheckConstraint(check_in("kind", COMMISSION_LINE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("commission_statements.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    for_period: Mapped[str] = mapped_column(String(7))
    event: Mapped[str] = mapped_column(String(8))
    event_on: Mapped[date]
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="SET NULL"), index=True
    )
    contract_number: Mapped[str] = mapped_column(String(32))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("commission_rules.id", ondelete="SET NULL"))
    base: Mapped[Decimal]
    share_percent: Mapped[Decimal]
    credited: Mapped[Decimal]
    commission: Mapped[Decimal]
    rate: Mapped[str] = mapped_column(String(255))

    statement: Mapped[CommissionStatement] = relationship(back_populates="lines", lazy="raise")
