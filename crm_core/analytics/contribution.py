"""Contribution = income − cost to serve, per customer over the last 12 months.

*Income* is what the data can tell about what a customer earns the bank:

* interest margin: for each account kind, the 12-month average balance
  (time-weighted, see :mod:`crm_core.analytics.aum`; negative counts 0)
  times its yearly margin rate (``analytics.margin_rates``: deposit 1.5 %,
  wealth 0.8 %, loan 2.5 %, card 12 % by default);
* fees: customer-initiated card spending (debits on card accounts) times
  ``analytics.card_fee_rate`` (interchange, 0.6 % by default).

*Cost to serve* is every contact in our own ``interactions`` history over the
same 12 months (calls, IVR calls, follow-ups by email, visit…): the unit
cost of its channel (``analytics.contact_costs``; unknown channels 0) plus,
for talk time, ``analytics.call_minute_cost`` per minute of ``talk_seconds``.

Example: deposit average 100 000 at 1.5 % = 1 500, card spending 10 000 at
0.6 % = 60, income 1 560; two phone calls of 5 and 3 minutes at 4.00 + 1.50 a
minute = 2 × 4 + 8 × 1.5 = 20 → contribution 1 540.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select

from crm_core.analytics.dialect import Dialect
from crm_core.analytics.schemas import SegmentSettings
from crm_core.models import Account, Interaction, Transaction

__all__ = ["card_spending", "contacts", "cost_to_serve", "interaction_at", "margin_income"]


def interaction_at() -> ColumnElement[Any]:
    """When a contact happened: the call's arrival, else when it was recorded."""
    return func.coalesce(Interaction.arrived_at, Interaction.created_at)


def card_spending() -> ColumnElement[Any]:
    """Aggregate over transactions ⋈ accounts: customer-initiated debits on cards (positive)."""
    spent = and_(Account.type == "card", Transaction.customer_initiated.is_(True), Transaction.amount < 0)
    return func.sum(case((spent, -Transaction.amount), else_=0))


def margin_income(
    dialect: Dialect, settings: SegmentSettings, averages: dict[str, ColumnElement[Any]]
) -> ColumnElement[Any]:
    """Yearly margin on the 12-month average balance of each account kind (``averages``)."""
    total: ColumnElement[Any] = dialect.number(0)
    for kind, average in averages.items():
        rate = settings.margin_rates.get(kind)
        if rate:
            positive = case((average > 0, average), else_=0)
            total = total + positive * dialect.rate(rate)
    return total


def contacts(dialect: Dialect, settings: SegmentSettings, as_of: datetime) -> Select[Any]:
    """Per customer: contacts, talk seconds, cost to serve, complaint flag (last 12 months)."""
    at = interaction_at()
    cost: ColumnElement[Any] = case(
        *(
            (Interaction.channel == channel, dialect.money(amount))
            for channel, amount in settings.contact_costs.items()
        ),
        else_=0,
    )
    talk = func.coalesce(Interaction.talk_seconds, 0)
    complaint_since = as_of - timedelta(days=settings.complaint_days)
    complaint = and_(
        Interaction.disposition.in_(settings.complaint_dispositions), at > dialect.at(complaint_since)
    )
    return (
        select(
            Interaction.customer_id,
            func.count().label("contacts"),
            func.sum(talk).label("talk_seconds"),
            (
                func.sum(cost)
                + func.sum(talk) * dialect.money(settings.call_minute_cost) / dialect.number(60)
            ).label("cost"),
            func.max(case((complaint, 1), else_=0)).label("complaint"),
        )
        .where(Interaction.customer_id.is_not(None))
        .where(at > dialect.at(as_of - timedelta(days=365)), at <= dialect.at(as_of))
        .group_by(Interaction.customer_id)
    )


def cost_to_serve(dialect: Dialect, cost: ColumnElement[Any]) -> ColumnElement[Any]:
    """The contacts' cost rounded to the cent (0 without contacts)."""
    return dialect.round_money(func.coalesce(cost, 0))
