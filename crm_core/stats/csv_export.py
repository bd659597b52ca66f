"""CSV of the contact-center reports (UTF-8 with a BOM, so Excel opens Chinese names correctly).

Every cell goes through :func:`crm_core.csvcells.csv_cell`: a queue, team or
agent name is user input, and a text cell a spreadsheet would run as a
formula is shown as text; figures stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from crm_core.csvcells import BOM, csv_text
from crm_core.stats.schemas import CSV_COLUMNS, IntervalSeries, StatsReport

__all__ = ["BOM", "report_csv", "rows_csv", "series_csv"]


def rows_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """``rows`` (mappings by column name) as CSV text with a header line."""
    return csv_text(columns, ([row.get(column) for column in columns] for row in rows), bom=True)


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
