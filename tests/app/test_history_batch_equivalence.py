"""The set-based batch writes what the writes give one after another (real databases, random writes).

The same random stream of call records, legs and ends — first moments given
twice, unknown agents and customers, callers identified afterwards by number
(one match, two, none), over-long trunk numbers, replays, ends with and
without a time, writes after a call's end — is applied one by one through
:class:`InteractionWriter` to one database, and in random batches through
:func:`apply_history_batch` to another; every stored column of every call,
leg and customer must be equal.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from history_databases import BACKENDS, new_database_url
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.followups.history_batch import HistoryWrite, apply_history_batch
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import Agent, Customer, Interaction, InteractionLeg, PhoneNumber
from crm_core.schemas import CallEndRecord, InteractionRecord, IvrStep, LegRecord

T0 = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)  # in the past: contact times are the calls' own
AGENTS = ("alice", "bob")
# Customers 1..3; +861001 belongs to 1 only, +861002 to 2 and 3 (ambiguous), +861003 to nobody.
NUMBERS = ("+861001", "+861002", "+861003")


def _at(rng: random.Random) -> datetime:
    return T0 + timedelta(seconds=rng.randrange(0, 600))


def _maybe(rng: random.Random, value: Any, p: float = 0.4) -> Any:
    return value if rng.random() < p else None


def random_writes(seed: int, calls: int = 12, writes: int = 160) -> list[HistoryWrite]:
    """A stream the call flow, replays and restarts could produce (every write valid on its own)."""
    rng = random.Random(seed)
    legs: dict[str, set[str]] = {}
    stream: list[HistoryWrite] = []
    for _ in range(writes):
        call_id = f"call.{rng.randrange(calls)}"
        roll = rng.random()
        if roll < 0.45:
            fields: dict[str, Any] = {
                "caller_number": _maybe(rng, rng.choice(["+861001", "9" * 80, "anonymous"])),
                "caller_e164": _maybe(rng, rng.choice(NUMBERS)),
                "customer_id": _maybe(rng, rng.choice([1, 2, 3, 99]), 0.25),
                "agent_login": _maybe(rng, rng.choice([*AGENTS, "ghost"]), 0.3),
                "queue": _maybe(rng, rng.choice(["retail", "cards", "q" * 90])),
                "ivr_path": _maybe(
                    rng, [IvrStep(node="main", keys=str(rng.randrange(10)), at=_at(rng).timestamp())], 0.2
                ),
                "arrived_at": _maybe(rng, _at(rng)),
                "queued_at": _maybe(rng, _at(rng)),
                "offered_at": _maybe(rng, _at(rng)),
                "answered_at": _maybe(rng, _at(rng), 0.3),
                "ended_at": _maybe(rng, _at(rng), 0.2),
                "outcome": _maybe(rng, rng.choice(["answered", "abandoned_in_queue"]), 0.3),
                "disposition": _maybe(rng, "resolved", 0.1),
                "notes": _maybe(rng, "客户要求回电", 0.1),
                "last_seen_at": _maybe(rng, _at(rng), 0.1),
                "wrapup_missed_at": _maybe(rng, _at(rng), 0.1),
                "identify_later": rng.random() < 0.2,
            }
            if rng.random() < 0.2:
                fields["channel"] = rng.choice(["phone", "web"])
            if rng.random() < 0.1:
                fields["direction"] = "outbound"
            stream.append(
                InteractionRecord(call_id=call_id, **{k: v for k, v in fields.items() if v is not None})
            )
        elif roll < 0.85:
            known = legs.setdefault(call_id, set())
            key = rng.choice(["ivr", "q1", "a1", "a2", "h1", "x1"])
            kind = {"i": "ivr", "q": "queue", "a": "agent", "h": "hold", "x": "external"}[key[0]]
            first = key not in known
            known.add(key)
            stream.append(
                LegRecord(
                    call_id=call_id,
                    leg_key=key,
                    kind=kind if first or rng.random() < 0.3 else None,
                    started_at=_at(rng) if first or rng.random() < 0.3 else None,
                    queue=_maybe(rng, "retail"),
                    agent_login=_maybe(rng, rng.choice(AGENTS)),
                    target=_maybe(rng, rng.choice(["PJSIP/1001", "8" * 100])),
                    offered_at=_maybe(rng, _at(rng)),
                    answered_at=_maybe(rng, _at(rng), 0.3),
                    ended_at=_maybe(rng, _at(rng), 0.25),
                    end_reason=_maybe(rng, rng.choice(["completed", "no_answer", "transferred_blind"]), 0.2),
                    transferred_to=_maybe(rng, "cards", 0.1),
                )
            )
        else:
            stream.append(
                CallEndRecord(
                    call_id=call_id,
                    outcome=rng.choice(["answered", "interrupted", "ended_unobserved", "abandoned_in_ivr"]),
                    ended_at=_maybe(rng, _at(rng), 0.7),
                    agent_login=_maybe(rng, rng.choice([*AGENTS, "ghost"]), 0.3),
                    last_seen_at=_maybe(rng, _at(rng), 0.2),
                    found_gone_at=_maybe(rng, _at(rng), 0.2),
                )
            )
    return stream


async def _seed(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session, session.begin():
        for login in AGENTS:
            session.add(Agent(login=login, name=login, password_hash="x", extension="1", device="PJSIP/1"))
        for n in (1, 2, 3):
            session.add(Customer(id=n, name=f"customer {n}"))
        await session.flush()
        for customer_id, e164 in ((1, "+861001"), (2, "+861002"), (3, "+861002")):
            session.add(PhoneNumber(customer_id=customer_id, raw=e164, e164=e164))


async def _dump(engine: AsyncEngine) -> dict[str, Any]:
    skip = {"id", "created_at", "updated_at", "interaction_id"}
    async with session_factory(engine)() as session:
        rows = (await session.execute(select(Interaction.__table__))).mappings().all()
        legs = (await session.execute(select(InteractionLeg.__table__))).mappings().all()
        touched = (await session.execute(select(Customer.id, Customer.last_follow_up_at))).all()
    return {
        "calls": {r["call_id"]: {k: v for k, v in r.items() if k not in skip} for r in rows},
        "legs": {(r["call_id"], r["leg_key"]): {k: v for k, v in r.items() if k not in skip} for r in legs},
        "customers": dict(touched),
    }


@pytest.fixture(params=BACKENDS)
async def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[AsyncEngine]]:
    urls = [new_database_url(request.param, tmp_path) for _ in range(2)]
    engines = []
    for url in urls:
        await upgrade(url)
        engines.append(create_engine(url))
        await _seed(engines[-1])
    yield engines
    for engine, url in zip(engines, urls, strict=True):
        await engine.dispose()
        await drop_database(url)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_batches_store_what_one_by_one_stores(two_databases: list[AsyncEngine], seed: int) -> None:
    one_by_one, batched = two_databases
    writes = random_writes(seed)
    started = datetime.now(UTC)
    writer = InteractionWriter(session_factory(one_by_one))
    for write in writes:
        if isinstance(write, InteractionRecord):
            await writer.upsert(write)
        elif isinstance(write, LegRecord):
            await writer.upsert_leg(write)
        else:
            await writer.end_call(write)
    rng = random.Random(seed)
    sessions = session_factory(batched)
    done = 0
    while done < len(writes):
        size = rng.choice([1, 2, 5, 17, 60])
        async with sessions() as session, session.begin():
            await apply_history_batch(session, writes[done : done + size])
        done += size
    expected, got = await _dump(one_by_one), await _dump(batched)
    assert got["calls"] == expected["calls"]
    assert got["legs"] == expected["legs"]
    # A contact with no moment of its own is dated "now", which differs between the two runs.
    assert set(got["customers"]) == set(expected["customers"])
    for customer_id, at in expected["customers"].items():
        if at is None or at < started:
            assert got["customers"][customer_id] == at, customer_id
        else:
            assert got["customers"][customer_id] >= started, customer_id
    # The stream exercises what it claims to.
    calls = expected["calls"].values()
    assert {c["customer_link"] for c in calls} >= {"caller_number"} or seed != 1
    assert any(
        leg["end_reason"] in ("caller_hung_up", "interrupted", "ended_unobserved")
        for leg in expected["legs"].values()
    )


async def test_a_bad_write_refuses_the_batch_and_writes_nothing(two_databases: list[AsyncEngine]) -> None:
    engine, _ = two_databases
    sessions = session_factory(engine)
    good = InteractionRecord(call_id="fine", outcome="answered")
    orphan = LegRecord(call_id="fine", leg_key="never-started", end_reason="completed")
    with pytest.raises(ValueError, match="kind and start"):
        async with sessions() as session, session.begin():
            await apply_history_batch(session, [good, orphan])
    with pytest.raises(ValueError, match="call_id"):
        async with sessions() as session, session.begin():
            await apply_history_batch(session, [good, InteractionRecord(call_id="x" * 65)])
    assert (await _dump(engine))["calls"] == {}
