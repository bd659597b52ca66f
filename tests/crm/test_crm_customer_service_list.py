"""CustomerService.list (visibility, search, filters, pages) and masking of every output."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from crm_access_kit import PEPPER, REGION, Office, add_customer, add_grant, make_office
from pydantic import BaseModel, SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import AuditLog
from crm_core.customers.accounts import AccountBook
from crm_core.customers.recycle import RecycleBin
from crm_core.customers.schemas import ContactInput, CustomerCreate, CustomerUpdate, PhoneInput
from crm_core.customers.service import CustomerService
from crm_core.errors import InvalidInput
from crm_core.models.coltypes import utcnow
from crm_core.sharing.service import SharingService

Sessions = async_sessionmaker[AsyncSession]
CARD = "6225 8812 3456 7890"
ID_NUMBER = "110101199003071234"


@pytest.fixture
async def office(sessions: Sessions) -> Office:
    return await make_office(sessions)


@pytest.fixture
def service(sessions: Sessions) -> CustomerService:
    return CustomerService(sessions, PEPPER, REGION)


@pytest.fixture
async def book(sessions: Sessions, office: Office) -> dict[str, int]:
    """alice: three customers; carol, bob: one each; one in the pool."""
    ids = {
        "wang": await add_customer(sessions, "Alice Wang", office.alice, phone="138 1234 5678", tier="vip",
                                   deal_status="won"),
        "alicia": await add_customer(sessions, "alicia chen", office.alice, tier="gold"),
        "pure": await add_customer(sessions, "100% Pure_Water Ltd", office.alice),
        "zhang": await add_customer(sessions, "Zhang Wei", office.carol, phone="13900002222"),
        "bob": await add_customer(sessions, "Bob Customer", office.bob),
        "pool": await add_customer(sessions, "Pool Li", None, phone="13700003333"),
    }  # fmt: skip
    await AccountBook(sessions, PEPPER).open_account(ids["wang"], type="card", number=CARD)
    return ids


async def _names(service: CustomerService, actor: object, **filters: object) -> list[str]:
    page = await service.list(actor, **filters)  # type: ignore[arg-type]
    return [item.name for item in page.items]


async def test_each_actor_lists_what_they_may_read(
    service: CustomerService, office: Office, book: dict[str, int], sessions: Sessions
) -> None:
    assert await _names(service, office.alice) == [
        "100% Pure_Water Ltd",
        "Alice Wang",
        "alicia chen",
        "Pool Li",
    ]
    assert await _names(service, office.dan) == ["Pool Li"]
    assert await _names(service, office.sam) == [
        "100% Pure_Water Ltd", "Alice Wang", "alicia chen", "Bob Customer", "Pool Li",
    ]  # fmt: skip
    assert (await service.list(office.root)).total == 6
    await add_grant(sessions, book["zhang"], user=office.dan, access="read", expires_in=timedelta(hours=1))
    assert await _names(service, office.dan) == ["Pool Li", "Zhang Wei"]
    assert await _names(service, office.offered(office.bob, book["wang"]), mine=True) == ["Bob Customer"]
    assert "Alice Wang" in await _names(service, office.offered(office.bob, book["wang"]))


async def test_search_by_name_phone_or_last_four(
    service: CustomerService, office: Office, book: dict[str, int]
) -> None:
    assert await _names(service, office.alice, q="ALI") == ["Alice Wang", "alicia chen"]
    assert await _names(service, office.alice, q="wang") == ["Alice Wang"]
    assert await _names(service, office.alice, q="chen") == ["alicia chen"]
    # Names starting with the query come before names merely containing it.
    assert await _names(service, office.alice, q="A") == ["Alice Wang", "alicia chen", "100% Pure_Water Ltd"]
    assert await _names(service, office.alice, q="%") == ["100% Pure_Water Ltd"]
    assert await _names(service, office.alice, q="e_W") == ["100% Pure_Water Ltd"]
    assert await _names(service, office.alice, q="e%W") == []  # wildcards are matched literally
    for phone in ("+86 138-1234-5678", "13812345678", "0086 13812345678"):
        assert await _names(service, office.alice, q=phone) == ["Alice Wang"], phone
    assert await _names(service, office.alice, q="1381234567") == []  # no prefix matching on phones
    assert await _names(service, office.alice, q="7890") == ["Alice Wang"]
    assert await _names(service, office.alice, q="13900002222") == []  # carol's customer: not visible
    assert await _names(service, office.root, q="13900002222") == ["Zhang Wei"]
    assert await _names(service, office.alice, q="   ") == await _names(service, office.alice)
    with pytest.raises(InvalidInput) as raised:
        await service.list(office.alice, q="x" * 201)
    assert raised.value.field == "q"


async def test_filters(service: CustomerService, office: Office, book: dict[str, int]) -> None:
    assert await _names(service, office.alice, status="public") == ["Pool Li"]
    assert await _names(service, office.alice, tier="vip") == ["Alice Wang"]
    assert await _names(service, office.alice, deal_status="won") == ["Alice Wang"]
    assert await _names(service, office.sam, owner_login="bob") == ["Bob Customer"]
    assert await _names(service, office.sam, owner_login="carol") == []  # not sam's team
    assert await _names(service, office.alice, mine=True) == [
        "100% Pure_Water Ltd",
        "Alice Wang",
        "alicia chen",
    ]
    assert await _names(service, office.alice, mine=True, q="ali", tier="gold") == ["alicia chen"]
    for bad, field in (
        ({"status": "gone"}, "status"),
        ({"deal_status": "maybe"}, "deal_status"),
        ({"page": 0}, "page"),
        ({"page_size": 201}, "page_size"),
        ({"page_size": 0}, "page_size"),
    ):
        with pytest.raises(InvalidInput) as raised:
            await service.list(office.alice, **bad)  # type: ignore[arg-type]
        assert raised.value.field == field


async def test_pages(service: CustomerService, office: Office, book: dict[str, int]) -> None:
    seen: list[int] = []
    for number in (1, 2, 3):
        page = await service.list(office.root, page=number, page_size=2)
        assert (page.total, page.page, page.page_size, len(page.items)) == (6, number, 2, 2)
        seen += [item.id for item in page.items]
    assert sorted(seen) == sorted(book.values())
    assert (await service.list(office.root, page=4, page_size=2)).items == []
    assert len((await service.list(office.root, page_size=200)).items) == 6


async def test_summaries_mask_the_phone(
    service: CustomerService, office: Office, book: dict[str, int]
) -> None:
    [wang] = (await service.list(office.alice, q="Alice Wang")).items
    assert (wang.phone_masked, wang.owner_login, wang.owner_name, wang.tier) == (
        "*******5678",
        "alice",
        "Alice",
        "vip",
    )
    [plain] = (await service.list(office.alice, q="chen")).items
    assert plain.phone_masked is None


async def test_no_output_carries_a_full_account_or_id_number(sessions: Sessions, office: Office) -> None:
    service = CustomerService(sessions, PEPPER, REGION)
    created = await service.create(
        office.alice,
        CustomerCreate(
            name="Masked Ma",
            id_number=SecretStr(ID_NUMBER),
            phones=[PhoneInput(number="13811112222")],
            contacts=[ContactInput(name="Assistant", phone="13811113333")],
        ),
    )
    await AccountBook(sessions, PEPPER).open_account(created.id, type="card", number=CARD)
    await AccountBook(sessions, PEPPER).open_account(created.id, type="deposit", number="6217000011112222333")
    sharing = SharingService(sessions)
    outputs: list[BaseModel] = [
        created,
        await service.get(office.alice, created.id),
        await service.get(office.sam, created.id),
        await service.update(
            office.alice, created.id, CustomerUpdate(id_number=SecretStr(ID_NUMBER), tier="vip")
        ),
        await service.list(office.alice, q="Masked"),
        await service.list(office.alice, q="7890"),
        await sharing.share(
            office.alice, created.id, user_login="bob", access="read", expires_at=utcnow() + timedelta(days=1)
        ),
    ]
    outputs += await sharing.grants(office.alice, created.id)
    outputs.append(await service.get(office.bob, created.id))
    bin_ = RecycleBin(sessions)
    outputs.append(await bin_.delete(office.alice, created.id))
    outputs.append(await bin_.list_deleted(office.alice))
    outputs.append(await bin_.restore(office.alice, created.id))
    await bin_.delete(office.alice, created.id)
    await bin_.purge(office.root, created.id)
    outputs.append(await AuditLog(sessions).query(office.root, limit=1000))
    dumped = [json.dumps(o.model_dump(mode="json"), ensure_ascii=False) for o in outputs]
    assert any("**** 7890" in d for d in dumped) and any("**************1234" in d for d in dumped)
    for text in dumped:
        compact = text.replace(" ", "")
        for secret in (CARD.replace(" ", ""), "6217000011112222333", ID_NUMBER, "0307", "88123456"):
            assert secret not in compact, (secret, text[:200])
