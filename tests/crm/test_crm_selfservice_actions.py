"""IVR self-service actions: balances, recent transactions, lost cards, callbacks, demo PINs."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from protection_world import T0
from selfservice_kit import CARD, CARD2, DEPOSIT, LOAN, PEPPER, WEALTH, Bank
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.demo.seed import DEMO_PIN, seed_demo
from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.followups.reminders import ReminderService
from crm_core.models import Customer, Interaction
from crm_core.models.activity import CallbackRequest, LostCardReport
from crm_core.parameters.store import ParameterStore
from crm_core.selfservice.service import SelfService

TIMEOUT = 20
NUMBER = "+8613812345678"


@pytest.fixture
async def bank(sessions: async_sessionmaker[AsyncSession]) -> Bank:
    return await Bank.open(sessions)


async def test_balances_list_every_account_exactly_deposits_first(bank: Bank) -> None:
    customer_id, ids = await bank.customer(loan=LOAN, card=CARD, wealth=WEALTH, deposit=DEPOSIT)
    balances = await bank.service.balances(customer_id, call_id="b-1")
    assert [(b.type, b.last4, b.balance, b.currency, b.status) for b in balances] == [
        ("deposit", "2907", Decimal("1000.50"), "CNY", "active"),
        ("card", "2731", Decimal("1000.50"), "CNY", "active"),
        ("wealth", "9753", Decimal("1000.50"), "CNY", "active"),
        ("loan", "4412", Decimal("1000.50"), "CNY", "active"),
    ]
    assert balances[0].account_id == ids["deposit"]
    [view] = [a for a in await bank.audits("view") if a.entity == "customer"]
    assert view.detail == {"view": "balances", "via": "ivr", "call_id": "b-1"} and view.actor_login == "ivr"
    [row] = await bank.ivr_rows(customer_id)
    assert (row.content, row.outcome, row.call_id) == ("balances heard by phone (4)", "ivr-balances", None)
    assert (await bank.world.get(customer_id)).last_follow_up_at == T0


async def test_balances_of_unknown_or_deleted_customers_are_not_found(bank: Bank) -> None:
    customer_id, _ = await bank.customer(deposit=DEPOSIT)
    with pytest.raises(NotFound):
        await bank.service.balances(999_999)
    await bank.world.update(customer_id, deleted_at=T0)
    with pytest.raises(NotFound):
        await bank.service.balances(customer_id)
    with pytest.raises(NotFound):
        await bank.service.recent_transactions(customer_id)


async def test_recent_transactions_newest_first(bank: Bank) -> None:
    customer_id, ids = await bank.customer(deposit=DEPOSIT, card=CARD)
    await bank.transaction(ids["deposit"], T0 - timedelta(days=9), "5000.00", "salary")
    await bank.transaction(ids["card"], T0 - timedelta(days=1, hours=3), "-88.30", "supermarket")
    await bank.transaction(ids["deposit"], T0 - timedelta(days=4), "-1200.00", "rent")
    await bank.transaction(ids["card"], T0 - timedelta(hours=2), "-15.00", "coffee")
    lines = await bank.service.recent_transactions(customer_id, call_id="t-1")
    assert [(t.amount, t.occurred_on, t.description, t.account_last4) for t in lines] == [
        (Decimal("-15.00"), date(2025, 6, 2), "coffee", "2731"),
        (Decimal("-88.30"), date(2025, 6, 1), "supermarket", "2731"),
        (Decimal("-1200.00"), date(2025, 5, 29), "rent", "2907"),
    ]
    assert len(await bank.service.recent_transactions(customer_id, limit=20)) == 4
    for limit in (0, 21):
        with pytest.raises(InvalidInput) as info:
            await bank.service.recent_transactions(customer_id, limit=limit)
        assert info.value.field == "limit"
    assert (await bank.ivr_rows(customer_id))[0].content == "transactions heard by phone (3)"


async def test_lost_card_takes_the_most_recently_used_card_once_per_call(bank: Bank) -> None:
    customer_id, ids = await bank.customer(deposit=DEPOSIT, card=CARD, card2=CARD2)
    await bank.transaction(ids["card"], T0 - timedelta(days=1), "-10.00", "older")
    await bank.transaction(ids["card2"], T0 - timedelta(hours=1), "-20.00", "newer")
    first = await bank.service.report_card_lost(customer_id, account_id=None, call_id="call-1")
    assert re.fullmatch(r"LC-20250602-\d{6}", first.reference)
    assert (first.account_id, first.last4, first.already_reported) == (ids["card2"], "8846", False)
    # The IVR passes the deposit account the caller verified with: not a card, one is chosen.
    again = await bank.service.report_card_lost(customer_id, account_id=ids["deposit"], call_id="call-1")
    assert (again.reference, again.account_id, again.already_reported) == (
        first.reference,
        ids["card2"],
        True,
    )
    assert (await bank.account(ids["card2"])).status == "lost"
    assert (await bank.account(ids["card"])).status == "active"
    second = await bank.service.report_card_lost(customer_id, account_id=None, call_id="call-2")
    assert second.account_id == ids["card"] and second.reference != first.reference
    with pytest.raises(NotFound):
        await bank.service.report_card_lost(customer_id, account_id=None, call_id="call-3")
    # Naming a card reported before returns its earlier reference.
    named = await bank.service.report_card_lost(customer_id, account_id=ids["card2"], call_id="call-4")
    assert (named.reference, named.already_reported) == (first.reference, True)


async def test_lost_card_follow_up_is_urgent_for_the_owner_and_audited(bank: Bank) -> None:
    customer_id, ids = await bank.customer(card=CARD)
    result = await bank.service.report_card_lost(customer_id, account_id=ids["card"], call_id="call-9")
    [row] = await bank.ivr_rows(customer_id)
    assert (row.content, row.urgent, row.next_contact_on, row.created_by_id, row.id) == (
        "card **** 2731 reported lost by phone",
        True,
        T0.date(),
        None,
        result.follow_up_id,
    )
    reminders = await ReminderService(bank.sessions, bank.world.parameters, clock=bank.world.clock).for_agent(
        bank.world["alice"]
    )
    [reminder] = reminders.to_contact
    assert (reminder.customer_id, reminder.urgent, reminder.follow_up_id) == (customer_id, True, row.id)
    [entry] = [a for a in await bank.audits("update") if a.entity == "account"]
    assert entry.detail == {
        "status": "lost",
        "reference": result.reference,
        "call_id": "call-9",
        "customer_id": customer_id,
    }


async def test_lost_card_refuses_other_customers_accounts(bank: Bank) -> None:
    customer_id, _ = await bank.customer(deposit=DEPOSIT)
    other_id, other = await bank.customer("Li Lei", card=CARD)
    with pytest.raises(NotFound):
        await bank.service.report_card_lost(customer_id, account_id=other["card"], call_id=None)
    with pytest.raises(NotFound):
        await bank.service.report_card_lost(customer_id, account_id=None, call_id=None)  # no card at all
    with pytest.raises(NotFound):
        await bank.service.report_card_lost(999_999, account_id=None, call_id=None)
    assert (await bank.account(other["card"])).status == "active" and other_id != customer_id


async def test_concurrent_reports_in_one_call_give_one_reference(bank: Bank) -> None:
    customer_id, _ = await bank.customer(card=CARD, card2=CARD2)
    async with asyncio.timeout(TIMEOUT):
        results = await asyncio.gather(
            *(bank.service.report_card_lost(customer_id, account_id=None, call_id="race") for _ in range(4))
        )
    assert len({r.reference for r in results}) == 1
    assert sorted(r.already_reported for r in results) == [False, True, True, True]
    async with bank.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LostCardReport)) == 1
    assert len(await bank.ivr_rows(customer_id)) == 1


async def test_callback_request_is_stored_idempotent_and_in_the_history(bank: Bank) -> None:
    customer_id, _ = await bank.customer(deposit=DEPOSIT)
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    ref = await bank.service.request_callback(
        customer_id,
        number_e164=NUMBER,
        window_start=start,
        window_end=end,
        reason="card question",
        call_id="cb-1",
    )
    assert re.fullmatch(r"CB-\d{8}-\d{6}", ref.reference) and (ref.status, ref.created) == ("pending", True)
    assert (ref.window_start, ref.window_end) == (start, end)
    repeat = await bank.service.request_callback(
        customer_id,
        number_e164=NUMBER,
        window_start=end,
        window_end=end + timedelta(hours=1),
        reason="again",
        call_id="cb-1",
    )
    assert (repeat.id, repeat.reference, repeat.created) == (ref.id, ref.reference, False)
    [row] = await bank.ivr_rows(customer_id)
    assert row.content == (
        f"callback requested by phone to {NUMBER} between 2025-06-02 10:00 and 2025-06-02 12:00 UTC "
        "(card question)"
    )
    [entry] = [a for a in await bank.audits("create") if a.entity == "callback"]
    assert entry.entity_id == str(ref.id)
    anonymous = await bank.service.request_callback(
        None, number_e164="+14155550123", window_start=start, window_end=end, reason="busy", call_id=None
    )
    async with bank.sessions() as session:
        stored = await session.get(CallbackRequest, anonymous.id)
    assert stored is not None and (stored.customer_id, stored.number_e164, stored.status) == (
        None,
        "+14155550123",
        "pending",
    )


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("number_e164", {"number_e164": "13812345678"}),
        ("number_e164", {"number_e164": "+861234"}),
        ("window_end", {"window_end": T0 + timedelta(minutes=30)}),
        ("window_end", {"window_start": T0 - timedelta(hours=3), "window_end": T0 - timedelta(hours=1)}),
        ("window_end", {"window_end": T0 + timedelta(days=9)}),
        ("window_start", {"window_start": T0 + timedelta(days=40), "window_end": T0 + timedelta(days=41)}),
        ("reason", {"reason": "  "}),
        ("reason", {"reason": "x" * 256}),
        ("call_id", {"call_id": ""}),
    ],
)
async def test_callback_request_validation_names_the_field(bank: Bank, field: str, changes: dict) -> None:
    fields = {
        "number_e164": NUMBER,
        "window_start": T0 + timedelta(hours=1),
        "window_end": T0 + timedelta(hours=2),
        "reason": "question",
        "call_id": "v-1",
        **changes,
    }
    with pytest.raises(InvalidInput) as info:
        await bank.service.request_callback(None, **fields)
    assert info.value.field == field


async def test_callback_for_unknown_customer_is_not_found_and_naive_times_are_utc(bank: Bank) -> None:
    with pytest.raises(NotFound):
        await bank.service.request_callback(
            999_999,
            number_e164=NUMBER,
            window_start=T0,
            window_end=T0 + timedelta(hours=1),
            reason="r",
            call_id=None,
        )
    naive = datetime(2025, 6, 2, 15, 0)
    ref = await bank.service.request_callback(
        None,
        number_e164=NUMBER,
        window_start=naive,
        window_end=naive + timedelta(hours=1),
        reason="r",
        call_id=None,
    )
    assert ref.window_start == datetime(2025, 6, 2, 15, 0, tzinfo=UTC)


async def test_pending_callbacks_and_their_transitions(bank: Bank) -> None:
    customer_id, _ = await bank.customer(deposit=DEPOSIT)
    service = bank.service

    async def ask(hours: int, call_id: str) -> int:
        start = T0 + timedelta(hours=hours)
        ref = await service.request_callback(
            customer_id,
            number_e164=NUMBER,
            window_start=start,
            window_end=start + timedelta(hours=1),
            reason="r",
            call_id=call_id,
        )
        return ref.id

    late, early, middle = await ask(5, "a"), await ask(1, "b"), await ask(3, "c")
    assert [c.id for c in await service.pending_callbacks()] == [early, middle, late]
    assert [c.id for c in await service.pending_callbacks(due_by=T0 + timedelta(hours=3))] == [early, middle]
    assert [c.id for c in await service.pending_callbacks(limit=1)] == [early]
    taken = await service.mark_callback(early, "in-progress")
    assert (taken.status, taken.customer_id, taken.number_e164) == ("in-progress", customer_id, NUMBER)
    assert [c.id for c in await service.pending_callbacks()] == [middle, late]
    done = await service.mark_callback(early, "done", "reached the customer")
    assert (done.status, done.result) == ("done", "reached the customer")
    with pytest.raises(Conflict):
        await service.mark_callback(early, "pending")
    with pytest.raises(NotFound):
        await service.mark_callback(999_999, "done")
    for bad in ({"status": "lost"}, {"status": "done", "result": "x" * 256}):
        with pytest.raises(InvalidInput):
            await service.mark_callback(middle, **bad)
    with pytest.raises(InvalidInput):
        await service.pending_callbacks(limit=0)
    assert (await service.mark_callback(middle, "in-progress")).status == "in-progress"
    retry = await service.mark_callback(middle, "pending", "no answer")  # try again later
    assert (retry.status, retry.result) == ("pending", "no answer")
    assert [c.id for c in await service.pending_callbacks()] == [middle, late]
    contents = [row.content for row in await bank.ivr_rows(customer_id)]
    assert f"callback to {NUMBER} done: reached the customer" in contents
    assert not any(c and "in-progress" in c for c in contents)  # only final statuses reach the history


async def test_two_instances_taking_one_callback_get_it_once(bank: Bank) -> None:
    ref = await bank.service.request_callback(
        None, number_e164=NUMBER, window_start=T0, window_end=T0 + timedelta(hours=1), reason="r", call_id="x"
    )
    other = SelfService(bank.sessions, PEPPER, ParameterStore(bank.sessions), clock=bank.world.clock)

    async def take(service: SelfService) -> str:
        try:
            return (await service.mark_callback(ref.id, "in-progress")).status
        except Conflict:
            return "conflict"

    async with asyncio.timeout(TIMEOUT):
        outcomes = await asyncio.gather(take(bank.service), take(other))
    assert sorted(outcomes) == ["conflict", "in-progress"]


@pytest.mark.usefixtures("fast_password_hashing")
async def test_demo_accounts_answer_to_the_demo_pin(sessions: async_sessionmaker[AsyncSession]) -> None:
    summary = await seed_demo(sessions, customers=12, pepper=PEPPER)
    assert summary.demo_pin == DEMO_PIN == "123456" and DEMO_PIN in summary.message
    assert 1 <= len(summary.demo_accounts) <= 8
    service = SelfService(sessions, PEPPER, ParameterStore(sessions))
    for name, number in summary.demo_accounts:
        result = await service.verify(
            account_number=number, pin=DEMO_PIN, caller_customer_id=None, call_id=None
        )
        assert result.status == "verified" and result.customer_id is not None
        async with sessions() as session:
            assert (
                await session.scalar(select(Customer.name).where(Customer.id == result.customer_id)) == name
            )
    async with sessions() as session:
        ivr_rows = await session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.channel == "ivr")
        )
    assert ivr_rows == len(summary.demo_accounts)
    again = await seed_demo(sessions, customers=12, pepper=PEPPER)
    assert again.demo_accounts == summary.demo_accounts
