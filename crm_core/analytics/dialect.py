"""The few SQL expressions that differ between SQLite and PostgreSQL in the analytics queries.

Money columns hold integer cents on SQLite and ``NUMERIC(18, 2)`` on
PostgreSQL (see :class:`crm_core.models.coltypes.Money`).  The analytics SQL works
in those *storage units* throughout: amounts read from one Money column are
written to another unchanged, and amounts from parameters are converted
with :meth:`Dialect.money` first.  Only the final rounding differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Numeric, cast, extract, func, literal

from crm_core.models.coltypes import UtcDateTime

__all__ = ["Dialect"]

_RATE = Numeric(14, 8)
_AMOUNT = Numeric(24, 8)


@dataclass(frozen=True)
class Dialect:
    """Builds backend-specific expressions; ``name`` is ``sqlite`` or ``postgresql``."""

    name: str

    @property
    def sqlite(self) -> bool:
        return self.name == "sqlite"

    def money(self, amount: Decimal) -> ColumnElement[Any]:
        """A money amount from Python, in storage units."""
        if self.sqlite:
            return literal(int((amount * 100).to_integral_value()), BigInteger)
        return literal(amount, _AMOUNT)

    def rate(self, value: Decimal) -> ColumnElement[Any]:
        """A dimensionless rate (margin, fee share) from Python."""
        if self.sqlite:
            return literal(float(value))
        return literal(value, _RATE)

    def number(self, value: float) -> ColumnElement[Any]:
        """A plain number (days, seconds) for arithmetic on amounts."""
        if self.sqlite:
            return literal(float(value))
        return literal(Decimal(str(value)), _AMOUNT)

    def round_money(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        """``expr`` (storage units) rounded to the cent, typed for a Money column."""
        if self.sqlite:
            return cast(func.round(expr), BigInteger)
        return cast(func.round(cast(expr, _AMOUNT), 2), Numeric(18, 2))

    def at(self, moment: datetime) -> ColumnElement[Any]:
        """An aware UTC moment bound the way timestamp columns store it."""
        return literal(moment, UtcDateTime())

    def days_before(self, moment: datetime, column: Any) -> ColumnElement[Any]:
        """Days (fractional) from ``column`` to ``moment``."""
        if self.sqlite:
            return func.julianday(self.at(moment)) - func.julianday(column)
        return extract("epoch", self.at(moment) - column) / self.number(86400)
