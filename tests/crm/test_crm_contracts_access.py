"""Who sees which contract, list filters, expiry reminders and the expiry job (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from contract_testkit import Clock, World, audit_rows, build_world, drive, grant, terms
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contracts.jobs import EXPIRY_JOB, expire_job
from crm_core.contracts.schemas import ContractUpdate
from crm_core.contracts.service import ContractService
from crm_core.errors import AccessDenied, InvalidInput, NotFound
from crm_core.models import AuditLog, SharingGrant
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    clock = Clock()
    parameters = ParameterStore(sessions)
    built = await build_world(sessions, clock, ContractService(sessions, parameters, clock=clock))
    built.extra["parameters"] = parameters
    return built


async def _ids(world: World, login: str, **filters: object) -> list[int]:
    page = await world.contracts.list(world.actors[login], **filters)  # type: ignore[arg-type]
    return [item.id for item in page.items]


async def test_an_agent_without_rights_sees_nothing_of_anothers_contract(world: World) -> None:
    alices = await world.contracts.create(world.alice, world.ids["wang"], terms())
    carols = await world.contracts.create(world.carol, world.ids["li"], terms())
    with pytest.raises(NotFound):
        await world.contracts.get(world.bob, alices.id)
    with pytest.raises(NotFound):  # not even by changing it
        await world.contracts.transition(world.bob, alices.id, "submit")
    assert await _ids(world, "bob") == []
    assert await _ids(world, "alice") == [alices.id]
    assert await _ids(world, "sup_a") == [alices.id]  # their team's customers
    assert await _ids(world, "sup_b") == [carols.id]
    assert await _ids(world, "root") == [carols.id, alices.id]
    with pytest.raises(NotFound):
        await world.contracts.get(world.sup_b, alices.id)


async def test_a_read_grant_shows_the_contract_but_allows_no_change(world: World) -> None:
    contract = await world.contracts.create(world.alice, world.ids["wang"], terms())
    await grant(world, "wang", "bob", "read")
    seen = await world.contracts.get(world.bob, contract.id)
    assert seen.number == contract.number and await _ids(world, "bob") == [contract.id]
    with pytest.raises(AccessDenied):
        await world.contracts.update(world.bob, contract.id, ContractUpdate(title="Bob's now"))
    with pytest.raises(AccessDenied):
        await world.contracts.delete(world.bob, contract.id)
    views = [r for r in await audit_rows(world, "contract", contract.id) if r.action == "view"]
    assert [(r.actor_login, r.remote_addr) for r in views] == [("bob", "10.0.0.7")]


async def test_an_expired_grant_stops_at_once(world: World) -> None:
    contract = await world.contracts.create(world.alice, world.ids["wang"], terms())
    async with world.sessions() as session, session.begin():
        session.add(
            SharingGrant(
                customer_id=world.ids["wang"],
                grantee_user_id=world.ids["bob"],
                access="write",
                granted_by_id=world.ids["alice"],
                expires_at=utcnow() - timedelta(seconds=1),
            )
        )
    with pytest.raises(NotFound):
        await world.contracts.get(world.bob, contract.id)
    assert await _ids(world, "bob") == []


async def test_pool_customers_contracts_only_while_offered(world: World) -> None:
    contract = await world.contracts.create(world.root, world.ids["pool"], terms(owner_login="alice"))
    with pytest.raises(NotFound):  # the pool shows name and tier to claim, not contracts
        await world.contracts.get(world.alice, contract.id)
    assert await _ids(world, "alice") == []
    on_call = replace(world.alice, offered_customer_ids=frozenset({world.ids["pool"]}))
    assert (await world.contracts.get(on_call, contract.id)).id == contract.id
    page = await world.contracts.list(on_call)
    assert [c.id for c in page.items] == [contract.id]
    assert await _ids(world, "sup_b") == [contract.id]  # supervisors manage the pool


async def test_list_filters_and_pages(world: World) -> None:
    made = [(await world.contracts.create(world.alice, world.ids["wang"], terms())).id for _ in range(5)]
    await drive(world, made[0], "active")
    await drive(world, made[1], "pending")
    bobs = await world.contracts.create(world.sup_a, world.ids["wang"], terms(owner_login="bob"))
    lis = await world.contracts.create(world.carol, world.ids["li"], terms())
    assert await _ids(world, "root", status="pending") == [made[1]]
    assert await _ids(world, "root", owner_login="bob") == [bobs.id]
    assert await _ids(world, "root", owner_login="nobody") == []
    assert await _ids(world, "root", customer_id=world.ids["li"]) == [lis.id]
    assert await _ids(world, "root", expiring_within_days=365) == [made[0]]
    assert await _ids(world, "root", expiring_within_days=30) == []
    first = await world.contracts.list(world.root, page=1, page_size=3)
    second = await world.contracts.list(world.root, page=2, page_size=3)
    assert first.total == second.total == 7
    assert [c.id for c in first.items + second.items] == sorted([*made, bobs.id, lis.id], reverse=True)[:6]
    for bad, field in [
        ({"status": "lost"}, "status"),
        ({"page": 0}, "page"),
        ({"page_size": 1000}, "page_size"),
        ({"expiring_within_days": -1}, "expiring_within_days"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            await world.contracts.list(world.root, **bad)  # type: ignore[arg-type]
        assert caught.value.field == field


async def _active_until(world: World, end_on: str) -> int:
    contract = await world.contracts.create(
        world.alice, world.ids["wang"], terms(start_on="2026-01-01", end_on=end_on)
    )
    await drive(world, contract.id, "active")
    return contract.id


async def test_expiry_job_is_idempotent_and_reminders_look_ahead(world: World) -> None:
    ending_today = await _active_until(world, "2026-03-10")
    in_ten_days = await _active_until(world, "2026-03-20")
    in_ninety_days = await _active_until(world, "2026-06-08")
    approved = await world.contracts.create(
        world.alice, world.ids["wang"], terms(start_on="2026-01-01", end_on="2026-03-10")
    )
    await drive(world, approved.id, "approved")
    now = world.clock.now
    async with world.sessions() as session, session.begin():
        assert await world.contracts.expire_due(session, now) == 0  # ends today: still running
        soon = await world.contracts.expiring(session, now.date(), 10)
    assert [c.id for c in soon] == [ending_today, in_ten_days]
    tomorrow = now + timedelta(days=1)
    runs = []
    for _ in range(2):
        async with world.sessions() as session, session.begin():
            runs.append(await expire_job(session, tomorrow))
    assert runs == [{"expired": 1}, {"expired": 0}]
    assert (await world.contracts.get(world.alice, ending_today)).status == "expired"
    assert (await world.contracts.get(world.alice, approved.id)).status == "approved"
    [entry] = [r for r in await audit_rows(world, "contract", ending_today) if r.actor_login == EXPIRY_JOB]
    assert (entry.action, entry.actor_id, entry.detail) == (
        "transition", None, {"action": "expire", "from": "active", "to": "expired", "end_on": "2026-03-10"}
    )  # fmt: skip
    async with world.sessions() as session:
        default = await world.contracts.expiring(session, tomorrow.date())  # 30 days by parameter
        assert [c.id for c in default] == [in_ten_days]
        assert default[0].owner_login == "alice" and default[0].customer_name == "Wang Wei"
    await world.extra["parameters"].set(world.root, "contracts.expiry_reminder_days", 90, "a quarter ahead")
    async with world.sessions() as session:
        quarter = await world.contracts.expiring(session, tomorrow.date())
        assert [c.id for c in quarter] == [in_ten_days, in_ninety_days]
        with pytest.raises(InvalidInput):
            await world.contracts.expiring(session, tomorrow.date(), -1)


async def test_two_instances_expire_each_contract_once(world: World) -> None:
    for end_on in ("2026-03-10", "2026-03-11", "2026-03-12"):
        await _active_until(world, end_on)
    later = world.clock.now + timedelta(days=30)

    async def run() -> int:
        async with world.sessions() as session, session.begin():
            return await world.contracts.expire_due(session, later)

    async with asyncio.timeout(20):
        counts = await asyncio.gather(run(), run())
    assert sum(counts) == 3
    async with world.sessions() as session:
        entries = (
            await session.scalars(
                select(AuditLog).where(AuditLog.actor_login == EXPIRY_JOB, AuditLog.action == "transition")
            )
        ).all()
    assert len(entries) == 3
