"""Churn flags: three independent warnings that a customer may be leaving.

* ``balance_drop``: today's AUM balance is at least
  ``analytics.balance_drop_percent`` (30 %) below its 3-month average
  daily balance (a customer with no 3-month average is not flagged).
* ``dormant``: no customer-initiated transaction within
  ``analytics.dormant_days`` (180) days — or none at all.
* ``complaint``: a contact whose disposition is one of
  ``analytics.complaint_dispositions`` (``complaint``) within
  ``analytics.complaint_days`` (90) days (computed with the contacts, see
  :func:`crm_core.analytics.contribution.contacts`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from crm_core.analytics.dialect import Dialect
from crm_core.analytics.schemas import SegmentSettings

__all__ = ["balance_drop", "dormant"]


def balance_drop(
    settings: SegmentSettings, now: ColumnElement[Any], average_3m: ColumnElement[Any]
) -> ColumnElement[bool]:
    """``now ≤ (1 − p) × average`` in exact integer arithmetic: ``100 × now ≤ (100 − p) × average``."""
    keep = 100 - settings.balance_drop_percent
    return and_(average_3m > 0, now * 100 <= average_3m * keep)


def dormant(
    dialect: Dialect, settings: SegmentSettings, as_of: datetime, last: ColumnElement[Any]
) -> ColumnElement[bool]:
    since = as_of - timedelta(days=settings.dormant_days)
    return or_(last.is_(None), last <= dialect.at(since))
