"""IVR self-service PINs: storage, verification, lockout, concurrency, and that secrets never leak."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from selfservice_kit import CARD, DEPOSIT, LOAN, PEPPER, PIN, Bank, digits
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.errors import InvalidInput, NotFound
from crm_core.models import Account, Base, Interaction
from crm_core.selfservice.pins import hash_pin, pin_matches

TIMEOUT = 20


@pytest.fixture
async def bank(sessions: async_sessionmaker[AsyncSession]) -> Bank:
    return await Bank.open(sessions)


async def _pinned(bank: Bank, pin: str = PIN) -> tuple[int, dict[str, int]]:
    customer_id, ids = await bank.customer(deposit=DEPOSIT, card=CARD, loan=LOAN)
    await bank.service.set_pin(ids["deposit"], pin)
    return customer_id, ids


def test_pin_hash_is_salted_and_checks() -> None:
    first, second = hash_pin(PEPPER, PIN), hash_pin(PEPPER, PIN)
    assert first != second and PIN not in first
    assert pin_matches(PEPPER, PIN, first) and pin_matches(PEPPER, PIN, second)
    assert not pin_matches(PEPPER, "739165", first)
    assert not pin_matches(b"another-pepper-0123456789", PIN, first)
    for broken in ("", "v1$zz$00", "v2$00$00", "plain"):
        assert not pin_matches(PEPPER, PIN, broken)


async def test_set_pin_stores_a_hash_audits_and_writes_history(bank: Bank) -> None:
    customer_id, ids = await _pinned(bank)
    account = await bank.account(ids["deposit"])
    assert account.pin_hash is not None and account.pin_hash.startswith("v1$") and PIN not in account.pin_hash
    assert (account.pin_failures, account.pin_locked_until) == (0, None)
    [entry] = [a for a in await bank.audits("update") if a.entity == "account"]
    assert (entry.entity_id, entry.actor_login, entry.detail) == (
        str(ids["deposit"]),
        "ivr",
        {"changed": "PIN"},
    )
    [row] = await bank.ivr_rows(customer_id)
    assert row.content == "phone-banking PIN set for **** 2907" and row.created_by_id is None


@pytest.mark.parametrize("pin", ["123", "1234567", "12a4", "１２３４", "", " 1234"])
async def test_set_pin_refuses_bad_pins_without_echo(bank: Bank, pin: str) -> None:
    _, ids = await bank.customer(deposit=DEPOSIT)
    with pytest.raises(InvalidInput) as info:
        await bank.service.set_pin(ids["deposit"], pin)
    assert info.value.field == "pin"
    assert pin.strip() == "" or pin not in str(info.value)


async def test_set_pin_only_on_deposit_and_card_accounts_of_live_customers(bank: Bank) -> None:
    customer_id, ids = await bank.customer(deposit=DEPOSIT, loan=LOAN)
    with pytest.raises(InvalidInput) as info:
        await bank.service.set_pin(ids["loan"], PIN)
    assert info.value.field == "account_id"
    with pytest.raises(NotFound):
        await bank.service.set_pin(999_999, PIN)
    await bank.world.update(customer_id, deleted_at=bank.world.clock.now)
    with pytest.raises(NotFound):
        await bank.service.set_pin(ids["deposit"], PIN)


async def test_right_pin_verifies_links_the_call_and_audits(bank: Bank) -> None:
    customer_id, ids = await _pinned(bank)
    result = await bank.service.verify(
        account_number="6222-0217-3840-5512-907", pin=PIN, caller_customer_id=customer_id, call_id="1700.42"
    )
    assert (result.status, result.customer_id, result.account_id, result.attempts_left) == (
        "verified",
        customer_id,
        ids["deposit"],
        3,
    )
    async with bank.sessions() as session:
        call = await session.scalar(select(Interaction).where(Interaction.call_id == "1700.42"))
    assert call is not None and call.customer_id == customer_id
    [entry] = await bank.audits("verify")
    assert entry.entity_id == str(ids["deposit"]) and entry.detail is not None
    assert entry.detail["result"] == "verified" and entry.detail["caller_matched"] is True
    assert entry.detail["call_id"] == "1700.42"
    rows = await bank.ivr_rows(customer_id)
    assert rows[-1].content == "caller identified by phone with the PIN of **** 2907"
    assert rows[-1].outcome == "ivr-verified"


async def test_three_wrong_pins_lock_for_the_lockout_then_a_right_pin_works(bank: Bank) -> None:
    customer_id, ids = await _pinned(bank)
    clock = bank.world.clock
    verify = bank.service.verify

    async def attempt(pin: str) -> Any:
        return await verify(account_number=DEPOSIT, pin=pin, caller_customer_id=None, call_id="c1")

    assert [(r.status, r.attempts_left) for r in [await attempt("000000"), await attempt("1111")]] == [
        ("wrong_pin", 2),
        ("wrong_pin", 1),
    ]
    locked = await attempt("999999")
    assert (locked.status, locked.attempts_left, locked.locked_until) == (
        "locked",
        0,
        clock.now + timedelta(minutes=15),
    )
    assert locked.customer_id is None  # a caller who failed learns nothing about the customer
    clock.advance(minutes=14)
    still = await attempt(PIN)  # the right PIN is not even checked while locked
    assert (still.status, still.locked_until) == ("locked", locked.locked_until)
    clock.advance(minutes=1)
    assert (await attempt(PIN)).status == "verified"
    assert (await attempt("000000")).attempts_left == 2  # a full allowance again
    contents = [row.content for row in await bank.ivr_rows(customer_id)]
    assert "wrong PIN entered by phone for **** 2907 (1 attempts left)" in contents
    assert any(c and "PIN entry locked until" in c for c in contents)
    results = [a.detail["result"] for a in await bank.audits("verify") if a.detail]
    assert results == ["wrong_pin", "wrong_pin", "locked", "locked", "verified", "wrong_pin"]
    assert (await bank.account(ids["deposit"])).pin_failures == 1


async def test_failures_count_within_the_window_and_success_resets(bank: Bank) -> None:
    await _pinned(bank)

    async def attempt(pin: str) -> Any:
        return await bank.service.verify(
            account_number=DEPOSIT, pin=pin, caller_customer_id=None, call_id=None
        )

    assert (await attempt("000000")).attempts_left == 2
    bank.world.clock.advance(minutes=16)  # the first failure is out of the 15-minute window
    assert (await attempt("000000")).attempts_left == 2
    assert (await attempt("000000")).attempts_left == 1
    assert (await attempt(PIN)).status == "verified"
    assert (await attempt("000000")).attempts_left == 2


async def test_lockout_follows_the_parameters(bank: Bank) -> None:
    await _pinned(bank)
    await bank.world.set("ivr.pin_max_failures", 5)
    await bank.world.set("ivr.pin_lockout_minutes", 30)
    results = [
        await bank.service.verify(account_number=DEPOSIT, pin="000000", caller_customer_id=None, call_id=None)
        for _ in range(5)
    ]
    assert [r.attempts_left for r in results] == [4, 3, 2, 1, 0]
    assert results[-1].status == "locked"
    assert results[-1].locked_until == bank.world.clock.now + timedelta(minutes=30)


async def test_unknown_numbers_missing_pins_lost_cards_and_deleted_customers(bank: Bank) -> None:
    customer_id, ids = await _pinned(bank)
    verify = bank.service.verify

    async def status(number: Any, pin: Any = PIN) -> str:
        return (await verify(account_number=number, pin=pin, caller_customer_id=7, call_id=None)).status

    assert await status("6222 0217 3840 5512 906") == "unknown_account"
    assert await status("12ab") == "unknown_account"
    assert await status(None) == "unknown_account"
    assert await status(CARD) == "no_pin"
    assert await status(DEPOSIT, None) == "wrong_pin"  # anything not a PIN is a wrong one
    await bank.service.set_pin(ids["card"], PIN)
    await bank.service.report_card_lost(customer_id, account_id=ids["card"], call_id="lost-1")
    assert await status(CARD) == "unknown_account"  # a lost card identifies nobody
    await bank.world.update(customer_id, deleted_at=bank.world.clock.now)
    assert await status(DEPOSIT) == "unknown_account"
    unknown = [a for a in await bank.audits("verify") if a.detail and a.detail["result"] == "unknown_account"]
    assert len(unknown) == 5 and unknown[0].entity_id is None
    with pytest.raises(InvalidInput) as info:
        await verify(account_number=DEPOSIT, pin=PIN, caller_customer_id=None, call_id="x" * 65)
    assert info.value.field == "call_id"


async def test_caller_id_of_another_customer_is_recorded(bank: Bank) -> None:
    customer_id, _ = await _pinned(bank)
    other = await bank.world.customer("Li Lei")
    result = await bank.service.verify(
        account_number=DEPOSIT, pin=PIN, caller_customer_id=other, call_id=None
    )
    assert result.status == "verified" and result.customer_id == customer_id
    [entry] = await bank.audits("verify")
    assert entry.detail is not None and entry.detail["caller_matched"] is False
    assert (await bank.ivr_rows(customer_id))[-1].content == (
        "caller identified by phone with the PIN of **** 2907 (calling from a number of another customer)"
    )


async def test_concurrent_wrong_pins_are_each_counted_once(bank: Bank) -> None:
    _, ids = await _pinned(bank)

    async def attempt(n: int) -> str:
        result = await bank.service.verify(
            account_number=DEPOSIT, pin=f"{n:06d}", caller_customer_id=None, call_id=f"race-{n}"
        )
        return result.status

    async with asyncio.timeout(TIMEOUT):
        statuses = await asyncio.gather(*(attempt(n) for n in range(6)))
    assert sorted(statuses) == ["locked"] * 4 + ["wrong_pin"] * 2
    account = await bank.account(ids["deposit"])
    assert account.pin_failures == 0 and account.pin_locked_until is not None
    counted = [a for a in await bank.audits("verify") if a.detail and a.detail["attempts_left"] is not None]
    assert sorted(a.detail["attempts_left"] for a in counted if a.detail) == [0, 0, 0, 0, 1, 2]


# -- secrets never leak ----------------------------------------------------------------

_TIMESTAMP = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{1,6}")  # microseconds could hold any six digits
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _secrets() -> list[str]:
    number = digits(DEPOSIT)
    return [PIN, number, DEPOSIT, number[:-4], "6222-0217-3840-5512-907"]


def _leaks(text: str) -> list[str]:
    text = _TIMESTAMP.sub("", text)
    return [secret for secret in _secrets() if secret in text]


def _as_text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return ""  # a typed date holds no PIN (and its microseconds would be noise)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


async def test_pin_and_number_never_reach_logs_audit_or_columns(
    bank: Bank, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # every statement and its parameters too
    customer_id, ids = await _pinned(bank)
    verify = bank.service.verify
    for pin in (PIN, "000000", "111111", "222222", PIN):  # right, wrong ×3 (locks), right while locked
        await verify(account_number=DEPOSIT, pin=pin, caller_customer_id=customer_id, call_id="leak-1")
    await verify(account_number="6222-0217-3840-5512-907", pin=PIN, caller_customer_id=None, call_id=None)
    await verify(account_number=digits(DEPOSIT) + "1", pin=PIN, caller_customer_id=None, call_id=None)
    with pytest.raises(InvalidInput) as info:
        await bank.service.set_pin(ids["deposit"], PIN + "0")
    assert not _leaks(str(info.value))
    await bank.service.balances(customer_id, call_id="leak-1")
    await bank.service.report_card_lost(customer_id, account_id=None, call_id="leak-1")

    names = {record.name for record in caplog.records}
    assert {"sqlalchemy.engine.Engine", "crm_core.selfservice.verify", "crm_core.selfservice.cards"} <= names
    for record in caplog.records:
        texts = [record.getMessage(), record.exc_text or ""]
        texts += [_as_text(v) for k, v in vars(record).items() if k not in _RECORD_FIELDS]
        for text in texts:
            assert not _leaks(text), f"log record {record.name}:{record.msg!r} leaks {_leaks(text)}"
    async with bank.sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            for row in rows:
                for column, value in zip(table.columns, row, strict=True):
                    assert not _leaks(_as_text(value)), f"{table.name}.{column.name} leaks a secret"
        stored = await session.scalar(select(Account.pin_hash).where(Account.id == ids["deposit"]))
    assert stored is not None and pin_matches(PEPPER, PIN, stored)
