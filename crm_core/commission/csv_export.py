"""Commission statements and lines as CSV (UTF-8, header row, one statement or line per row).

Every cell goes through :func:`crm_core.csvcells.csv_cell`: a text cell a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is
prefixed with ``'`` (names and notes are typed by people); amounts, negative
adjustments included, are written as the numbers they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crm_core.commission.schemas import StatementSummary, StatementView
from crm_core.csvcells import csv_text

__all__ = ["LINE_COLUMNS", "STATEMENT_COLUMNS", "lines_csv", "statements_csv"]

STATEMENT_COLUMNS = (
    "statement_id", "period", "agent_login", "agent_name", "status", "lines", "commission", "adjustments",
    "total", "approved_at", "approved_by",
)  # fmt: skip
LINE_COLUMNS = (
    "statement_id", "period", "agent_login", "line_id", "kind", "for_period", "event", "event_on",
    "contract_id", "contract_number", "payment_id", "rule_id", "base", "share_percent", "credited",
    "commission", "rate",
)  # fmt: skip


def _write(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    return csv_text(columns, rows)


def statements_csv(statements: Iterable[StatementSummary]) -> str:
    """One row per statement (:data:`STATEMENT_COLUMNS`)."""
    return _write(
        STATEMENT_COLUMNS,
        (
            (s.id, s.period, s.agent_login, s.agent_name, s.status, s.lines, s.commission, s.adjustments,
             s.total, s.approved_at, s.approved_by)
            for s in statements
        ),
    )  # fmt: skip


def lines_csv(statements: Iterable[StatementView]) -> str:
    """One row per line of the given statements (:data:`LINE_COLUMNS`)."""
    return _write(
        LINE_COLUMNS,
        (
            (s.id, s.period, s.agent_login, li.id, li.kind, li.for_period, li.event, li.event_on,
             li.contract_id, li.contract_number, li.payment_id, li.rule_id, li.base, li.share_percent,
             li.credited, li.commission, li.rate)
            for s in statements
            for li in s.items
        ),
    )  # fmt: skip
