"""What a customer import returns: counts and every rejected row with its reasons (pydantic)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ImportReport", "RowProblem"]


class RowProblem(BaseModel):
    """One reason a row was rejected; a row with several bad columns has several problems.

    ``line`` is the row's first line in the file (the header is line 1).
    ``column`` is the importer's column name (``None`` when the row as a
    whole is wrong, e.g. too many values).  ``duplicate`` is true when the
    row is rejected because the customer is already known.  ``values`` are
    the row's fields as in the file, ID numbers masked.
    """

    model_config = ConfigDict(frozen=True)

    line: int
    column: str | None
    reason: str
    duplicate: bool
    values: tuple[str, ...]

    def __str__(self) -> str:
        where = f"row {self.line}" if self.column is None else f"row {self.line} ({self.column})"
        return f"{where}: {self.reason}"


class ImportReport(BaseModel):
    """The outcome of one import.

    Each data row is counted once: ``imported`` (or, when nothing was
    written, ``valid``), ``rejected`` (a bad value) or ``duplicates`` (only
    duplicate problems).  ``committed`` is true when the customers were
    written; an atomic import with a bad row, and a dry run, write nothing.
    ``emails_not_stored`` counts individual customers whose email column was
    ignored: only company contacts keep an email.
    """

    model_config = ConfigDict(frozen=True)

    encoding: str
    delimiter: str
    header: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: int
    valid: int
    imported: int
    rejected: int
    duplicates: int
    dry_run: bool
    committed: bool
    emails_not_stored: int
    customer_ids: tuple[int, ...]
    problems: tuple[RowProblem, ...]

    @property
    def summary(self) -> str:
        """``imported N, rejected M, duplicates K``."""
        return f"imported {self.imported}, rejected {self.rejected}, duplicates {self.duplicates}"
