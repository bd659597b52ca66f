"""The audit log: written in the caller's transaction, scrubbed, append-only in the database, read by role."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from crm_access_kit import Office, add_customer, make_office
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import REDACTED, AuditLog, audit, scrub
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, InvalidInput
from crm_core.models import AuditLog as AuditRow
from crm_core.models.coltypes import utcnow

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def office(sessions: Sessions) -> Office:
    return await make_office(sessions)


async def _rows(sessions: Sessions) -> list[AuditRow]:
    async with sessions() as session:
        return list((await session.scalars(select(AuditRow).order_by(AuditRow.id))).all())


def test_scrub_redacts_secret_keys_and_masks_long_digit_runs() -> None:
    detail = {
        "password": "hunter2",
        "pin": "1234",
        "id_number": "110101199003071234",
        "new_account_number": "6225881234567890",
        "nested": {"card_number": "6225881234567890", "note": "card 6225881234567890 lost"},
        "phone": "+8613812345678",
        "amount": Decimal("12.50"),
        "at": utcnow().replace(year=2026, month=1, day=2, hour=3, minute=4, second=5, microsecond=0),
        "ids": {3, 1, 2},
    }
    clean = scrub(detail)
    for key in ("password", "pin", "id_number", "new_account_number"):
        assert clean[key] == REDACTED
    assert clean["nested"] == {"card_number": REDACTED, "note": "card ****7890 lost"}
    assert clean["phone"] == "+8613812345678"  # an E.164 phone is not a secret
    assert clean["amount"] == "12.50"
    assert clean["at"] == "2026-01-02T03:04:05+00:00"
    assert clean["ids"] == [1, 2, 3]


async def test_audit_commits_and_rolls_back_with_the_callers_transaction(
    sessions: Sessions, office: Office
) -> None:
    async with sessions() as session, session.begin():
        await audit(session, office.alice, "view", "customer", 42, {"pin": "0000", "limited": False})
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await audit(session, office.alice, "update", "customer", 42)
            raise RuntimeError("the change failed")
    [row] = await _rows(sessions)
    assert (row.actor_id, row.actor_login, row.action, row.entity, row.entity_id) == (
        office.alice.user_id, "alice", "view", "customer", "42",
    )  # fmt: skip
    assert row.remote_addr == "10.0.0.7"
    assert row.detail == {"pin": REDACTED, "limited": False}
    assert abs(row.at - utcnow()) < timedelta(minutes=1)
    with pytest.raises(ValueError, match="unknown audit action"):
        async with sessions() as session, session.begin():
            await audit(session, office.alice, "peek", "customer", 42)


async def test_database_refuses_to_change_or_delete_audit_rows(sessions: Sessions, office: Office) -> None:
    async with sessions() as session, session.begin():
        await audit(session, Actor.system(), "login", "user", office.alice.user_id)
    for statement in (
        "UPDATE audit_log SET actor_login = 'mallory'",
        "UPDATE audit_log SET detail = NULL WHERE id > 0",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions() as session, session.begin():
                await session.execute(text(statement))
    [row] = await _rows(sessions)
    assert row.actor_login == "system"


async def test_query_is_for_supervisors_and_admins_with_filters_and_paging(
    sessions: Sessions, office: Office
) -> None:
    north_customer = await add_customer(sessions, "North", office.alice)
    south_customer = await add_customer(sessions, "South", office.carol)
    start = utcnow()
    async with sessions() as session, session.begin():
        for n in range(5):
            await audit(session, office.alice, "view", "customer", north_customer, {"n": n})
        await audit(session, office.carol, "view", "customer", south_customer)
        await audit(session, office.dan, "view", "customer", north_customer)  # outside north, on its customer
        await audit(session, office.dan, "login", "user", office.dan.user_id)
    log = AuditLog(sessions)
    with pytest.raises(AccessDenied):
        await log.query(office.alice)

    everything = await log.query(office.root)
    assert everything.total == 8
    assert [e.detail for e in everything.items[-5:]] == [{"n": n} for n in reversed(range(5))]  # newest first

    page = await log.query(office.root, actor_login="alice", limit=2, offset=2)
    assert (page.total, len(page.items)) == (5, 2)
    assert [e.detail for e in page.items] == [{"n": 2}, {"n": 1}]
    assert (await log.query(office.root, entity="customer", entity_id=south_customer)).total == 1
    assert (await log.query(office.root, action="login")).total == 1
    assert (await log.query(office.root, since=start)).total == 8
    assert (await log.query(office.root, since=utcnow() + timedelta(hours=1))).total == 0

    sam = await log.query(office.sam)  # alice's actions, and dan's view of a north customer
    assert {(e.actor_login, e.entity_id) for e in sam.items} == {
        ("alice", str(north_customer)),
        ("dan", str(north_customer)),
    }
    sue = await log.query(office.sue)
    assert {(e.actor_login, e.entity_id) for e in sue.items} == {("carol", str(south_customer))}

    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        with pytest.raises(InvalidInput) as raised:
            await log.query(office.root, **bad)  # type: ignore[arg-type]
        assert raised.value.field in bad
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditRow)) == 8
