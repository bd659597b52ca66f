"""``bankcti analytics run``: segment the configured database now and print the run's summary.

A progress bar goes to stderr (plain text).  The benchmark of the same run is
:mod:`bankcti.bench.analytics`.
"""

from __future__ import annotations

import sys
from typing import TextIO

from alembic.script import ScriptDirectory

from bankcti.progress import ProgressBar
from bankcti.settings import Settings
from crm_core.analytics.runner import SegmentationRunner
from crm_core.analytics.schemas import RunSummary
from crm_core.db import (
    alembic_config,
    create_engine,
    current_revision,
    session_factory,
)
from crm_core.parameters.store import ParameterStore

__all__ = ["analytics_run", "summary_table"]


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def summary_table(summary: RunSummary) -> str:
    """The run's summary as the CLI prints it."""
    abc = summary.abc_contribution
    aum = summary.abc_aum
    rows = [
        ("run", f"#{summary.id} ({summary.status}, computed on {summary.computed_on})"),
        ("customers", str(summary.customers)),
        ("transactions", str(summary.transactions)),
        ("ABC by contribution", " ".join(f"{c}={abc.get(c, 0)}" for c in "ABC")),
        ("customers in A (contribution)", _share(summary.a_share_contribution)),
        ("ABC by AUM", " ".join(f"{c}={aum.get(c, 0)}" for c in "ABC")),
        ("customers in A (AUM)", _share(summary.a_share_aum)),
        ("AUM tiers", " ".join(f"{t}={n}" for t, n in sorted(summary.tiers.items()))),
        ("churn flags", " ".join(f"{k}={v}" for k, v in summary.churn.items())),
        ("total contribution", f"{summary.contribution_total:,} CNY"),
    ]
    return _table(rows)


async def _check_schema(url: str) -> str | None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    revision = await current_revision(url)
    if revision != head:
        state = "has no schema yet" if revision is None else f"is at revision {revision}, not {head}"
        return f"the database {state}: run `bankcti db upgrade` first"
    return None


async def analytics_run(settings: Settings, *, stream: TextIO = sys.stderr) -> int:
    """Segment the configured database now; print the summary table (exit 0, 1 if unusable)."""
    url = settings.effective_database_url()
    problem = await _check_schema(url)
    if problem is not None:
        print(f"bankcti: {problem}", file=sys.stderr)
        return 1
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        runner = SegmentationRunner(sessions, ParameterStore(sessions))
        summary = await runner.run(trigger="cli", progress=ProgressBar(stream))
    finally:
        await engine.dispose()
    print(summary_table(summary))
    return 0
