"""A missed required wrap-up (``wrapup.missed``) reaches the call's row through the spooled history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from acd.events import BusEvent, WrapUpMissed
from bankcti.acd_setup import RecordingSink
from bankcti.history import ResilientHistory
from crm_core.contact_center.acd_store import AcdRecorder
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.followups.interactions import InteractionWriter
from crm_core.schemas import InteractionRecord


class Bus:
    def __init__(self) -> None:
        self.events: list[BusEvent] = []

    async def publish(self, event: BusEvent) -> None:
        self.events.append(event)


async def test_missed_wrapup_waits_out_a_database_outage_and_is_recorded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'late.db'}"
    engine = create_engine(url)  # no schema yet: every write fails, as in an outage
    history = ResilientHistory(InteractionWriter(session_factory(engine)), tmp_path / "spool.jsonl")
    bus = Bus()
    # The recorder only sees queue and agent events: this one never reaches it.
    sink = RecordingSink(bus, cast(AcdRecorder, object()), history)
    try:
        answered = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
        await history.upsert(InteractionRecord(call_id="1795907163.9", queue="cards", answered_at=answered))
        at = answered.timestamp() + 400
        event = WrapUpMissed(call_id="1795907163.9", agent_login="anna", queue="cards", at=at)
        await sink.publish(event)
        assert bus.events == [event]  # published at once, whatever the database does
        await sink.drain()
        assert history.waiting == 2  # the call and its mark wait in the spool, in order

        await upgrade(url)
        assert await history.replay() == 0
        record = await history.writer.get("1795907163.9")
        assert record is not None
        assert record.wrapup_missed_at == datetime.fromtimestamp(at, UTC)
        assert (record.queue, record.answered_at) == ("cards", answered)
    finally:
        await history.close()
        await engine.dispose()


async def test_without_a_history_the_event_is_only_published(tmp_path: Path) -> None:
    bus = Bus()
    sink = RecordingSink(bus, cast(Any, object()))
    event = WrapUpMissed(call_id="1.2", agent_login="anna", queue="cards")
    await sink.publish(event)
    await sink.drain()
    assert bus.events == [event]
