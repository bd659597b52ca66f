"""Commission statements and lines as CSV (UTF-8, header row, one statement or line per row).

A text cell starting with ``=``, ``+``, ``@`` or a control character is
prefixed with ``'`` so that a spreadsheet shows it rather than running it
(names and notes are typed by people); numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from crm_core.commission.schemas import StatementSummary, StatementView

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
_FORMULA = ("=", "+", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _write(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


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
