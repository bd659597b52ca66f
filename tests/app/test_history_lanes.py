"""The history's writer lanes: a call's writes in one lane, in order; a one-lane spool split and replayed."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from history_databases import BACKENDS, new_database_url
from sqlalchemy import select

from bankcti.history import ResilientHistory
from bankcti.history_lanes import entry_call_id, lane_of, lane_spool_path, lanes_for, split_spool
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import InteractionLeg
from crm_core.schemas import InteractionRecord, LegRecord
from crm_core.spool import FileSpool

CALLS = [f"1795907163.{n}" for n in range(24)]
LANES = 4
STEPS = 3  # outcome s0, s1, s2: the last one must win, so order matters


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = new_database_url(request.param, tmp_path)
    yield url
    await drop_database(url)


async def _spool_with_one_lane(tmp_path: Path) -> Path:
    """Every call's writes spooled by a one-lane writer whose database has no schema (each write fails)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-schema.db'}")
    spool = tmp_path / "history-spool.jsonl"
    history = ResilientHistory(InteractionWriter(session_factory(engine)), spool, retry_interval=60)
    at = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    try:
        for step in range(STEPS):  # the calls' steps interleaved, as calls in flight write them
            for call_id in CALLS:
                when = at + timedelta(seconds=step)
                await history.upsert(InteractionRecord(call_id=call_id, arrived_at=at, outcome=f"s{step}"))
                await history.upsert_leg(
                    LegRecord(call_id=call_id, leg_key=f"s{step}", kind="ivr", started_at=when)
                )
        assert history.waiting == len(CALLS) * STEPS * 2
    finally:
        await history.close()
        await engine.dispose()
    return spool


def test_lanes_by_database() -> None:
    assert lanes_for("postgresql") == LANES
    assert lanes_for("sqlite") == 1
    assert {lane_of(call_id, LANES) for call_id in CALLS} == set(range(LANES))  # the test covers every lane
    assert all(lane_of(call_id, 1) == 0 for call_id in CALLS)


async def test_a_one_lane_spool_is_split_by_call_in_order_and_a_crash_mid_split_duplicates_nothing(
    tmp_path: Path,
) -> None:
    spool = await _spool_with_one_lane(tmp_path)
    original = FileSpool(spool).read()
    moved = sum(1 for entry in original if lane_of(entry_call_id(entry) or "", LANES) != 0)
    assert moved > 0
    backup = tmp_path / "backup.jsonl"
    shutil.copy(spool, backup)

    assert split_spool(spool, LANES) == moved
    for lane in range(LANES):
        held = FileSpool(lane_spool_path(spool, lane)).read()
        # Exactly this lane's writes, in the order the one lane had them.
        assert held == [e for e in original if lane_of(entry_call_id(e) or "", LANES) == lane]

    # A crash after the lanes' files were written but before lane 0's was cut: the next split runs again.
    shutil.copy(backup, spool)
    assert split_spool(spool, LANES) == moved
    for lane in range(LANES):
        held = FileSpool(lane_spool_path(spool, lane)).read()
        assert held == [e for e in original if lane_of(entry_call_id(e) or "", LANES) == lane]
    assert split_spool(spool, LANES) == 0  # nothing left to move


async def test_lanes_replay_a_one_lane_spool_and_write_new_calls(db_url: str, tmp_path: Path) -> None:
    spool = await _spool_with_one_lane(tmp_path)
    await upgrade(db_url)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    history = ResilientHistory(InteractionWriter(sessions), spool, lanes=LANES)
    try:
        await history.start()  # split, then each lane replays its own spool
        assert history.lanes == LANES
        assert history.waiting == 0
        assert not any(lane_spool_path(spool, lane).exists() for lane in range(LANES))
        # New calls spread over the lanes, their steps queued without waiting, land in their order.
        fresh = [f"1795907999.{n}" for n in range(40)]
        futures = [
            history.queue_upsert(InteractionRecord(call_id=call_id, outcome=f"s{step}"))
            for step in range(STEPS)
            for call_id in fresh
        ]
        for future in futures:
            await future
        for call_id in CALLS + fresh:
            record = await history.writer.get(call_id)
            assert record is not None and record.outcome == f"s{STEPS - 1}", call_id
        async with sessions() as session:
            legs = set((await session.execute(select(InteractionLeg.call_id, InteractionLeg.leg_key))).all())
        assert legs == {(call_id, f"s{step}") for call_id in CALLS for step in range(STEPS)}
    finally:
        await history.close()
        await engine.dispose()
