"""Pareto / ABC classes and the Pareto curve.

Customers are sorted by value (contribution, or month-average AUM)
descending; class A holds the customers up to 80 % of the cumulated
positive value, B the next 15 %, C the rest.  The customer who crosses a
line belongs to the class below it: with values 50, 30, 10, 5, 3, 2 (total
100) the value *before* each is 0, 50, 80, 90, 95, 98, so A = {50, 30}
(80 % reached), B = {10, 5}, C = {3, 2}; the share of customers in A is
2/6.  A value ≤ 0 is always C.  Ties are broken by customer id.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func

from crm_core.analytics.schemas import ParetoPoint

__all__ = ["A_LIMIT", "B_LIMIT", "abc_case", "abc_classes", "pareto_curve"]

#: Cumulative percentages closing class A and class B.
A_LIMIT = 80
B_LIMIT = 95


def abc_case(value: ColumnElement[Any], customer_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """Window: the ABC class of each row by ``value`` (storage units)."""
    positive = case((value > 0, value), else_=0)
    order = (value.desc(), customer_id)
    before = func.coalesce(func.sum(positive).over(order_by=order, rows=(None, -1)), 0)
    total = func.sum(positive).over()
    return case(
        (value <= 0, "C"),
        (before * 100 < total * A_LIMIT, "A"),
        (before * 100 < total * B_LIMIT, "B"),
        else_="C",
    )


def abc_classes(values: Sequence[Decimal]) -> list[str]:
    """The same rule in Python, for values in any order (the result follows the input order)."""
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    total = sum((v for v in values if v > 0), Decimal(0))
    out = ["C"] * len(values)
    before = Decimal(0)
    for i in order:
        value = values[i]
        if value > 0:
            if before * 100 < total * A_LIMIT:
                out[i] = "A"
            elif before * 100 < total * B_LIMIT:
                out[i] = "B"
            before += value
    return out


def pareto_curve(values_desc: Sequence[Decimal], points: int = 50) -> list[ParetoPoint]:
    """At most ``points`` + 1 points of cumulative value share vs customer share (values sorted desc)."""
    count = len(values_desc)
    positive = [max(v, Decimal(0)) for v in values_desc]
    total = sum(positive, Decimal(0))
    if count == 0 or total <= 0:
        return []
    out = [ParetoPoint(customer_share=0.0, value_share=0.0)]
    step = max(1, count // points)
    running = Decimal(0)
    for index, value in enumerate(positive, start=1):
        running += value
        if index % step == 0 or index == count:
            out.append(ParetoPoint(customer_share=index / count, value_share=float(running / total)))
    return out
