"""``bankcti bench analytics``: how long one segmentation of N transactions takes on PostgreSQL.

It creates a scratch PostgreSQL database next to ``database_url``, fills it with customers, accounts and N
transactions server-side (``generate_series``), times one segmentation run (the same
:class:`~crm_core.analytics.runner.SegmentationRunner` as ``bankcti analytics run``) and drops the database.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

from bankcti.bench.report import host_facts, table_rows
from bankcti.progress import ProgressBar
from bankcti.settings import Settings
from crm_core.analytics.runner import SegmentationRunner
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.parameters.store import ParameterStore

__all__ = ["BENCH_GOAL_SECONDS", "bench_analytics"]

BENCH_GOAL_SECONDS = 60.0


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


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
        "host": host_facts(),
    }
    print(_table(table_rows(result)))
    if json_path is not None:
        await asyncio.to_thread(json_path.write_text, json.dumps(result, indent=2) + "\n")
        print(f"written: {json_path}")
    return 0
