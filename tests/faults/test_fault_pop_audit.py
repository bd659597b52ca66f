"""Every screen-pop is audited, even one shown while PostgreSQL is down (issue 12, item 3).

A real service on a private cluster; a logged-in agent's browser stand-in
(a websocket client) receives screen-pops published on the service's bus,
as the call flow publishes them, before, during and after an outage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fault_kit import fault_settings, seed_agents, seed_customer, wait_until
from pg_cluster import PgCluster
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect

from acd.events import CallEnded, CallOffered
from agent_console.crm.deps import CrmServices
from agent_console.crm.popaudit import PopAuditQueue
from agent_console.hub import PopDelivered
from bankcti.app import Service
from bankcti.bus import InProcessBus
from crm_core.db import create_engine, session_factory
from crm_core.models import AuditLog
from crm_core.schemas import CustomerCard

WAIT = 10.0
PER_PHASE = 10


async def _message(ws: ClientConnection, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        while True:
            data = json.loads(await ws.recv())
            if data.get("type") == kind:
                return dict(data)


async def _pop(service: Service, ws: ClientConnection, call_id: str, card: CustomerCard) -> None:
    """One call offered to alice with the customer's card, seen on her screen, acknowledged, ended."""
    await service.bus.publish(
        CallOffered(call_id=call_id, agent_login="alice", queue="general", caller_number=card.phone_e164,
                    customer=card, authentication="caller_id")
    )  # fmt: skip
    message = await _message(ws, "call.offered")
    assert message["event"]["call_id"] == call_id
    await ws.send(json.dumps({"type": "ack", "seq": message["seq"]}))
    await service.bus.publish(
        CallEnded(call_id=call_id, outcome="answered", agent_login="alice", queue="general")
    )


async def test_screen_pops_shown_during_a_postgresql_outage_are_all_audited(
    pg: PgCluster, pg_db_url: str, tmp_path: Path
) -> None:
    await seed_agents(pg_db_url, ["alice"])
    customer_id = await seed_customer(pg_db_url, "Zhang Wei", "+8613800138000")
    service = Service(fault_settings(tmp_path, pg_db_url, ami_enabled=False), bus=InProcessBus())
    await service.start()
    try:
        base = f"http://127.0.0.1:{service.ports.http}"
        async with httpx.AsyncClient(base_url=base, timeout=WAIT) as http:
            login = await http.post("/api/login", json={"login": "alice", "password": "pw-alice"})
            assert login.status_code == 200, login.text
            token = login.json()["token"]
        card = await service.customers.card(customer_id)
        assert card is not None
        async with connect(f"ws://127.0.0.1:{service.ports.http}/ws", open_timeout=WAIT) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await _message(ws, "hello")
            calls = [f"pop-{n}" for n in range(3 * PER_PHASE)]
            for call_id in calls[:PER_PHASE]:
                await _pop(service, ws, call_id, card)
            await pg.stop_async("fast")
            outage_started = datetime.now(UTC)
            for call_id in calls[PER_PHASE : 2 * PER_PHASE]:
                await _pop(service, ws, call_id, card)
                await asyncio.sleep(0.05)  # pops arrive over time, as calls do
            outage_ended = datetime.now(UTC)
            await pg.start_async()
            for call_id in calls[2 * PER_PHASE :]:
                await _pop(service, ws, call_id, card)

        async def views() -> list[AuditLog]:
            async with service.sessions() as session:
                rows = await session.scalars(
                    select(AuditLog).where(AuditLog.action == "view").order_by(AuditLog.id)
                )
                return [row for row in rows.all() if (row.detail or {}).get("view") == "screen-pop"]

        async def all_audited() -> bool:
            return len(await views()) >= len(calls)

        await wait_until(all_audited, within=30, what="an audit row for every screen-pop")
        rows = await views()
        assert sorted(row.detail["call_id"] for row in rows) == sorted(calls)  # each once
        for row in rows:
            assert (row.actor_login, row.entity, row.entity_id) == ("alice", "customer", str(customer_id))
            assert row.actor_id is not None
        # A pop shown during the outage is dated when it was shown, not when the database took it.
        during = [row for row in rows if row.detail["call_id"] in calls[PER_PHASE : 2 * PER_PHASE]]
        assert all(outage_started <= row.at <= outage_ended for row in during), [row.at for row in during]
        assert not (service.settings.data_dir / "pop-audit-spool.jsonl").exists()
    finally:
        await service.close()


async def test_a_pop_audit_replayed_after_a_crash_is_stored_once(pg_db_url: str, tmp_path: Path) -> None:
    """The process died after the database took a spooled audit row but before the spool was rewritten."""
    await seed_agents(pg_db_url, ["alice"])
    customer_id = await seed_customer(pg_db_url, "Li Na", "+8613900139000")
    engine = create_engine(pg_db_url)
    sessions = session_factory(engine)
    crm = CrmServices.build(sessions, pepper=b"p" * 32, region="CN")
    spool = tmp_path / "pop-audit-spool.jsonl"
    shown_at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    entry = {"kind": "pop", "key": "5f0c" * 8, "at": shown_at.isoformat(), "login": "alice",
             "remote_addr": "10.0.0.7", "customer_id": customer_id, "call_id": "1795907163.4"}  # fmt: skip
    try:
        for _ in range(2):  # the first run writes the row; the second finds the same entry left behind
            spool.write_text(json.dumps(entry) + "\n", encoding="utf-8")
            pops = PopAuditQueue(crm, spool_path=spool)
            task = asyncio.create_task(pops.run())
            async with asyncio.timeout(WAIT):
                await pops.emptied()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await pops.drain(1.0)
            assert not spool.exists()
        async with sessions() as session:
            rows = (await session.scalars(select(AuditLog).where(AuditLog.action == "view"))).all()
        assert [(row.actor_login, row.entity_id, row.at, row.remote_addr) for row in rows] == [
            ("alice", str(customer_id), shown_at, "10.0.0.7")
        ]
        assert not spool.with_name("pop-audit-spool.rejected.jsonl").exists()
    finally:
        await engine.dispose()


class _CountingAuditor:
    """The real auditor, counting the transactions it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.transactions = 0

    async def audit_pops(self, pops: Any) -> None:
        self.transactions += 1
        await self.inner.audit_pops(pops)


async def test_pops_shown_together_are_audited_in_a_few_transactions(pg_db_url: str, tmp_path: Path) -> None:
    """A burst of pops is written in batches (one transaction per pop let the queue grow under load)."""
    await seed_agents(pg_db_url, ["alice"])
    customer_id = await seed_customer(pg_db_url, "Li Na", "+8613900139000")
    engine = create_engine(pg_db_url)
    sessions = session_factory(engine)
    built = CrmServices.build(sessions, pepper=b"p" * 32, region="CN")
    counting = _CountingAuditor(built.pops)
    crm = dataclasses.replace(built, pops=counting)
    pops = PopAuditQueue(crm, spool_path=tmp_path / "pop-audit-spool.jsonl")
    task = asyncio.create_task(pops.run())
    try:
        for n in range(200):
            pops.submit(PopDelivered("alice", f"1795907163.{n}", customer_id, "10.0.0.7"))
        async with asyncio.timeout(WAIT):
            await pops.emptied()
        async with sessions() as session:
            rows = (await session.scalars(select(AuditLog).where(AuditLog.action == "view"))).all()
        assert sorted(row.detail["call_id"] for row in rows) == sorted(f"1795907163.{n}" for n in range(200))
        assert 1 <= counting.transactions <= 5
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pops.drain(1.0)
        await engine.dispose()
