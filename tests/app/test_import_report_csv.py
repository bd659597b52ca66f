"""The import's rejected-rows report (``--report FILE``): the file's values, never a formula to run."""

from __future__ import annotations

import csv
from pathlib import Path

from bankcti.cli.importing import write_report
from crm_core.importing.report import ImportReport, RowProblem

ROW = ('=HYPERLINK("http://evil.example","x")', "+8613800138000", "-12.50", "@cmd", "Zhang Wei")


def test_rejected_rows_report_shows_formulas_as_text(tmp_path: Path) -> None:
    report = ImportReport(
        encoding="UTF-8", delimiter=",", header=("name", "phone", "balance", "note", "=contact"),
        ignored_columns=(), rows=1, valid=0, imported=0, rejected=1, duplicates=0, dry_run=False,
        committed=False, emails_not_stored=0, customer_ids=(),
        problems=(RowProblem(line=2, column="name", reason="-name: bad", duplicate=False, values=ROW),),
    )  # fmt: skip
    path = tmp_path / "rejected.csv"
    write_report(report, path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header, row = list(csv.reader(fh))
    assert header == ["line", "column", "reason", "name", "phone", "balance", "note", "'=contact"]
    assert row == [
        "2", "name", "'-name: bad",
        # A plain number (phone, amount) has nothing to run: as in the file.
        "'=HYPERLINK(\"http://evil.example\",\"x\")", "+8613800138000", "-12.50", "'@cmd", "Zhang Wei",
    ]  # fmt: skip
