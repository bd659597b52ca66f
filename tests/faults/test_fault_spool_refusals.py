"""A spooled write the database refuses for good is set apart, and never holds the others back."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from crm_core.contact_center.acd_recorder import AcdRecorder
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.models.acd import QueueEvent


def _queue_event(n: int, customer_id: int | None) -> dict[str, object]:
    return {"type": "queue", "at": 1_800_000_000.0 + n, "call_id": f"c{n}", "event": "joined",
            "queue": "general", "agent_login": None, "customer_id": customer_id, "data": {},
            "key": f"{n:032x}"}  # fmt: skip


async def test_a_refused_record_is_rejected_to_its_file_and_the_rest_of_the_batch_is_stored(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    await upgrade(url)
    engine = create_engine(url)
    spool = tmp_path / "acd-spool.jsonl"
    # Two batches left by an outage; the first holds a call of a customer that no longer exists (foreign key).
    batches = [
        {"kind": "acd", "records": [_queue_event(0, None), _queue_event(1, 999_999), _queue_event(2, None)]},
        {"kind": "acd", "records": [_queue_event(3, None)]},
    ]
    spool.write_text("".join(json.dumps(batch) + "\n" for batch in batches), encoding="utf-8")
    recorder = AcdRecorder(session_factory(engine), spool_path=spool)
    try:
        await recorder.start()
        await recorder.close()
        async with session_factory(engine)() as session:
            stored = (await session.scalars(select(QueueEvent.call_id).order_by(QueueEvent.id))).all()
            count = await session.scalar(select(func.count()).select_from(QueueEvent))
        assert stored == ["c0", "c2", "c3"] and count == 3
        assert not spool.exists()
        rejected_file = spool.with_name("acd-spool.rejected.jsonl")
        rejected = [json.loads(line) for line in rejected_file.read_text().splitlines()]
        assert [entry["entry"]["call_id"] for entry in rejected] == ["c1"]
        assert "IntegrityError" in rejected[0]["error"]
    finally:
        await engine.dispose()
