"""RFM: recency, frequency and monetary value of customer-initiated transactions, scored 1–5.

* Recency: the moment of the customer's last customer-initiated
  transaction (salary credits, interest and loan debits the bank books do
  not count); none in the last year ranks lowest.
* Frequency: how many customer-initiated transactions in the last 12 months.
* Monetary: the sum of their absolute amounts over the same 12 months.

Scores are quintiles by rank, computed with window functions: with ``N``
customers and ``rank`` the 1-based ``RANK()`` in ascending order,
``score = 1 + 5 × (rank − 1) div N`` — 5 is the best fifth.  Ties share
the rank, hence the (lower) score: ten customers with no transaction are all 1.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func

from crm_core.models import Transaction

__all__ = ["frequency", "last_initiated", "monetary", "quintile"]


def last_initiated() -> ColumnElement[Any]:
    """Aggregate: the last customer-initiated transaction's moment (NULL if none)."""
    return func.max(case((Transaction.customer_initiated.is_(True), Transaction.occurred_at)))


def frequency() -> ColumnElement[Any]:
    """Aggregate: how many customer-initiated transactions."""
    return func.count(case((Transaction.customer_initiated.is_(True), Transaction.id)))


def monetary() -> ColumnElement[Any]:
    """Aggregate: sum of the absolute amounts of customer-initiated transactions (storage units)."""
    return func.coalesce(
        func.sum(case((Transaction.customer_initiated.is_(True), func.abs(Transaction.amount)), else_=0)), 0
    )


def quintile(*order_by: Any) -> ColumnElement[Any]:
    """Window: the 1–5 score by rank over every row of the query, ascending by ``order_by``."""
    rank = func.rank().over(order_by=order_by)
    count = func.count().over()
    return 1 + (5 * (rank - 1)) // count
