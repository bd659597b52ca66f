"""Child process of the kill -9 test: writes history steps as fast as it can and prints each acknowledged one.

``python history_crash_child.py DATABASE_URL SPOOL_PATH``: 20 calls write new legs (one leg per step,
``leg_key`` = the step number) and their row through :class:`bankcti.history.ResilientHistory`; a line
``call_id leg_key`` is printed (and flushed) only after the write returned.  It runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bankcti.history import ResilientHistory
from bankcti.history_lanes import lanes_for
from crm_core.db import create_engine, session_factory
from crm_core.followups.interactions import InteractionWriter
from crm_core.schemas import InteractionRecord, LegRecord


async def main(url: str, spool: Path) -> None:
    engine = create_engine(url)
    lanes = lanes_for(engine.dialect.name)  # as the service runs it: four lanes on PostgreSQL
    history = ResilientHistory(InteractionWriter(session_factory(engine)), spool, max_batch=64, lanes=lanes)
    await history.start()
    print("ready", flush=True)

    async def call(n: int) -> None:
        call_id = f"crash.{n}"
        step = 0
        while True:
            at = datetime.now(UTC)
            await history.upsert(InteractionRecord(call_id=call_id, arrived_at=at, outcome=f"s{step}"))
            await history.upsert_leg(
                LegRecord(call_id=call_id, leg_key=f"s{step}", kind="ivr", started_at=at)
            )
            sys.stdout.write(f"{call_id} s{step}\n")
            sys.stdout.flush()
            step += 1

    await asyncio.gather(*(call(n) for n in range(20)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
