"""The follow-up history writer: idempotent upserts, merging, races, agents' notes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.directory import CustomerDirectory
from crm_core.followups.interactions import InteractionWriter, call_durations
from crm_core.schemas import InteractionRecord, IvrStep

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
async def writer(sessions: async_sessionmaker[AsyncSession]) -> InteractionWriter:
    agents = AgentDirectory(sessions)
    await agents.create_agent("agent1", "Liu Yang", "pw", extension="1001")
    await agents.create_agent("super1", "Zhou Min", "pw", extension="1900", role="supervisor")
    return InteractionWriter(sessions)


async def test_upsert_is_idempotent(writer: InteractionWriter) -> None:
    record = InteractionRecord(call_id="1700000000.1", caller_number="13812345678", arrived_at=T0)
    first = await writer.upsert(record)
    assert await writer.upsert(record) == first
    assert await writer.count() == 1
    assert await writer.get("1700000000.1") == record
    assert await writer.get("no-such-call") is None


async def test_upsert_merges_partial_updates(
    writer: InteractionWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer_id = await CustomerDirectory(sessions).create_customer("Alice Wang")
    call = "1700000000.2"
    ivr = [
        IvrStep(node="main", at=T0.timestamp(), keys="1", result="accounts"),
        IvrStep(node="auth", at=T0.timestamp() + 5, keys="****", result="ok"),
    ]
    await writer.upsert(
        InteractionRecord(
            call_id=call,
            caller_number="+8613812345678",
            caller_e164="+8613812345678",
            customer_id=customer_id,
            arrived_at=T0,
            ivr_path=ivr[:1],
        )
    )
    await writer.upsert(
        InteractionRecord(call_id=call, queue="accounts", queued_at=T0 + timedelta(seconds=20), ivr_path=ivr)
    )
    await writer.upsert(
        InteractionRecord(
            call_id=call,
            agent_login="agent1",
            offered_at=T0 + timedelta(seconds=50),
            answered_at=T0 + timedelta(seconds=55),
        )
    )
    await writer.upsert(
        InteractionRecord(call_id=call, ended_at=T0 + timedelta(seconds=175), outcome="answered")
    )
    stored = await writer.get(call)
    assert stored is not None
    assert stored.caller_e164 == "+8613812345678" and stored.customer_id == customer_id
    assert stored.queue == "accounts" and stored.agent_login == "agent1" and stored.outcome == "answered"
    assert stored.ivr_path == ivr  # replaced by the longer path
    assert (stored.arrived_at, stored.ended_at) == (T0, T0 + timedelta(seconds=175))
    assert await writer.durations(call) == (35.0, 120.0)  # queued→answered, answered→ended
    assert await writer.count() == 1


async def test_none_never_overwrites_and_defaults_only_when_explicit(writer: InteractionWriter) -> None:
    call = "out-1"
    await writer.upsert(
        InteractionRecord(
            call_id=call, direction="outbound", channel="phone", queue="cards", notes="called back"
        )
    )
    # A later record built with defaults (direction="inbound") must not flip the direction.
    await writer.upsert(InteractionRecord(call_id=call, outcome="answered"))
    stored = await writer.get(call)
    assert stored is not None
    assert (stored.direction, stored.queue, stored.notes, stored.outcome) == (
        "outbound",
        "cards",
        "called back",
        "answered",
    )
    await writer.upsert(InteractionRecord(call_id=call, channel="ivr"))
    stored = await writer.get(call)
    assert stored is not None and stored.channel == "ivr"


async def test_unknown_links_keep_what_is_stored(writer: InteractionWriter) -> None:
    await writer.upsert(InteractionRecord(call_id="c", agent_login="agent1"))
    await writer.upsert(InteractionRecord(call_id="c", agent_login="ghost", customer_id=424242))
    stored = await writer.get("c")
    assert stored is not None and (stored.agent_login, stored.customer_id) == ("agent1", None)


async def test_abandoned_call_waits_until_hang_up(writer: InteractionWriter) -> None:
    await writer.upsert(InteractionRecord(call_id="ab", queued_at=T0))
    assert await writer.durations("ab") == (None, None)
    await writer.upsert(
        InteractionRecord(call_id="ab", ended_at=T0 + timedelta(seconds=42), outcome="abandoned_in_queue")
    )
    assert await writer.durations("ab") == (42.0, None)
    assert await writer.durations("nope") is None


def test_call_durations_rules() -> None:
    t = T0
    assert call_durations(None, None, None) == (None, None)
    assert call_durations(t, t + timedelta(seconds=9), None) == (9.0, None)
    assert call_durations(None, t, t + timedelta(seconds=60)) == (None, 60.0)
    assert call_durations(t, t - timedelta(seconds=1), t + timedelta(seconds=3)) == (0.0, 4.0)  # clock skew


async def test_concurrent_upserts_make_one_row(writer: InteractionWriter) -> None:
    records = [
        InteractionRecord(call_id="race", queued_at=T0, queue="general"),
        *(InteractionRecord(call_id="race", notes=f"n{i}") for i in range(4)),
        InteractionRecord(call_id="race", answered_at=T0 + timedelta(seconds=7), agent_login="agent1"),
        *(InteractionRecord(call_id="race", arrived_at=T0 - timedelta(seconds=30)) for _ in range(3)),
        InteractionRecord(call_id="race", ended_at=T0 + timedelta(seconds=67), outcome="answered"),
    ]
    assert len(records) == 10
    async with asyncio.timeout(20):
        ids = await asyncio.gather(*(writer.upsert(r) for r in records))
    assert len(set(ids)) == 1
    assert await writer.count() == 1
    stored = await writer.get("race")
    assert stored is not None
    assert (stored.queue, stored.agent_login, stored.outcome) == ("general", "agent1", "answered")
    assert stored.notes in {f"n{i}" for i in range(4)}
    # Whatever the commit order, the durations match the merged timestamps.
    assert await writer.durations("race") == (7.0, 60.0)


async def test_save_note_before_the_call_is_recorded(writer: InteractionWriter) -> None:
    await writer.save_note("early", agent_login="agent1", notes="wants a new card", disposition="card")
    stored = await writer.get("early")
    assert stored is not None
    assert (stored.notes, stored.disposition, stored.agent_login) == ("wants a new card", "card", "agent1")
    # The call's facts arriving afterwards do not erase the note.
    await writer.upsert(
        InteractionRecord(
            call_id="early",
            queued_at=T0,
            answered_at=T0 + timedelta(seconds=3),
            ended_at=T0 + timedelta(seconds=33),
            outcome="answered",
        )
    )
    stored = await writer.get("early")
    assert stored is not None and (stored.notes, stored.outcome) == ("wants a new card", "answered")
    assert await writer.durations("early") == (3.0, 30.0)
    assert await writer.count() == 1


async def test_save_note_after_the_call(writer: InteractionWriter) -> None:
    await writer.upsert(
        InteractionRecord(call_id="late", agent_login="agent1", outcome="answered", disposition="balance")
    )
    await writer.save_note("late", agent_login="super1", notes="reviewed", disposition=None)
    stored = await writer.get("late")
    assert stored is not None
    # The supervisor's note does not take the call over; None keeps the disposition.
    assert (stored.notes, stored.disposition, stored.agent_login) == ("reviewed", "balance", "agent1")
    await writer.save_note("late", agent_login="agent1", notes=None, disposition="complaint")
    stored = await writer.get("late")
    assert stored is not None and (stored.notes, stored.disposition) == ("reviewed", "complaint")


async def test_note_from_unknown_agent_is_still_kept(writer: InteractionWriter) -> None:
    await writer.save_note("x", agent_login="ghost", notes="keep me", disposition=None)
    stored = await writer.get("x")
    assert stored is not None and (stored.notes, stored.agent_login) == ("keep me", None)


async def test_bad_records_are_refused_clearly(writer: InteractionWriter) -> None:
    with pytest.raises(ValueError, match="call_id"):
        await writer.upsert(InteractionRecord(call_id=""))
    with pytest.raises(ValueError, match="call_id"):
        await writer.save_note("c" * 65, agent_login="agent1", notes="n", disposition=None)
    with pytest.raises(ValueError, match="disposition"):
        await writer.save_note("ok", agent_login="agent1", notes="n", disposition="d" * 65)
    assert await writer.count() == 0


async def test_overlong_network_text_is_cut_not_refused(writer: InteractionWriter) -> None:
    await writer.upsert(
        InteractionRecord(call_id="long", caller_number="9" * 300, queue="q" * 65, channel="c" * 20)
    )
    stored = await writer.get("long")
    assert stored is not None
    assert (stored.caller_number, stored.queue, stored.channel) == ("9" * 64, "q" * 64, "c" * 16)
