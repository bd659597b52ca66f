"""CSV of the contact-center reports (UTF-8 with a BOM, so Excel opens Chinese names correctly).

A text cell that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or CR) is prefixed with ``'``: a queue or team
name is user input.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from crm_core.stats.schemas import CSV_COLUMNS, IntervalSeries, StatsReport

__all__ = ["BOM", "report_csv", "rows_csv", "series_csv"]

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def rows_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """``rows`` (mappings by column name) as CSV text with a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return BOM + buffer.getvalue()


def report_csv(report: StatsReport) -> str:
    """One line per row of the report, every figure a column (:data:`CSV_COLUMNS`)."""
    return rows_csv(CSV_COLUMNS, (row.model_dump() for row in report.rows))


def series_csv(series: IntervalSeries) -> str:
    """One line per queue and 15-minute interval."""
    columns = ("queue", "start", "offered", "answered", "abandoned", "service_level")
    return rows_csv(
        columns,
        (
            {"queue": queue, **point.model_dump()}
            for queue, points in series.queues.items()
            for point in points
        ),
    )
