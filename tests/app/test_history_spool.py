"""The follow-up history survives a database that is not there."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from bankcti.history import ResilientHistory
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.followups.interactions import InteractionWriter
from crm_core.schemas import InteractionRecord, IvrStep


async def test_writes_spool_while_the_database_is_missing_and_replay_in_order(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'late.db'}"
    engine = create_engine(url)  # the schema does not exist yet: every write fails
    spool = tmp_path / "spool.jsonl"
    history = ResilientHistory(InteractionWriter(session_factory(engine)), spool, retry_interval=0.05)
    try:
        arrived = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
        await history.upsert(
            InteractionRecord(
                call_id="1795907163.4",
                caller_number="+8613800138000",
                arrived_at=arrived,
                ivr_path=[IvrStep(node="welcome", at=1.0)],
            )
        )
        await history.upsert(InteractionRecord(call_id="1795907163.4", outcome="answered"))
        # A note spooled by a version before the one wrap-up path is still applied, in its place.
        lines = spool.read_text().splitlines()
        legacy = {"kind": "note", "call_id": "1795907163.4", "agent_login": "anna", "notes": "called back",
                  "disposition": "resolved"}  # fmt: skip
        spool.write_text("\n".join([lines[0], json.dumps(legacy), *lines[1:]]) + "\n")
        lines = spool.read_text().splitlines()
        assert [json.loads(line)["kind"] for line in lines] == ["upsert", "note", "upsert"]

        assert await history.replay() == 3  # still no schema: nothing applied, nothing lost
        await upgrade(url)
        assert await history.replay() == 0
        assert not spool.exists()

        record = await history.writer.get("1795907163.4")
        assert record is not None
        assert record.outcome == "answered"
        assert record.notes == "called back"
        assert record.disposition == "resolved"
        assert record.ivr_path is not None and record.ivr_path[0].node == "welcome"
        assert await history.writer.count() == 1
    finally:
        await history.close()
        await engine.dispose()


async def test_a_spool_left_by_a_crash_is_replayed_at_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.db'}"
    await upgrade(url)
    spool = tmp_path / "spool.jsonl"
    record = InteractionRecord(call_id="42.1", outcome="abandoned_in_ivr")
    spool.write_text(
        json.dumps({"kind": "upsert", "record": record.model_dump(mode="json")})
        + "\n"
        + '{"kind": "upse'  # torn
    )
    engine = create_engine(url)
    history = ResilientHistory(InteractionWriter(session_factory(engine)), spool, retry_interval=0.05)
    try:
        await history.start()
        for _ in range(100):
            if not spool.exists():
                break
            await asyncio.sleep(0.02)
        assert not spool.exists()
        stored = await history.writer.get("42.1")
        assert stored is not None and stored.outcome == "abandoned_in_ivr"
    finally:
        await history.close()
        await engine.dispose()
