"""``bankcti import customers FILE``: run the CRM's CSV importer with a progress bar and a report.

The report goes to stdout (one line per rejected row and column, then the
summary ``imported N, rejected M, duplicates K``) and, with ``--report``, to
a CSV file (UTF-8 with a byte-order mark, so Excel shows Chinese names
right) with the columns ``line, column, reason`` followed by the row's
values as in the file, ID numbers masked, a cell a spreadsheet would run as
a formula prefixed with ``'`` (:func:`crm_core.csvcells.csv_cell`).  Progress goes to stderr: a bar
redrawn in place on a terminal, a plain line every tenth otherwise.

Exit status: 0 when the import (or the dry run) went through, 1 when rows
were rejected without ``--skip-bad`` (nothing imported) or the database
failed, 2 when the file or an option cannot be used.
"""

from __future__ import annotations

import csv
import getpass
import logging
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import phonenumbers
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from bankcti.settings import Settings
from crm_core.actor import Actor
from crm_core.csvcells import csv_cell
from crm_core.customers.accounts import load_or_create_pepper
from crm_core.db import alembic_config, create_engine, current_revision, session_factory
from crm_core.errors import InvalidInput
from crm_core.importing.importer import CustomerImporter, ImportFileError
from crm_core.importing.report import ImportReport

__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "EXIT_REJECTED", "ProgressBar", "import_customers", "write_report"]

log = logging.getLogger(__name__)

EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT = 0, 1, 2


class ProgressBar:
    """``progress(phase, done, total)`` drawn on ``stream``: ``validating [#####-----] 512/1000 rows``.

    On a terminal the bar is redrawn in place (at most every
    ``min_interval`` seconds, and always at the end of a phase); otherwise
    one plain line is written per tenth of the rows, so a log file gets a
    handful of lines rather than thousands of carriage returns.
    """

    def __init__(
        self, stream: TextIO, *, tty: bool | None = None, width: int = 30, min_interval: float = 0.1
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._width = width
        self._min_interval = min_interval
        self._last_draw = 0.0
        self._last_tenth: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if total <= 0:
            return
        finished = done >= total
        if self._tty:
            now = time.monotonic()
            if not finished and done and now - self._last_draw < self._min_interval:
                return
            self._last_draw = now
            filled = self._width * min(done, total) // total
            bar = "#" * filled + "-" * (self._width - filled)
            end = "\n" if finished else ""
            self._stream.write(f"\r{phase:<10} [{bar}] {done}/{total} rows{end}")
        else:
            tenth = 10 * min(done, total) // total
            if tenth == self._last_tenth.get(phase, -1):
                return
            self._last_tenth[phase] = tenth
            self._stream.write(f"{phase} {done}/{total} rows\n")
        self._stream.flush()


def write_report(report: ImportReport, path: Path) -> None:
    """Write the rejected rows of ``report`` to ``path`` as CSV (see the module docstring)."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow([csv_cell(c) for c in ("line", "column", "reason", *report.header)])
        for problem in report.problems:
            # The values are the file's, typed by anyone: a cell a spreadsheet would run is neutralised.
            cells = (problem.line, problem.column or "", problem.reason, *problem.values)
            writer.writerow([csv_cell(c) for c in cells])


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _print_report(report: ImportReport, path: Path, out: TextIO, *, skip_bad: bool) -> None:
    encoding = report.encoding if report.encoding != "GB18030" else "GB18030 (the file is not UTF-8)"
    out.write(f"{path.name}: {_rows(report.rows)}, read as {encoding}, {report.delimiter}-separated\n")
    if report.ignored_columns:
        names = ", ".join(repr(c) for c in report.ignored_columns)
        out.write(f"ignored columns (not known to the importer): {names}\n")
    for problem in report.problems:
        out.write(f"{problem}\n")
    if report.emails_not_stored:
        out.write(
            f"note: the email of {report.emails_not_stored} individual customers is not stored"
            " (only company contacts keep an email)\n"
        )
    bad = report.rejected + report.duplicates
    if report.dry_run:
        out.write(f"dry run: nothing written; {_rows(report.valid)} would be imported\n")
    elif bad and not skip_bad:
        out.write(
            f"nothing imported: {_rows(bad)} rejected; fix them, or use --skip-bad"
            f" to import the {_rows(report.valid)} without problems\n"
        )
    out.write(report.summary + "\n")
    out.flush()


def _operator() -> Actor:
    """The CLI acts as the system, named after the OS user for the audit log."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return Actor.system(f"cli:{user}"[:64])


def _report_path_problem(path: Path) -> str | None:
    if path.is_dir():
        return f"--report {path}: is a directory"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"--report {path}: no such directory {parent}"
    target = path if path.exists() else parent
    if not os.access(target, os.W_OK):
        return f"--report {path}: not writable"
    return None


def _head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _fail(message: str, code: int) -> int:
    print(f"bankcti: {message}", file=sys.stderr, flush=True)
    return code


async def import_customers(
    settings: Settings,
    path: Path,
    *,
    skip_bad: bool = False,
    owner: str | None = None,
    region: str | None = None,
    report_path: Path | None = None,
    dry_run: bool = False,
) -> int:
    """Import the customers of the CSV file ``path``; print the report; return the exit status."""
    region = (region or settings.phone_region).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return _fail(f"--region {region}: not a known phone region (e.g. CN, HK, US)", EXIT_BAD_INPUT)
    if report_path is not None and (problem := _report_path_problem(report_path)):
        return _fail(problem, EXIT_BAD_INPUT)
    # The data directory exists (the CLI refuses a missing one). The schema comes first: a
    # database that cannot take the rows must not leave a new pepper behind either.
    url = settings.effective_database_url()
    revision, head = await current_revision(url), _head_revision()
    if revision != head:
        state = "has no schema yet" if revision is None else f"is at revision {revision}, not {head}"
        return _fail(f"the database {state}: run `bankcti db upgrade` first", EXIT_REJECTED)
    try:
        pepper = load_or_create_pepper(settings.data_dir / "account-pepper")
    except ValueError as exc:
        return _fail(str(exc), EXIT_REJECTED)
    engine = create_engine(url)
    try:
        importer = CustomerImporter(session_factory(engine), pepper, region=region)
        report = await importer.import_file(
            _operator(),
            path,
            default_owner=owner,
            skip_bad=skip_bad,
            dry_run=dry_run,
            progress=ProgressBar(sys.stderr),
        )
    except ImportFileError as exc:
        return _fail(f"{path}: {exc}", EXIT_BAD_INPUT)
    except InvalidInput as exc:
        return _fail(f"--{exc.field}: {exc.message}", EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        # Only the driver's first line: SQLAlchemy's own text would repeat the statement's parameters.
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).splitlines()[0] if str(orig) else ""
        log.error("import.database_error", extra={"error": type(orig).__name__})
        return _fail(f"database error, nothing imported: {type(orig).__name__}: {first}", EXIT_REJECTED)
    finally:
        await engine.dispose()
    _print_report(report, path, sys.stdout, skip_bad=skip_bad)
    if report_path is not None:
        try:
            write_report(report, report_path)
        except OSError as exc:
            outcome = "the import went through" if report.committed else "nothing was imported"
            return _fail(f"--report {report_path}: {exc.strerror or exc} ({outcome})", EXIT_BAD_INPUT)
    bad = report.rejected + report.duplicates
    return EXIT_REJECTED if bad and not skip_bad else EXIT_OK
