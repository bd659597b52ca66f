"""``bankcti analytics run`` and ``bankcti bench analytics``.

``analytics run`` segments the configured database now and prints the
run's summary (a progress bar goes to stderr, plain text).  ``bench
analytics`` creates a scratch PostgreSQL database, fills it with
customers, accounts and N transactions server-side (``generate_series``),
times one segmentation run and drops the database again.
"""

from __future__ import annotations

import asyncio
import json
import platform
import secrets
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from alembic.script import ScriptDirectory
from sqlalchemy import make_url, text

from bankcti.settings import Settings
from crm_core.analytics.runner import SegmentationRunner
from crm_core.analytics.schemas import RunSummary
from crm_core.db import (
    alembic_config,
    create_engine,
    current_revision,
    drop_database,
    session_factory,
    upgrade,
)
from crm_core.parameters.store import ParameterStore

__all__ = ["ProgressBar", "analytics_run", "bench_analytics", "summary_table"]

BENCH_GOAL_SECONDS = 60.0


class ProgressBar:
    """``[#####.....] customers 3/5`` redrawn in place on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self._stream = stream
        self._width = width

    def __call__(self, step: str, done: int, total: int) -> None:
        filled = self._width * done // max(total, 1)
        bar = "#" * filled + "." * (self._width - filled)
        end = "\n" if done >= total else ""
        self._stream.write(f"\r[{bar}] {step:<10} {done}/{total}{end}")
        self._stream.flush()


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


_FILL = """
INSERT INTO customers (name, kind, tier, status, deal_status, source, created_at, updated_at)
SELECT 'Bench ' || g, 'individual', 'standard', 'public', 'none', 'import', now(), now()
FROM generate_series(1, :customers) AS g;
INSERT INTO accounts (customer_id, type, number_last4, number_hash, balance, currency, status, pin_failures)
SELECT c.id, 'deposit', '0000', md5('d' || c.id),
       round((3000 * power(1 - random(), -1 / 1.16))::numeric, 2), 'CNY', 'active', 0
FROM customers c;
INSERT INTO transactions
    (account_id, customer_id, occurred_at, amount, channel, customer_initiated, description)
SELECT a.id, a.customer_id, now() - (random() * 365) * interval '1 day',
       round(((random() - 0.6) * 2000)::numeric, 2),
       (ARRAY['pos','mobile','online','atm','transfer'])[1 + floor(random() * 5)::int],
       random() < 0.8, ''
FROM generate_series(1, :transactions) AS g
JOIN accounts a ON a.id = 1 + (g % :customers);
INSERT INTO interactions
    (channel, direction, customer_id, arrived_at, talk_seconds, urgent, created_at, updated_at)
SELECT 'phone', 'inbound', 1 + (g % :customers), now() - (random() * 365) * interval '1 day',
       60 + random() * 600, false, now(), now()
FROM generate_series(1, :customers) AS g;
"""


async def bench_analytics(
    settings: Settings, *, transactions: int, customers: int, json_path: Path | None
) -> int:
    """Time one segmentation of ``transactions`` transactions on a scratch PostgreSQL database."""
    base = settings.effective_database_url()
    if not base.startswith("postgresql"):
        print(
            "bankcti: bench analytics needs PostgreSQL: set database_url to a postgresql+asyncpg:// URL "
            "(a scratch database is created next to it and dropped)",
            file=sys.stderr,
        )
        return 1
    if transactions < 1 or customers < 1:
        print("bankcti: --transactions and --customers must be >= 1", file=sys.stderr)
        return 1
    if json_path is not None and not json_path.parent.is_dir():
        # Checked first: a benchmark of a minute should not end in a lost result.
        print(f"bankcti: --json: no such directory: {json_path.parent}", file=sys.stderr)
        return 1
    url = make_url(base).set(database=f"bankcti_bench_{secrets.token_hex(4)}").render_as_string(False)
    result: dict[str, Any] = {}
    try:
        await upgrade(url)
        engine = create_engine(url)
        try:
            started = time.perf_counter()
            async with engine.begin() as connection:
                for statement in filter(str.strip, _FILL.split(";")):
                    await connection.execute(
                        text(statement), {"customers": customers, "transactions": transactions}
                    )
                await connection.execute(text("ANALYZE"))
            fill_seconds = time.perf_counter() - started
            sessions = session_factory(engine)
            started = time.perf_counter()
            summary = await SegmentationRunner(sessions, ParameterStore(sessions)).run(
                trigger="bench", progress=ProgressBar()
            )
            seconds = time.perf_counter() - started
        finally:
            await engine.dispose()
    finally:
        await drop_database(url)
    result = {
        "benchmark": "analytics",
        "transactions": transactions,
        "customers": customers,
        "fill_seconds": round(fill_seconds, 2),
        "segment_seconds": round(seconds, 2),
        "goal_seconds": BENCH_GOAL_SECONDS,
        "goal_met": seconds < BENCH_GOAL_SECONDS,
        "a_share_contribution": summary.a_share_contribution,
        "a_share_aum": summary.a_share_aum,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(_table([(k, str(v)) for k, v in result.items()]))
    if json_path is not None:
        await asyncio.to_thread(json_path.write_text, json.dumps(result, indent=2) + "\n")
        print(f"written: {json_path}")
    return 0
