"""CSV cells that a spreadsheet shows and never runs (CSV or formula injection).

Every CSV the service writes — contact-center reports, CRM statistics,
segmentation, commission statements, the import's rejected-rows report —
turns each value into text with :func:`csv_cell`, so the rule lives here
once.  Following OWASP's "CSV Injection" guidance, a text cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a
single quote: Excel and LibreOffice then show it as text instead of
evaluating it (``=HYPERLINK(…)``, ``@SUM(…)``, ``-2+3+cmd|' /C calc'!A0``).
Names, notes, queue names and imported rows are typed by people, some of
them outside the bank.

Numbers stay numbers.  A value that *is* a number (``int``, ``float``,
``Decimal``) is written as it is, sign included: ``-12.50`` in an amount
column must stay a figure a spreadsheet can sum, and it cannot carry a
formula because our code produced it.  A text cell that is exactly a plain
decimal number (``-12.50``, ``+3``) is left alone too: a spreadsheet reads
it as that number, and without an operator or a function after the sign
there is nothing to run.  Anything else after a leading sign
(``-1+cmd|…``, ``-SUM(A1)``) is prefixed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

__all__ = ["BOM", "FORMULA_START", "csv_cell", "csv_text"]

BOM = "\ufeff"
#: First characters that make a spreadsheet evaluate a cell (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def csv_cell(value: object) -> str:
    """``value`` as the text of one CSV cell, neutralised if a spreadsheet would run it.

    ``None`` is empty, a boolean ``1``/``0``, a date or time ISO 8601, a
    number as it is; any other value is its ``str`` with a leading ``'``
    when it starts with one of :data:`FORMULA_START` and is not a plain number.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(columns: Sequence[str], rows: Iterable[Iterable[object]], *, bom: bool = False) -> str:
    """A header line and one line per row, every cell through :func:`csv_cell`, CRLF line ends.

    ``bom`` starts the text with a byte-order mark, so that Excel reads
    UTF-8 (Chinese names) correctly.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return (BOM if bom else "") + buffer.getvalue()
