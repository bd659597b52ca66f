"""ORM models of customer-value analytics: one row per run, one row per customer and run.

``customer_segments`` is the history: every run writes one row per segmented
customer with the date it was computed, so a customer's value can be followed
over time; the latest values are also copied onto ``customers`` (the columns
the IVR and the ACD read).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, check_in
from crm_core.models.coltypes import utcnow

__all__ = ["ABC_CLASSES", "ANALYTICS_RUN_STATUSES", "AnalyticsRun", "CustomerSegment"]

ANALYTICS_RUN_STATUSES = ("running", "done", "failed")
ABC_CLASSES = ("A", "B", "C")


class AnalyticsRun(Base):
    """One segmentation run: when, why, over how much data, and the headline result."""

    __tablename__ = "analytics_runs"
    __table_args__ = (CheckConstraint(check_in("status", ANALYTICS_RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_on: Mapped[date] = mapped_column(index=True)
    as_of: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    customers: Mapped[int] = mapped_column(Integer, default=0)
    transactions: Mapped[int] = mapped_column(Integer, default=0)
    # Share of segmented customers in class A (the "20 %" of the 80/20 rule).
    a_share_contribution: Mapped[float | None] = mapped_column(Float)
    a_share_aum: Mapped[float | None] = mapped_column(Float)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class CustomerSegment(Base):
    """A customer's value as computed by run ``run_id`` on ``computed_on``.

    Money columns are over the run's window (see :mod:`crm_core.analytics.sql`):
    ``income``, ``cost_to_serve`` and ``contribution`` over the last 12
    months; ``avg_daily_balance`` over the last month, ``avg_balance_3m``
    over the last three (assets under management: deposit and wealth).
    """

    __tablename__ = "customer_segments"
    __table_args__ = (
        CheckConstraint(check_in("abc_contribution", ABC_CLASSES), name="abc_contribution"),
        CheckConstraint(check_in("abc_aum", ABC_CLASSES), name="abc_aum"),
        Index("ix_customer_segments_customer_id_computed_on", "customer_id", "computed_on"),
        Index("ix_customer_segments_run_id_customer_id", "run_id", "customer_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analytics_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    computed_on: Mapped[date]
    abc_contribution: Mapped[str] = mapped_column(String(1))
    abc_aum: Mapped[str] = mapped_column(String(1))
    aum_tier: Mapped[str] = mapped_column(String(32))
    service_tier: Mapped[str] = mapped_column(String(32))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    aum_balance: Mapped[Decimal]
    avg_daily_balance: Mapped[Decimal]
    avg_balance_3m: Mapped[Decimal]
    last_transaction_at: Mapped[datetime | None]
    frequency: Mapped[int] = mapped_column(Integer, default=0)
    monetary: Mapped[Decimal]
    r_score: Mapped[int] = mapped_column(Integer)
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    rfm_score: Mapped[str] = mapped_column(String(3))
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    income: Mapped[Decimal]
    cost_to_serve: Mapped[Decimal]
    contribution: Mapped[Decimal]
    churn_balance_drop: Mapped[bool] = mapped_column(Boolean, default=False)
    churn_dormant: Mapped[bool] = mapped_column(Boolean, default=False)
    churn_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
