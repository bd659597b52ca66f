"""A call's legs in the history: first arrival kept, legs merged by key, totals derived, honest ends.

Every test runs on SQLite and PostgreSQL (the ``sessions`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.followups.interactions import InteractionWriter
from crm_core.models import InteractionLeg
from crm_core.schemas import CallEndRecord, InteractionRecord, LegRecord

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def writer(sessions: async_sessionmaker[AsyncSession]) -> InteractionWriter:
    return InteractionWriter(sessions)


def transferred_call(call: str) -> list[InteractionRecord | LegRecord]:
    """Anna talks 30 s, blind-transfers into ``cards``; bob answers after 15 s (the writes, in order)."""
    return [
        InteractionRecord(call_id=call, arrived_at=at(0), caller_number="+8613800000001"),
        LegRecord(call_id=call, leg_key="ivr-1", kind="ivr", started_at=at(0)),
        LegRecord(call_id=call, leg_key="ivr-1", ended_at=at(10), end_reason="routed"),
        InteractionRecord(call_id=call, queue="general", queued_at=at(10)),
        LegRecord(call_id=call, leg_key="queue-1", kind="queue", queue="general", started_at=at(10)),
        LegRecord(
            call_id=call,
            leg_key="agent-1",
            kind="agent",
            agent_login="anna",
            started_at=at(15),
            offered_at=at(15),
        ),
        LegRecord(call_id=call, leg_key="queue-1", ended_at=at(20), end_reason="answered"),
        LegRecord(call_id=call, leg_key="agent-1", answered_at=at(20)),
        InteractionRecord(call_id=call, answered_at=at(20), agent_login=None),
        LegRecord(call_id=call, leg_key="agent-1", ended_at=at(50), end_reason="transferred_blind"),
        # The second FastAGI session of the same Linkedid: a fresh arrival that must not win.
        InteractionRecord(call_id=call, arrived_at=at(50)),
        InteractionRecord(call_id=call, queue="cards", queued_at=at(50)),
        LegRecord(call_id=call, leg_key="queue-2", kind="queue", queue="cards", started_at=at(50)),
        LegRecord(call_id=call, leg_key="agent-2", kind="agent", agent_login="bob", started_at=at(60)),
        LegRecord(call_id=call, leg_key="queue-2", ended_at=at(65), end_reason="answered"),
        LegRecord(call_id=call, leg_key="agent-2", answered_at=at(65)),
        InteractionRecord(call_id=call, answered_at=at(65)),
    ]


async def apply(writer: InteractionWriter, writes: list[InteractionRecord | LegRecord]) -> None:
    for write in writes:
        if isinstance(write, LegRecord):
            await writer.upsert_leg(write)
        else:
            await writer.upsert(write)


async def test_a_transferred_call_keeps_its_first_arrival_and_every_leg(writer: InteractionWriter) -> None:
    call = "legs.1"
    await apply(writer, transferred_call(call))
    record = await writer.get(call)
    assert record is not None
    assert (record.arrived_at, record.queued_at, record.answered_at) == (at(0), at(10), at(20))
    assert record.queue == "cards"  # the latest queue, like the agent
    assert record.ended_at is None and record.outcome is None  # the call lives on with bob
    # Wait: both queue waits; talk unknown while bob's leg is open.
    assert await writer.totals(call) == (10.0 + 15.0, None, None)

    await writer.end_call(CallEndRecord(call_id=call, outcome="answered", ended_at=at(95)))
    legs = await writer.legs(call)
    assert [(leg.leg_key, leg.end_reason, leg.ended_at) for leg in legs] == [
        ("ivr-1", "routed", at(10)),
        ("queue-1", "answered", at(20)),
        ("agent-1", "transferred_blind", at(50)),
        ("queue-2", "answered", at(65)),
        ("agent-2", "completed", at(95)),
    ]
    assert await writer.totals(call) == (25.0, 30.0 + 30.0, None)
    assert await writer.durations(call) == (25.0, 60.0)
    ended = await writer.get(call)
    assert ended is not None and ended.ended_at == at(95) and ended.outcome == "answered"


async def test_replaying_the_writes_changes_nothing(
    writer: InteractionWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    call = "legs.2"
    writes = transferred_call(call)
    end = CallEndRecord(call_id=call, outcome="answered", ended_at=at(95))
    await apply(writer, writes)
    await writer.end_call(end)
    before = (await writer.get(call), await writer.legs(call), await writer.totals(call))
    # The spool replays from some point on (a crash between commit and rewrite): all of it again.
    await apply(writer, writes[3:])
    await writer.end_call(end)
    await apply(writer, writes)
    await writer.end_call(end)
    assert (await writer.get(call), await writer.legs(call), await writer.totals(call)) == before
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InteractionLeg)) == 5


async def test_bad_leg_input_is_refused_and_changes_nothing(writer: InteractionWriter) -> None:
    call = "legs.3"
    with pytest.raises(ValueError, match="leg kind"):
        await writer.upsert_leg(LegRecord(call_id=call, leg_key="x", kind="teleport", started_at=at(0)))
    with pytest.raises(ValueError, match="end reason"):
        await writer.upsert_leg(
            LegRecord(call_id=call, leg_key="x", kind="agent", started_at=at(0), end_reason="vanished")
        )
    with pytest.raises(ValueError, match="kind and start"):
        await writer.upsert_leg(LegRecord(call_id=call, leg_key="x", ended_at=at(5)))
    assert await writer.get(call) is None and await writer.legs(call) == []


async def test_holds_count_apart_and_an_open_call_is_listed(writer: InteractionWriter) -> None:
    call = "legs.4"
    await writer.upsert(InteractionRecord(call_id=call, arrived_at=at(0)))
    await writer.upsert_leg(
        LegRecord(call_id=call, leg_key="q", kind="queue", started_at=at(0), ended_at=at(4))
    )
    await writer.upsert_leg(
        LegRecord(
            call_id=call, leg_key="a", kind="agent", agent_login="anna", started_at=at(1), answered_at=at(4)
        )
    )
    await writer.upsert_leg(LegRecord(call_id=call, leg_key="h", kind="hold", started_at=at(10)))
    assert call in await writer.open_calls()
    await writer.upsert_leg(LegRecord(call_id=call, leg_key="h", ended_at=at(17), end_reason="resumed"))
    await writer.end_call(CallEndRecord(call_id=call, outcome="answered", ended_at=at(30)))
    assert await writer.totals(call) == (4.0, 26.0, 7.0)
    assert call not in await writer.open_calls()


async def test_a_call_that_ended_unobserved_gets_bounds_never_a_time(writer: InteractionWriter) -> None:
    call = "legs.5"
    await writer.upsert(InteractionRecord(call_id=call, arrived_at=at(0), answered_at=at(8)))
    await writer.upsert_leg(
        LegRecord(call_id=call, leg_key="q", kind="queue", started_at=at(0), ended_at=at(8))
    )
    await writer.upsert_leg(
        LegRecord(call_id=call, leg_key="a", kind="agent", started_at=at(2), answered_at=at(8))
    )
    # bankcti stopped observing the call (a shutdown): a fact about bankcti, not an end.
    await writer.upsert(InteractionRecord(call_id=call, last_seen_at=at(20)))
    stopped = await writer.get(call)
    assert stopped is not None and stopped.ended_at is None and stopped.outcome is None
    gone = CallEndRecord(call_id=call, outcome="ended_unobserved", found_gone_at=at(300))
    await writer.end_call(gone)
    await writer.end_call(gone)
    record = await writer.get(call)
    assert record is not None
    assert (record.outcome, record.ended_at) == ("ended_unobserved", None)
    assert (record.last_seen_at, record.found_gone_at) == (at(20), at(300))
    legs = await writer.legs(call)
    assert [(leg.leg_key, leg.end_reason, leg.ended_at) for leg in legs] == [
        ("q", None, at(8)),
        ("a", "ended_unobserved", None),
    ]
    assert await writer.totals(call) == (8.0, None, None)  # talk unknown, not a guess
