"""Contract payments on SQLite and PostgreSQL: received, refunds, outstanding and instalments, exact."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from contract_testkit import Clock, World, audit_rows, build_world, drive, grant, terms
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contracts.service import ContractService
from crm_core.errors import AccessDenied, Conflict, InvalidInput
from crm_core.parameters.store import ParameterStore

THIRDS = [
    {"due_on": "2026-03-31", "amount": "33.33"},
    {"due_on": "2026-04-30", "amount": "33.33"},
    {"due_on": "2026-05-31", "amount": "33.34"},
]


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    clock = Clock()
    return await build_world(
        sessions, clock, ContractService(sessions, ParameterStore(sessions), clock=clock)
    )


async def _hundred_in_thirds(world: World, status: str = "active") -> int:
    contract = await world.contracts.create(
        world.alice, world.ids["wang"], terms(lines=[], amount="100.00", installments=THIRDS)
    )
    await drive(world, contract.id, status)
    return contract.id


async def _pay(world: World, contract_id: int, amount: str, *, on: date | None = None) -> Decimal:
    view = await world.contracts.record_payment(
        world.alice,
        contract_id,
        amount=Decimal(amount),
        received_on=on or world.clock.today,
        method="transfer",
        reference=f"TX-{amount}",
    )
    assert view.received + view.outstanding == view.amount
    return view.outstanding


async def test_payments_and_refunds_are_exact(world: World) -> None:
    contract_id = await _hundred_in_thirds(world)
    assert await _pay(world, contract_id, "0.10") == Decimal("99.90")
    assert await _pay(world, contract_id, "0.20") == Decimal("99.70")
    view = await world.contracts.get(world.alice, contract_id)
    assert view.received == Decimal("0.30") and str(view.received) == "0.30"
    assert await _pay(world, contract_id, "-0.30") == Decimal("100.00")
    with pytest.raises(Conflict):  # more refunded than ever received
        await _pay(world, contract_id, "-0.01")
    for third in ("33.33", "33.33", "33.34"):
        await _pay(world, contract_id, third)
    view = await world.contracts.get(world.alice, contract_id)
    assert (view.received, view.outstanding) == (Decimal("100.00"), Decimal("0.00"))
    assert [i.status for i in view.installments] == ["paid", "paid", "paid"]
    with pytest.raises(Conflict):  # nothing outstanding
        await _pay(world, contract_id, "0.01")
    assert [p.amount for p in view.payments] == [
        Decimal(a) for a in ("0.10", "0.20", "-0.30", "33.33", "33.33", "33.34")
    ]
    assert view.payments[0].recorded_by == "alice" and view.payments[0].reference == "TX-0.10"
    payments = [r for r in await audit_rows(world, "contract", contract_id) if r.action == "payment"]
    assert [r.detail["received"] for r in payments if r.detail] == [
        "0.10",
        "0.30",
        "0.00",
        "33.33",
        "66.66",
        "100.00",
    ]


async def test_payment_input_is_checked_field_by_field(world: World) -> None:
    contract_id = await _hundred_in_thirds(world, "approved")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": 0.1}, "amount"),
        ({"amount": Decimal("0.001")}, "amount"),
        ({"method": "bitcoin"}, "method"),
        ({"reference": "x" * 65}, "reference"),
        ({"received_on": world.clock.today + timedelta(days=1)}, "received_on"),
    ]
    for change, field in cases:
        kwargs: dict[str, Any] = {
            "amount": Decimal("1.00"),
            "received_on": world.clock.today,
            "method": "cash",
            "reference": None,
        }
        with pytest.raises(InvalidInput) as caught:
            await world.contracts.record_payment(world.alice, contract_id, **(kwargs | change))
        assert caught.value.field == field, change
    outstanding = await _pay(world, contract_id, "1.00")  # approved contracts take payments too
    assert outstanding == Decimal("99.00")


@pytest.mark.parametrize("status", ["draft", "pending", "rejected", "expired", "terminated"])
async def test_only_approved_or_active_contracts_take_payments(world: World, status: str) -> None:
    contract_id = await _hundred_in_thirds(world, status)
    with pytest.raises(Conflict):
        await _pay(world, contract_id, "1.00")


async def test_who_may_record_payments(world: World) -> None:
    contract_id = await _hundred_in_thirds(world)
    for actor in (world.sup_a, world.root):
        view = await world.contracts.record_payment(
            actor, contract_id, amount=Decimal("1.00"), received_on=world.clock.today, method="cash"
        )
    assert view.received == Decimal("2.00")
    await grant(world, "wang", "bob", "write")
    with pytest.raises(AccessDenied):  # write access on the customer, no say over alice's contract
        await world.contracts.record_payment(
            world.bob, contract_id, amount=Decimal("1.00"), received_on=world.clock.today, method="cash"
        )


async def test_instalment_statuses_follow_the_calendar(world: World) -> None:
    contract_id = await _hundred_in_thirds(world)
    await _pay(world, contract_id, "40.00", on=date(2026, 3, 9))

    async def statuses() -> list[tuple[str, str, str]]:
        view = await world.contracts.get(world.alice, contract_id)
        return [(str(i.paid), str(i.remaining), i.status) for i in view.installments]

    assert await statuses() == [
        ("33.33", "0.00", "paid"),
        ("6.67", "26.66", "partial"),
        ("0.00", "33.34", "due"),
    ]
    world.clock.now = world.clock.now.replace(month=5, day=1)
    assert await statuses() == [
        ("33.33", "0.00", "paid"),
        ("6.67", "26.66", "overdue"),
        ("0.00", "33.34", "due"),
    ]
    world.clock.now = world.clock.now.replace(month=6, day=1)
    assert [s for *_, s in await statuses()] == ["paid", "overdue", "overdue"]
    await _pay(world, contract_id, "60.00")
    assert [s for *_, s in await statuses()] == ["paid", "paid", "paid"]


async def test_concurrent_payments_never_exceed_the_amount(world: World) -> None:
    contract_id = await _hundred_in_thirds(world)
    results = await asyncio.gather(
        *(_pay(world, contract_id, "60.00") for _ in range(2)), return_exceptions=True
    )
    view = await world.contracts.get(world.alice, contract_id)
    assert view.received == Decimal("60.00") and view.outstanding == Decimal("40.00")
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Decimal"], results
