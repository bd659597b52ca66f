"""Commission statements on SQLite and PostgreSQL: runs, splits, renewals, refunds, approval, adjustments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from commission_kit import Floor, build_floor
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.commission.schemas import SplitShare
from crm_core.commission.service import CommissionService
from crm_core.demo.commission import DEMO_RULES, demo_periods
from crm_core.demo.seed import seed_demo
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import AuditLog
from crm_core.models.coltypes import utcnow

D = Decimal
NOV = "2026-11"


@pytest.fixture
async def floor(sessions: async_sessionmaker[AsyncSession]) -> Floor:
    return await build_floor(sessions)


async def totals(floor: Floor, period: str = NOV) -> dict[str, tuple[str, str, str]]:
    rows = await floor.service.statements(floor["root"], period)
    return {s.agent_login: (str(s.commission), str(s.adjustments), s.status) for s in rows}


SCENARIOS: list[tuple[str, dict[str, Any], list[tuple[str, str, int]], dict[str, str]]] = [
    # name, rule terms, payments (amount, owner, day in November), expected totals per agent
    ("whole-at-breakpoint", {"tier_method": "whole"}, [("60000", "alice", 5), ("40000", "alice", 20)],
     {"alice": "2000.00"}),
    ("slice-at-breakpoint", {"tier_method": "slice"}, [("60000", "alice", 5), ("40000", "alice", 20)],
     {"alice": "1000.00"}),
    ("slice-across-two", {"tier_method": "slice"}, [("150000", "alice", 5), ("100000", "alice", 6)],
     {"alice": "4500.00"}),
    ("per-agent-volumes", {"tier_method": "whole"}, [("90000", "alice", 5), ("90000", "olga", 6)],
     {"alice": "900.00", "olga": "900.00"}),
    ("refund-same-month", {"tier_method": "slice"}, [("150000", "alice", 5), ("-50000", "alice", 25)],
     {"alice": "1000.00"}),
    ("margin", {"basis": "margin", "margin_ratio": "20"}, [("100000", "alice", 5)], {"alice": "200.00"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "terms", "payments", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
async def test_statements_on_hand_computed_examples(
    floor: Floor,
    name: str,
    terms: dict[str, Any],
    payments: list[tuple[str, str, int]],
    expected: dict[str, str],
) -> None:
    await floor.rule(**terms)
    contracts: dict[str, int] = {}
    for amount, owner, day in payments:
        if owner not in contracts:
            contracts[owner] = await floor.contract("500000", owner=owner)
        await floor.pay(contracts[owner], amount, date(2026, 11, day))
    await floor.pay(contracts["alice"], "99999", date(2026, 10, 31))  # another month: not in November
    result = await floor.service.run(floor["root"], NOV)
    assert {r.agent_login: str(r.total) for r in result.rows} == expected
    assert result.total == sum(D(v) for v in expected.values())


async def test_lines_trace_contracts_and_payments_and_split(floor: Floor) -> None:
    await floor.rule(tier_method="whole")
    contract = await floor.contract("500000")
    with pytest.raises(InvalidInput, match="sum to exactly 100"):
        await floor.service.rules.set_split(
            floor["sue"],
            contract,
            [SplitShare(login="alice", percent=D("60")), SplitShare(login="bob", percent=D("39.99"))],
        )
    with pytest.raises(InvalidInput, match="neither the owner"):
        await floor.service.rules.set_split(
            floor["sue"],
            contract,
            [SplitShare(login="alice", percent=D("50")), SplitShare(login="olga", percent=D("50"))],
        )
    with pytest.raises(AccessDenied):  # the owner does not split their own credit
        await floor.service.rules.set_split(
            floor["alice"], contract, [SplitShare(login="alice", percent=D("100"))]
        )
    split = await floor.service.rules.set_split(
        floor["sue"],
        contract,
        [SplitShare(login="alice", percent=D("60")), SplitShare(login="bob", percent=D("40"))],
    )
    assert [(s.login, s.percent) for s in split.shares] == [("alice", D("60.00")), ("bob", D("40.00"))]
    payment = await floor.pay(contract, "10000.00", date(2026, 11, 9))
    await floor.service.run(floor["root"], NOV)
    assert await totals(floor) == {"alice": ("60.00", "0", "open"), "bob": ("40.00", "0", "open")}
    bob = (await floor.service.statements(floor["bob"], NOV))[0]
    detail = await floor.service.get(floor["bob"], bob.id)
    line = detail.items[0]
    assert (line.contract_id, line.payment_id, line.event, line.event_on) == (
        contract,
        payment,
        "paid",
        date(2026, 11, 9),
    )
    assert (line.base, line.share_percent, line.credited, line.commission) == (
        D("10000.00"),
        D("40.00"),
        D("4000.00"),
        D("40.00"),
    )
    assert line.contract_number.startswith("C-T-") and "1%" in line.rate


async def test_renewal_and_signing_basis_per_product(floor: Floor) -> None:
    await floor.rule("deposit", basis="contract_amount", date_basis="signed", renewal_rate="0.5")
    await floor.rule("*", tier_method="slice")
    await floor.contract("100000", product="deposit", renewal=True)  # 0.5 % flat: 500
    await floor.contract("100000", product="deposit")  # its own volume: 100000 at the breakpoint, 2 %
    await floor.contract("100000", product="deposit", signed_on=date(2026, 10, 30))  # October
    await floor.contract("100000", product="deposit", status="approved", signed_on=None)  # not signed
    await floor.service.run(floor["root"], NOV)
    assert await totals(floor) == {"alice": ("2500.00", "0", "open")}


async def test_rule_change_mid_period(floor: Floor) -> None:
    first = await floor.rule(tiers=[{"from": "0", "rate": "1"}])
    await floor.new_version(
        first.id,
        effective_from="2026-11-16",
        basis="collected",
        date_basis="paid",
        tiers=[{"from": "0", "rate": "2"}],
    )
    contract = await floor.contract("500000")
    await floor.pay(contract, "10000", date(2026, 11, 15))
    await floor.pay(contract, "10000", date(2026, 11, 16))
    await floor.service.run(floor["root"], NOV)
    assert await totals(floor) == {"alice": ("300.00", "0", "open")}
    rules = await floor.service.rules.list_rules()
    assert [(r.version, str(r.effective_from)) for r in rules] == [(1, "2026-01-01"), (2, "2026-11-16")]


async def test_approved_statements_are_frozen_and_late_payments_adjust_the_next(floor: Floor) -> None:
    await floor.rule(tier_method="whole")
    contract = await floor.contract("500000")
    await floor.pay(contract, "50000", date(2026, 11, 5))
    await floor.service.run(floor["root"], NOV)
    alice = (await floor.service.statements(floor["root"], NOV))[0]
    with pytest.raises(AccessDenied):  # never one's own
        await floor.service.approve(floor["alice"], alice.id)
    with pytest.raises(NotFound):  # not her team: not even visible
        await floor.service.approve(floor["olga"], alice.id)
    approved = await floor.service.approve(floor["sue"], alice.id)
    assert (approved.status, approved.approved_by, approved.total) == ("approved", "sue", D("500.00"))
    with pytest.raises(Conflict):
        await floor.service.approve(floor["root"], alice.id)
    async with floor.sessions() as session:
        rows = (
            await session.scalars(select(AuditLog).where(AuditLog.entity == "commission_statement"))
        ).all()
    assert [(r.actor_login, r.action, (r.detail or {}).get("action")) for r in rows] == [
        ("sue", "transition", "approve")
    ]

    # a payment dated in November recorded after the approval (volume 110000: both at 2 % now),
    # and a refund in December
    late = await floor.pay(contract, "60000", date(2026, 11, 28))
    await floor.pay(contract, "-10000", date(2026, 12, 2))
    again = await floor.service.run(floor["root"], NOV)
    assert [(r.status, r.total) for r in again.rows] == [("approved", D("500.00"))]  # frozen
    assert (await floor.service.get(floor["alice"], alice.id)).items == approved.items

    await floor.service.run(floor["root"], "2026-12")
    december = (await floor.service.statements(floor["alice"], "2026-12"))[0]
    detail = await floor.service.get(floor["alice"], december.id)
    lines = [(li.kind, li.for_period, li.payment_id is not None, li.commission) for li in detail.items]
    # December's own refund (-10000 at 1 %), then November's corrections: the first payment
    # now at 2 %, the late one
    assert lines == [
        ("commission", "2026-12", True, D("-100.00")),
        ("adjustment", NOV, True, D("500.00")),
        ("adjustment", NOV, True, D("1200.00")),
    ]
    assert detail.items[2].payment_id == late and (detail.commission, detail.adjustments) == (
        D("-100.00"),
        D("1700.00"),
    )
    # re-running December books nothing twice
    await floor.service.run(floor["root"], "2026-12")
    assert (await floor.service.get(floor["alice"], december.id)).total == D("1600.00")


async def test_access_and_bad_input(floor: Floor) -> None:
    await floor.rule()
    await floor.pay(await floor.contract("500000"), "1000", date(2026, 11, 5))
    await floor.pay(await floor.contract("500000", owner="olga"), "2000", date(2026, 11, 5))
    for actor in ("alice", "sue"):
        with pytest.raises(AccessDenied):
            await floor.service.run(floor[actor], NOV)
    with pytest.raises(AccessDenied):
        await floor.rule("card", by="sue")
    await floor.service.run(floor["root"], NOV)
    assert set(await totals(floor)) == {"alice", "olga"}
    assert [s.agent_login for s in await floor.service.statements(floor["alice"], NOV)] == ["alice"]
    assert [s.agent_login for s in await floor.service.statements(floor["bob"], NOV)] == []
    assert [s.agent_login for s in await floor.service.statements(floor["sue"], NOV)] == ["alice"]
    for period in ("2026-13", "2026-1", "26-11", "november", "2027-01"):
        with pytest.raises(InvalidInput) as caught:
            await floor.service.run(floor["root"], period)
        assert caught.value.field == "period"
    with pytest.raises(InvalidInput, match="add a version"):
        await floor.rule("*")


async def test_demo_seeding_adds_rules_and_statements(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_demo(sessions, customers=60)
    service = CommissionService(sessions)
    assert len(await service.rules.list_rules()) == len(DEMO_RULES)
    system = Actor.system()
    found = [s for p in demo_periods(utcnow()) for s in await service.statements(system, p)]
    assert found
    for summary in found:
        detail = await service.get(system, summary.id)
        assert detail.total == sum((li.commission for li in detail.items), D(0)) and detail.items
