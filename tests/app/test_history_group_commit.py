"""The history's group commit: per-call order and the merge rules kept; a refusal loses no other write."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from history_databases import BACKENDS, new_database_url
from sqlalchemy import select, text

from bankcti.history import ResilientHistory
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import Interaction, InteractionLeg
from crm_core.schemas import CallEndRecord, InteractionRecord, LegRecord

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = new_database_url(request.param, tmp_path)
    await upgrade(url)
    yield url
    await drop_database(url)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_a_refused_write_in_a_batch_keeps_the_others(db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    history = ResilientHistory(InteractionWriter(session_factory(engine)), tmp_path / "spool.jsonl")
    try:
        writes = [history.upsert(InteractionRecord(call_id=f"ok.{n}", outcome="answered")) for n in range(20)]
        # A leg's first write without its kind and start: refused for good (ValueError), in the same batches.
        refused = history.upsert_leg(LegRecord(call_id="ok.3", leg_key="no-kind", end_reason="completed"))
        results = await asyncio.gather(*writes[:10], refused, *writes[10:], return_exceptions=True)
        assert isinstance(results[10], ValueError)  # the caller of the refused write is told
        assert [r for n, r in enumerate(results) if n != 10] == [None] * 20
        for n in range(20):
            stored = await history.writer.get(f"ok.{n}")
            assert stored is not None and stored.outcome == "answered"
        assert await history.writer.legs("ok.3") == []
        assert not (tmp_path / "spool.jsonl").exists()  # nothing was spooled: the database took the rest
    finally:
        await history.close()
        await engine.dispose()


async def test_replay_moves_only_the_refused_entry_of_a_batch_to_the_rejected_file(
    db_url: str, tmp_path: Path
) -> None:
    spool = tmp_path / "spool.jsonl"
    records = [InteractionRecord(call_id=f"r.{n}", outcome="answered") for n in range(6)]
    good = [{"kind": "upsert", "record": record.model_dump(mode="json")} for record in records]
    bad = {"kind": "leg", "leg": {"call_id": "r.1", "leg_key": "x", "end_reason": "completed"}}
    spool.write_text("".join(json.dumps(e) + "\n" for e in [*good[:3], bad, *good[3:]]))
    engine = create_engine(db_url)
    history = ResilientHistory(InteractionWriter(session_factory(engine)), spool, max_batch=50)
    try:
        await history.start()
        assert not spool.exists()
        assert await history.writer.count() == 6
        rejected = [json.loads(line) for line in (tmp_path / "spool.rejected.jsonl").read_text().splitlines()]
        assert [r["entry"] for r in rejected] == [bad]
        assert "ValueError" in rejected[0]["error"]
    finally:
        await history.close()
        await engine.dispose()


async def test_concurrent_calls_merge_in_order(db_url: str, tmp_path: Path) -> None:
    """Many calls, each a chain of steps, interleaved across batches: the rows the merge rules give."""
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    history = ResilientHistory(InteractionWriter(sessions), tmp_path / "spool.jsonl", max_batch=7)
    rng = random.Random(15)
    calls = 30

    async def call(n: int) -> None:
        call_id = f"c.{n}"
        pending = []  # not awaited one by one: the group commit alone must keep them in order
        for step in range(6):
            pending.append(asyncio.ensure_future(history.upsert(InteractionRecord(
                call_id=call_id, arrived_at=_at(step), outcome=f"step{step}",
                queue=f"q{step}" if step % 2 == 0 else None,
            ))))  # fmt: skip
            if rng.random() < 0.5:
                await asyncio.sleep(0)
        pending.append(asyncio.ensure_future(history.upsert_leg(
            LegRecord(call_id=call_id, leg_key="q", kind="queue", started_at=_at(1))
        )))  # fmt: skip
        pending.append(asyncio.ensure_future(history.upsert_leg(
            LegRecord(call_id=call_id, leg_key="q", ended_at=_at(4), end_reason="answered")
        )))  # fmt: skip
        pending.append(asyncio.ensure_future(history.upsert_leg(
            LegRecord(call_id=call_id, leg_key="a", kind="agent", started_at=_at(3), answered_at=_at(4))
        )))  # fmt: skip
        pending.append(asyncio.ensure_future(history.end_call(
            CallEndRecord(call_id=call_id, outcome="answered", ended_at=_at(10 + n))
        )))  # fmt: skip
        await asyncio.gather(*pending)

    try:
        await asyncio.gather(*(call(n) for n in range(calls)))
        async with sessions() as session:
            rows = {r.call_id: r for r in (await session.execute(select(Interaction))).scalars()}
            legs = (await session.execute(select(InteractionLeg))).scalars().all()
        assert len(rows) == calls
        for n in range(calls):
            row = rows[f"c.{n}"]
            assert row.arrived_at is not None and row.arrived_at.replace(tzinfo=UTC) == _at(0)  # first wins
            assert row.queue == "q4"  # last given wins; None keeps it
            assert row.outcome == "answered"  # the end came last
            assert row.ended_at is not None and row.ended_at.replace(tzinfo=UTC) == _at(10 + n)
            assert (row.wait_seconds, row.talk_seconds) == (3.0, 6.0 + n)  # derived from the legs
            mine = {leg.leg_key: leg for leg in legs if leg.call_id == f"c.{n}"}
            assert mine["q"].end_reason == "answered"
            assert mine["a"].end_reason == "completed"  # closed by the end, after it was answered
    finally:
        await history.close()
        await engine.dispose()


@pytest.mark.postgres
async def test_the_kept_connection_killed_by_the_server_loses_nothing(tmp_path: Path) -> None:
    """The group commit keeps one connection between batches; PostgreSQL ends it (an admin, a failover):
    the next batch fails, is spooled, and lands on a fresh connection — every write stored, none twice."""
    url = new_database_url("postgresql", tmp_path)
    await upgrade(url)
    engine = create_engine(url)
    history = ResilientHistory(
        InteractionWriter(session_factory(engine)), tmp_path / "spool.jsonl", retry_interval=0.2
    )
    try:
        await history.start()
        await history.upsert(InteractionRecord(call_id="kept.0", outcome="answered"))
        async with engine.connect() as admin:
            ended = await admin.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert ended == 1  # the writer's kept connection (the admin's is the only other one)
        await asyncio.gather(
            *(
                history.upsert(InteractionRecord(call_id=f"kept.{n}", outcome="answered"))
                for n in range(1, 30)
            )
        )
        async with asyncio.timeout(15):
            await history.emptied()
        async with session_factory(engine)() as session:
            stored = (
                await session.scalars(select(Interaction.call_id).where(Interaction.call_id.like("kept.%")))
            ).all()
        assert sorted(str(call_id) for call_id in stored) == sorted(f"kept.{n}" for n in range(30))
    finally:
        await history.close()
        await engine.dispose()
        await drop_database(url)
