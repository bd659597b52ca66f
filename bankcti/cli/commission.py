"""``bankcti commission run --period YYYY-MM``: compute the month's statements and print one row per agent.

Open statements are recomputed; approved ones are frozen and shown as they
are (their later differences become adjustment lines of the next period
run).  Exit status: 0 done, 1 a bad period or an unusable database.
"""

from __future__ import annotations

import getpass
import logging
import sys
from decimal import Decimal
from typing import TextIO

from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from bankcti.settings import Settings
from crm_core.actor import Actor
from crm_core.commission.schemas import RunResult
from crm_core.commission.service import CommissionService
from crm_core.db import alembic_config, create_engine, current_revision, session_factory
from crm_core.errors import CrmError, InvalidInput

__all__ = ["commission_run", "print_run"]

log = logging.getLogger(__name__)

_HEADERS = ("agent", "status", "lines", "commission", "adjustments", "total")


def _operator() -> Actor:
    """The CLI acts as the system, named after the OS user for the audit log."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return Actor.system(f"cli:{user}"[:64])


def _fail(message: str) -> int:
    print(f"bankcti: {message}", file=sys.stderr, flush=True)
    return 1


def print_run(result: RunResult, out: TextIO) -> None:
    """The run as a table, one row per agent, then the period total."""
    rows = [
        (r.agent_login, r.status, str(r.lines), str(r.commission), str(r.adjustments), str(r.total))
        for r in result.rows
    ]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(_HEADERS)]

    def line(cells: tuple[str, ...]) -> str:
        # Text left, numbers right: columns of money line up on the decimal point.
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out.write(f"commission {result.period}\n")
    out.write(line(_HEADERS) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in rows:
        out.write(line(row) + "\n")
    frozen = sum(1 for r in result.rows if r.status == "approved")
    out.write(
        f"{len(rows)} statements ({frozen} approved, frozen), total {result.total or Decimal('0.00')}\n"
    )
    out.flush()


async def commission_run(settings: Settings, period: str, out: TextIO = sys.stdout) -> int:
    """Run ``period`` against the configured database; print the table; return the exit status."""
    url = settings.effective_database_url()
    try:
        revision = await current_revision(url)
    except SQLAlchemyError as exc:
        return _fail(f"cannot read the database: {type(exc).__name__}")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision != head:
        state = "has no schema yet" if revision is None else f"is at revision {revision}, not {head}"
        return _fail(f"the database {state}: run `bankcti db upgrade` first")
    engine = create_engine(url)
    try:
        result = await CommissionService(session_factory(engine)).run(_operator(), period)
    except InvalidInput as exc:
        return _fail(f"--{exc.field}: {exc.message}")
    except CrmError as exc:
        return _fail(str(exc))
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        log.error("commission.database_error", extra={"error": type(orig).__name__})
        return _fail(f"database error, nothing changed: {type(orig).__name__}")
    finally:
        await engine.dispose()
    print_run(result, out)
    return 0
