"""ACD statistics records survive a PostgreSQL outage: every one stored once, in order (issue 12, item 2).

A real service (no PBX needed: the ACD is driven through its own API) on a
private PostgreSQL cluster that the test stops for a few seconds while the
ACD keeps producing queue and agent events.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fault_kit import AcdEventLog, fault_settings, seed_agents, wait_until
from pg_cluster import PgCluster
from sqlalchemy import func, select

from acd import QueuedCall
from acd.events import AgentStateChanged, QueueTransition
from bankcti.app import Service
from bankcti.bus import InProcessBus
from crm_core.contact_center.acd_recorder import AcdRecorder, AgentEventRecord, QueueEventRecord
from crm_core.db import create_engine, session_factory
from crm_core.models.acd import QUEUE_EVENTS, AgentEvent, AgentStateRow, QueueEvent

AGENTS = [f"agent{n}" for n in range(1, 6)]
PER_PHASE = 50  # events before, during and after the outage: 150 in all


async def _produce(service: Service, phase: int, count: int, *, pace: float = 0.0) -> None:
    """``count`` ACD actions: a call joining a queue nobody serves, or an agent going ready / not ready."""
    for n in range(count):
        step = phase * count + n
        if step % 3 == 0:
            await service.acd.enqueue(QueuedCall(call_id=f"call-{step}", queue="nobody"))
        else:
            login = AGENTS[step % len(AGENTS)]
            if service.acd.status(login).state.value == "available":
                await service.acd.set_agent_state(login, "paused", "break")
            else:
                await service.acd.set_agent_state(login, "available")
        if pace and n % 5 == 4:
            # Let the recorder try (and fail) to write during the outage, as under real traffic.
            await asyncio.sleep(pace)


async def test_queue_and_agent_events_survive_a_postgresql_outage_in_order(
    pg: PgCluster, pg_db_url: str, tmp_path: Path
) -> None:
    await seed_agents(pg_db_url, AGENTS)
    bus = InProcessBus()
    events = AcdEventLog(bus)
    service = Service(fault_settings(tmp_path, pg_db_url, ami_enabled=False), bus=bus)
    await service.start()
    try:
        await _produce(service, 0, PER_PHASE)
        await service.acd_runtime.recorder.drained()

        await pg.stop_async("fast")
        await _produce(service, 1, PER_PHASE, pace=0.3)
        await service.acd_runtime.recorder.drained()
        await pg.start_async()
        await _produce(service, 2, PER_PHASE)

        def recorded() -> list[QueueTransition | AgentStateChanged]:
            return [e for e in events.events if isinstance(e, AgentStateChanged) or e.event in QUEUE_EVENTS]

        async def all_seen() -> bool:
            return len(recorded()) >= 3 * PER_PHASE

        await wait_until(all_seen, within=5, what="the ACD's events on the bus")
        queue_expected = [(e.call_id, e.event) for e in recorded() if isinstance(e, QueueTransition)]
        agent_expected = [(e.agent_login, e.state) for e in recorded() if isinstance(e, AgentStateChanged)]

        async def all_stored() -> bool:
            async with service.sessions() as session:
                queue_rows = await session.scalar(select(func.count()).select_from(QueueEvent))
                agent_rows = await session.scalar(select(func.count()).select_from(AgentEvent))
            return (queue_rows, agent_rows) == (len(queue_expected), len(agent_expected))

        await service.acd_runtime.recorder.drained()
        await wait_until(all_stored, within=30, what="every queue and agent event in the database")

        async with service.sessions() as session:
            queue_rows = (await session.execute(select(QueueEvent).order_by(QueueEvent.id))).scalars().all()
            agent_rows = (await session.execute(select(AgentEvent).order_by(AgentEvent.id))).scalars().all()
            states = {row.login: row.state for row in (await session.scalars(select(AgentStateRow))).all()}
        # Every event once, in the order the ACD produced it (ids follow the insertion order).
        assert [(row.call_id, row.event) for row in queue_rows] == queue_expected
        assert [(row.agent_login, row.state) for row in agent_rows] == agent_expected
        assert len({row.event_key for row in [*queue_rows, *agent_rows]}) == len(queue_rows) + len(agent_rows)
        # The saved states are the latest ones, so a restart restores the agents as they are.
        assert states == {login: service.acd.status(login).state.value for login in AGENTS}
        assert not (service.settings.data_dir / "acd-spool.jsonl").exists()
    finally:
        await service.close()
        await events.close()


async def test_a_replay_after_a_crash_between_commit_and_spool_rewrite_stores_nothing_twice(
    pg_db_url: str, tmp_path: Path
) -> None:
    """The spool still holds a batch the database already took (the process died in between)."""
    spool = tmp_path / "acd-spool.jsonl"
    engine = create_engine(pg_db_url)
    sessions = session_factory(engine)
    records = [
        QueueEventRecord(at=1_800_000_000.0 + n, call_id=f"c{n}", event="joined", queue="general",
                         agent_login=None, customer_id=None, data={"position": n})
        for n in range(3)
    ] + [
        AgentEventRecord(at=1_800_000_010.0, agent_login="agent1", state="paused", reason="lunch",
                         call_id=None, last_available_at=None, calls_handled=2)
    ]  # fmt: skip
    try:
        first = AcdRecorder(sessions, spool_path=spool)
        await first.start()
        for record in records:
            first.add(record)
        await first.drained()  # written to the database directly
        await first.close()
        # What the crashed process left: the same batch, still in its spool.
        batch = {"kind": "acd", "records": [
            {"type": "queue" if isinstance(r, QueueEventRecord) else "agent", **r.__dict__} for r in records
        ]}  # fmt: skip
        spool.write_text(json.dumps(batch) + "\n", encoding="utf-8")

        second = AcdRecorder(sessions, spool_path=spool)
        await second.start()  # replays the spool before anything else
        await second.close()
        assert not spool.exists()
        assert not spool.with_name("acd-spool.rejected.jsonl").exists()  # recognised, not refused
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(QueueEvent)) == 3
            assert await session.scalar(select(func.count()).select_from(AgentEvent)) == 1
            state = await session.get(AgentStateRow, "agent1")
        assert state is not None
        assert (state.state, state.reason, state.calls_handled) == ("paused", "lunch", 2)
    finally:
        await engine.dispose()
