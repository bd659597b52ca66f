"""The reference of ``bankcti bench history``: the same final rows through the plain driver's ``executemany``.

One interaction row and its three legs (IVR, queue, agent) per call, as the history holds them once the
call is over, written in one transaction with asyncpg (PostgreSQL) or sqlite3 (SQLite): no ORM, no merge,
no spool.  What the history's write path costs is measured against it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import make_url

__all__ = ["plain_driver_baseline"]


def _final_rows(
    prefix: str, calls: int, agent_id: int, agent: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    path = json.dumps([{"node": "welcome", "at": 1.0}, {"node": "menu", "at": 1.001}])
    rows, legs = [], []
    for n in range(calls):
        call_id = f"{prefix}-{n}"
        t = [now + timedelta(milliseconds=i) for i in range(5)]
        rows.append(
            (
                call_id,
                "phone",
                "inbound",
                "13800138000",
                "+8613800138000",
                "general",
                *t,
                "answered",
                agent_id,
                path,
                0.002,
                0.001,
                now,
                now,
            )
        )
        legs += [
            (call_id, f"ivr-{n}", "ivr", None, None, t[0], None, None, t[1], "routed"),
            (call_id, f"queue-{n}", "queue", "general", None, t[1], None, None, t[3], "answered"),
            (call_id, f"agent-{n}", "agent", "general", agent, t[2], t[2], t[3], t[4], "completed"),
        ]
    return rows, legs


_INSERT_ROW = (
    "INSERT INTO interactions (call_id, channel, direction, caller_number, caller_e164, queue, arrived_at, "
    "queued_at, offered_at, answered_at, ended_at, outcome, agent_id, ivr_path, wait_seconds, talk_seconds, "
    "created_at, updated_at) VALUES ({})"
)
_INSERT_LEG = (
    "INSERT INTO interaction_legs (interaction_id, call_id, leg_key, kind, queue, agent_login, started_at, "
    "offered_at, answered_at, ended_at, end_reason) SELECT id, {} FROM interactions WHERE call_id = {}"
)


async def plain_driver_baseline(
    url: str, prefix: str, calls: int, agent_id: int, agent: str
) -> dict[str, Any]:
    """The same final rows through the plain driver's executemany, in one transaction."""
    rows, legs = _final_rows(prefix, calls, agent_id, agent)
    if url.startswith("postgresql"):
        import asyncpg

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        insert_row = _INSERT_ROW.format(", ".join(f"${i}" for i in range(1, 19)))
        insert_leg = _INSERT_LEG.format(", ".join(f"${i}" for i in range(1, 11)), "$1::varchar")
        connection = await asyncpg.connect(dsn)
        try:
            started = time.perf_counter()
            async with connection.transaction():
                await connection.executemany(insert_row, rows)
                await connection.executemany(insert_leg, legs)
            seconds = time.perf_counter() - started
        finally:
            await connection.close()
    else:
        path = url.split("///", 1)[1]
        insert_row = _INSERT_ROW.format(", ".join(["?"] * 18))
        insert_leg = _INSERT_LEG.format(", ".join(["?"] * 10), "?")

        def write() -> float:
            connection = sqlite3.connect(path)
            try:
                started = time.perf_counter()
                with connection:
                    connection.executemany(insert_row, [_sqlite(row) for row in rows])
                    connection.executemany(insert_leg, [_sqlite((*leg, leg[0])) for leg in legs])
                return time.perf_counter() - started
            finally:
                connection.close()

        seconds = await asyncio.to_thread(write)
    return {"calls": calls, "seconds": round(seconds, 3), "interactions_per_s": round(calls / seconds, 1)}


def _sqlite(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in values)
