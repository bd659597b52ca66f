"""Assets under management: current balances, time-weighted average balances, AUM tiers.

AUM is the balance of deposit and wealth accounts.  The *average daily
balance* over a window of ``W`` days ending at the run's moment ``T`` is the
time-weighted average of the balance, rebuilt backwards from today's balance
and the window's transactions (the bank keeps no daily snapshots)::

    balance(τ) = balance(T) − Σ amount of transactions after τ
    average    = balance(T) − Σ amount × (W − days from the transaction to T) / W

e.g. 1 000 today after a +300 deposit 10 days ago: 30-day average
= 1 000 − 300 × 20/30 = 800 (700 for 20 days, 1 000 for 10).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select

from crm_core.analytics.dialect import Dialect
from crm_core.analytics.schemas import BASE_TIER
from crm_core.models import Account, Customer, Transaction

__all__ = [
    "ACCOUNT_KINDS",
    "AUM_TYPES",
    "MONTH_DAYS",
    "QUARTER_DAYS",
    "YEAR_DAYS",
    "aum_tier",
    "average",
    "balances_now",
    "segmented_customers",
    "tier_case",
    "window_adjustment",
]

AUM_TYPES = ("deposit", "wealth")
ACCOUNT_KINDS = ("deposit", "wealth", "loan", "card")
MONTH_DAYS = 30
QUARTER_DAYS = 90
YEAR_DAYS = 365


def segmented_customers() -> Select[Any]:
    """Live customers holding at least one account: the population of a run (prospects left out)."""
    return (
        select(Customer.id.label("customer_id"))
        .where(Customer.deleted_at.is_(None))
        .where(select(Account.id).where(Account.customer_id == Customer.id).exists())
    )


def balances_now() -> Select[Any]:
    """Per customer: today's AUM balance and the balance of each account kind."""
    columns = [
        func.sum(case((Account.type.in_(AUM_TYPES), Account.balance), else_=0)).label("aum_now"),
        *(
            func.sum(case((Account.type == kind, Account.balance), else_=0)).label(f"bal_{kind}")
            for kind in ACCOUNT_KINDS
        ),
    ]
    return select(Account.customer_id, *columns).group_by(Account.customer_id)


def window_adjustment(
    dialect: Dialect, as_of: datetime, days: int, kinds: tuple[str, ...]
) -> ColumnElement[Any]:
    """``Σ amount × (W − age in days)`` of the window's transactions on accounts of ``kinds``.

    To be used in an aggregate over transactions joined to their account,
    already limited to the last year (the longest window).
    """
    start = as_of - timedelta(days=days)
    weight = dialect.number(days) - dialect.days_before(as_of, Transaction.occurred_at)
    inside = and_(Account.type.in_(kinds), Transaction.occurred_at > dialect.at(start))
    return func.sum(case((inside, Transaction.amount * weight), else_=0))


def average(
    dialect: Dialect, now: ColumnElement[Any], adjustment: ColumnElement[Any], days: int
) -> ColumnElement[Any]:
    """The average balance (storage units, rounded) from today's balance and its window adjustment."""
    return dialect.round_money(func.coalesce(now, 0) - func.coalesce(adjustment, 0) / dialect.number(days))


def tier_case(
    dialect: Dialect, balance: ColumnElement[Any], thresholds: list[tuple[str, Decimal]]
) -> ColumnElement[Any]:
    """The AUM tier of ``balance``: the first tier whose threshold it reaches, else ``standard``."""
    return case(*((balance >= dialect.money(amount), tier) for tier, amount in thresholds), else_=BASE_TIER)


def aum_tier(balance: Decimal, thresholds: list[tuple[str, Decimal]]) -> str:
    """The same rule in Python: the tier of a month-average balance."""
    return next((tier for tier, amount in thresholds if balance >= amount), BASE_TIER)
