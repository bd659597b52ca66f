"""Caller-ID lookup and screen-pop cards against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.accounts import AccountBook, load_or_create_pepper, number_digits
from crm_core.customers.directory import RECENT_FOLLOW_UPS, CustomerDirectory
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import Account
from crm_core.schemas import InteractionRecord

PEPPER = b"p" * 32
CARD_NUMBER = "6225 8812 3456 7890"

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def directory(sessions: async_sessionmaker[AsyncSession]) -> CustomerDirectory:
    return CustomerDirectory(sessions)


@pytest.fixture
def book(sessions: async_sessionmaker[AsyncSession]) -> AccountBook:
    return AccountBook(sessions, PEPPER)


async def _customer(directory: CustomerDirectory, name: str, phone: str, **kwargs: str) -> int:
    customer_id = await directory.create_customer(name, **kwargs)
    await directory.add_phone(customer_id, phone, "CN", is_primary=True)
    return customer_id


async def test_lookup_exact_match_in_any_format(directory: CustomerDirectory) -> None:
    alice = await _customer(directory, "Alice Wang", "138 1234 5678", tier="vip")
    await _customer(directory, "Bob Li", "13812345679")  # one digit apart: must not match
    for raw in ("+8613812345678", "0086 138-1234-5678", "13812345678", "１３８１２３４５６７８"):
        cards = await directory.lookup_by_caller_id(raw, "CN")
        assert [c.id for c in cards] == [alice], raw
    card = (await directory.lookup_by_caller_id("13812345678", "CN"))[0]
    assert (card.name, card.tier, card.phone_e164) == ("Alice Wang", "vip", "+8613812345678")


async def test_lookup_never_matches_a_prefix_or_pattern(directory: CustomerDirectory) -> None:
    await _customer(directory, "Alice Wang", "13812345678")
    for raw in ("1381234567", "%", "138%", "+86138", "_3812345678", "' OR '1'='1"):
        assert await directory.lookup_by_caller_id(raw, "CN") == [], raw


async def test_lookup_shared_landline_gives_every_customer(directory: CustomerDirectory) -> None:
    husband = await _customer(directory, "王伟", "13900001111")
    wife = await _customer(directory, "李娜", "13900002222")
    for customer_id in (husband, wife):
        await directory.add_phone(customer_id, "010-6552-9988", "CN", type="landline")
    cards = await directory.lookup_by_caller_id("01065529988", "CN")
    assert [c.id for c in cards] == [husband, wife]
    assert {c.phone_e164 for c in cards} == {"+861065529988"}  # the number that matched
    assert await directory.lookup_by_caller_id("(010) 6552 9988", "CN") == cards


async def test_lookup_excludes_soft_deleted(directory: CustomerDirectory) -> None:
    gone = await _customer(directory, "Gone Zhao", "13700001234")
    kept = await _customer(directory, "Kept Sun", "13700009999")
    await directory.add_phone(kept, "13700001234", "CN")
    assert [c.id for c in await directory.lookup_by_caller_id("13700001234", "CN")] == [gone, kept]
    assert await directory.soft_delete(gone) is True
    assert await directory.soft_delete(gone) is False  # already in the recycle bin
    assert [c.id for c in await directory.lookup_by_caller_id("13700001234", "CN")] == [kept]
    assert await directory.card(gone) is None
    assert await directory.soft_delete(999_999) is False


@pytest.mark.parametrize("raw", [None, "", "anonymous", "unknown", "<unknown>", "private", "garbage"])
async def test_lookup_withheld_or_garbage_gives_nothing(
    directory: CustomerDirectory, raw: str | None
) -> None:
    await _customer(directory, "Alice Wang", "13812345678")
    assert await directory.lookup_by_caller_id(raw, "CN") == []


async def test_card_masks_accounts_and_shows_owner(
    sessions: async_sessionmaker[AsyncSession], directory: CustomerDirectory, book: AccountBook
) -> None:
    agents = AgentDirectory(sessions)
    await agents.create_agent("agent7", "Chen Jie", "pw", extension="1007")
    customer_id = await _customer(
        directory, "Alice Wang", "13812345678", owner_login="agent7", tier="private"
    )
    await directory.add_phone(customer_id, "021 5555 1234", "CN", type="work")
    card_id = await book.open_account(customer_id, type="card", number=CARD_NUMBER, balance="1234.5")
    deposit_id = await book.open_account(
        customer_id, type="deposit", number="6217000011112222333", balance=Decimal("98765432.10")
    )
    card = await directory.card(customer_id)
    assert card is not None
    assert card.owner_agent == "agent7"
    assert card.phone_e164 == "+8613812345678"  # the primary number
    assert [(a.id, a.type, a.masked_number, a.balance) for a in card.accounts] == [
        (card_id, "card", "**** 7890", Decimal("1234.50")),
        (deposit_id, "deposit", "**** 2333", Decimal("98765432.10")),
    ]
    dumped = card.model_dump_json()
    for full in (number_digits(CARD_NUMBER), CARD_NUMBER, "6217000011112222333"):
        assert full not in dumped
    # Nor is the full number anywhere in the database.
    async with sessions() as session:
        rows = (await session.execute(select(Account.number_last4, Account.number_hash))).all()
    assert all(number_digits(CARD_NUMBER) not in "".join(row) for row in rows)
    assert await directory.card(999_999) is None


async def test_card_carries_last_five_follow_ups_newest_first(
    sessions: async_sessionmaker[AsyncSession], directory: CustomerDirectory
) -> None:
    await AgentDirectory(sessions).create_agent("agent1", "Liu Yang", "pw", extension="1001")
    alice = await _customer(directory, "Alice Wang", "13812345678")
    bob = await _customer(directory, "Bob Li", "13900001111")
    writer = InteractionWriter(sessions)
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    for n in (3, 0, 6, 1, 5, 2, 4):  # written out of order
        await writer.upsert(
            InteractionRecord(
                call_id=f"alice-{n}",
                customer_id=alice,
                agent_login="agent1",
                arrived_at=start + timedelta(days=n),
                outcome="answered",
                disposition=f"d{n}",
            )
        )
    await writer.upsert(InteractionRecord(call_id="bob-0", customer_id=bob, arrived_at=start))
    card = await directory.card(alice)
    assert card is not None
    assert len(card.recent_follow_ups) == RECENT_FOLLOW_UPS
    assert [f.disposition for f in card.recent_follow_ups] == ["d6", "d5", "d4", "d3", "d2"]
    assert card.recent_follow_ups[0].at == start + timedelta(days=6)
    assert card.recent_follow_ups[0].agent_name == "Liu Yang"
    bob_card = await directory.card(bob)
    assert bob_card is not None and [f.agent_name for f in bob_card.recent_follow_ups] == [None]
    # Lookups with several matches fetch every card's history in one go.
    await directory.add_phone(bob, "13812345678", "CN")
    cards = await directory.lookup_by_caller_id("13812345678", "CN")
    assert [len(c.recent_follow_ups) for c in cards] == [5, 1]


async def test_customer_validation(directory: CustomerDirectory) -> None:
    with pytest.raises(ValueError, match="name"):
        await directory.create_customer("   ")
    with pytest.raises(ValueError, match="kind"):
        await directory.create_customer("X", kind="alien")
    with pytest.raises(ValueError, match="no agent"):
        await directory.create_customer("X", owner_login="nobody")
    customer_id = await directory.create_customer("X")
    with pytest.raises(ValueError, match="not a valid phone number"):
        await directory.add_phone(customer_id, "anonymous", "CN")
    with pytest.raises(ValueError, match="no customer"):
        await directory.add_phone(999_999, "13812345678", "CN")


async def test_accounts_found_by_full_number_only(directory: CustomerDirectory, book: AccountBook) -> None:
    alice = await _customer(directory, "Alice Wang", "13812345678")
    await book.open_account(alice, type="card", number=CARD_NUMBER, balance=10)
    assert await book.customer_for_number("6225-8812-3456-7890") == alice
    assert await book.customer_for_number("6225881234567891") is None
    assert await book.customer_for_number("7890") is None  # last 4 alone identify nothing
    assert await book.customer_for_number("not a number") is None
    with pytest.raises(ValueError, match="already on file"):
        await book.open_account(alice, type="card", number=CARD_NUMBER)
    with pytest.raises(ValueError, match="8 to 34 digits") as info:
        await book.open_account(alice, type="card", number="6225 88ab 3456")
    assert "88ab" not in str(info.value)  # errors never echo the number
    with pytest.raises(ValueError, match="no customer"):
        await book.open_account(999_999, type="deposit", number="6217000011112222333")
    # Another install (another pepper) cannot recognise the number.
    other = AccountBook(book._sessions, b"q" * 32)
    assert await other.customer_for_number(CARD_NUMBER) is None
    await directory.soft_delete(alice)
    assert await book.customer_for_number(CARD_NUMBER) is None


def test_pepper_file_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "pepper"
    first = load_or_create_pepper(path)
    assert len(first) == 32
    assert load_or_create_pepper(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("zz not hex")
    with pytest.raises(ValueError, match="not hex"):
        load_or_create_pepper(path)
