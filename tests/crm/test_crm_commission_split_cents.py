"""Credit splits add up to the cent: an event's whole is rounded once, then allotted by largest remainder.

Hand-computed examples (rates in percent, ``FLAT`` pays 100 % so the
commission is the credited amount itself), refunds mirrored, ties given to
the shared owner listed first; then a property over random splits, and a
statement run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from commission_kit import Floor, build_floor
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_crm_commission_calc import paid, rule

from crm_core.commission.calc import Tier, allocate_cents, cents, price_events
from crm_core.commission.schemas import SplitShare

D = Decimal
FLAT = (Tier(D(0), D(100)),)
THIRDS = ((1, "33.33"), (2, "33.33"), (3, "33.34"))


def split(
    amount: str, shares: tuple[tuple[int, str], ...], *, tiers: tuple[Tier, ...] = FLAT
) -> dict[int, Decimal]:
    credits = price_events([paid(amount, shares=shares)], [rule("whole", tiers=tiers)])
    return {c.agent_id: c.commission for c in credits}


@pytest.mark.parametrize(
    ("amount", "shares", "expected"),
    [
        # 0.3333 + 0.3333 + 0.3334: floors 0.33 each, the missing cent to the largest remainder (0.0034)
        ("1.00", THIRDS, {1: "0.33", 2: "0.33", 3: "0.34"}),
        ("-1.00", THIRDS, {1: "-0.33", 2: "-0.33", 3: "-0.34"}),  # a refund takes back exactly that
        # 0.005 + 0.005: rounding each half-up would invent a cent; the tie goes to the first listed
        ("0.01", ((1, "50"), (2, "50")), {1: "0.01", 2: "0.00"}),
        ("-0.01", ((1, "50"), (2, "50")), {1: "-0.01", 2: "0.00"}),
        ("0.01", ((2, "50"), (1, "50")), {2: "0.01", 1: "0.00"}),  # the order of the split, not the id
        # 0.006666 + 0.006666 + 0.006668 = 0.02: agent 3 (largest remainder), then agent 1 (first of the tie)
        ("0.02", THIRDS, {1: "0.01", 2: "0.00", 3: "0.01"}),
        ("-0.02", THIRDS, {1: "-0.01", 2: "0.00", 3: "-0.01"}),
        ("100.00", THIRDS, {1: "33.33", 2: "33.33", 3: "33.34"}),  # exact shares stay as they are
        # 0.0075 four times: three cents to give, ties in the order of the split
        ("0.03", ((1, "25"), (2, "25"), (3, "25"), (4, "25")), {1: "0.01", 2: "0.01", 3: "0.01", 4: "0.00"}),
    ],
)
def test_split_cents_sum_to_the_whole(
    amount: str, shares: tuple[tuple[int, str], ...], expected: dict[int, str]
) -> None:
    assert split(amount, shares) == {agent: D(value) for agent, value in expected.items()}
    assert sum(D(v) for v in expected.values()) == D(amount)


def test_split_at_a_real_rate_keeps_the_events_cent() -> None:
    # 100.00 at 1 %: 0.3333 + 0.3333 + 0.3334 = 1.00 (was 0.33 × 3 = 0.99)
    credits = price_events([paid("100.00", shares=THIRDS)], [rule("whole")])
    assert [(c.agent_id, c.credited, c.commission) for c in credits] == [
        (1, D("33.33"), D("0.33")),
        (2, D("33.33"), D("0.33")),
        (3, D("33.34"), D("0.34")),
    ]
    # 1.00 at 1 % = 0.01 in all: the one cent goes to the largest share
    assert split("1.00", THIRDS, tiers=(Tier(D(0), D(1)),)) == {1: D(0), 2: D(0), 3: D("0.01")}


def test_credited_amounts_are_cents_summing_to_the_base() -> None:
    credits = price_events([paid("1.01", shares=((1, "50"), (2, "50")))], [rule("whole")])
    assert [c.credited for c in credits] == [D("0.51"), D("0.50")]


def test_a_payment_and_its_refund_cancel_per_agent() -> None:
    events = [paid("0.05", day=3, shares=THIRDS), paid("-0.05", day=4, shares=THIRDS)]
    credits = price_events(events, [rule("slice", tiers=FLAT)])
    net: dict[int, Decimal] = {}
    for credit in credits:
        net[credit.agent_id] = net.get(credit.agent_id, D(0)) + credit.commission
    assert net == {1: D(0), 2: D(0), 3: D(0)}
    assert [c.commission for c in credits if c.event.amount > 0] == [D("0.02"), D("0.01"), D("0.02")]


def test_allocate_cents_by_hand() -> None:
    assert allocate_cents([D("0.3333"), D("0.3333"), D("0.3334")]) == [D("0.33"), D("0.33"), D("0.34")]
    assert allocate_cents([D("0.005"), D("0.005")]) == [D("0.01"), D("0.00")]
    assert allocate_cents([D("-0.005"), D("-0.005")]) == [D("-0.01"), D("0.00")]
    assert allocate_cents([D("2"), D("0.004")]) == [D("2.00"), D("0.00")]
    assert allocate_cents([]) == []


_PERCENTS = st.lists(st.integers(1, 9999), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    cents_amount=st.integers(-10_000_000, 10_000_000),
    weights=_PERCENTS,
    rate=st.sampled_from(["100", "1", "1.5", "0.0375", "33.3333"]),
    method=st.sampled_from(["whole", "slice"]),
)
def test_every_split_sums_exactly_to_the_events_commission(
    cents_amount: int, weights: list[int], rate: str, method: str
) -> None:
    # Shares in hundredths of a percent summing to exactly 100.00.
    total = sum(weights)
    hundredths = [w * 10_000 // total for w in weights]
    hundredths[0] += 10_000 - sum(hundredths)
    if any(h <= 0 for h in hundredths):
        return
    shares = tuple((n + 1, str(D(h) / 100)) for n, h in enumerate(hundredths))
    amount = D(cents_amount) / 100
    credits = price_events([paid(str(amount), shares=shares)], [rule(method, tiers=(Tier(D(0), D(rate)),))])
    assert sum(c.credited for c in credits) == amount
    whole = cents(amount * D(rate) / 100)
    assert sum(c.commission for c in credits) == whole
    for credit in credits:
        assert credit.commission == credit.commission.quantize(D("0.01"))
        assert abs(credit.commission - credit.credited * D(rate) / 100) < D("0.01")


@pytest.fixture
async def floor(sessions: async_sessionmaker[AsyncSession]) -> Floor:
    return await build_floor(sessions)


async def test_statements_of_a_split_add_up_to_the_payment(floor: Floor) -> None:
    await floor.rule(tiers=[{"from": "0", "rate": "100"}])
    contract = await floor.contract("500000")
    halves = [SplitShare(login="alice", percent=D("50")), SplitShare(login="bob", percent=D("50"))]
    await floor.service.rules.set_split(floor["sue"], contract, halves)
    await floor.pay(contract, "1.01", date(2026, 11, 9))  # 0.505 each: rounding each would pay 1.02
    await floor.pay(contract, "-0.02", date(2026, 11, 20))  # a refund of 0.01 each
    result = await floor.service.run(floor["root"], "2026-11")
    assert {r.agent_login: str(r.total) for r in result.rows} == {"alice": "0.50", "bob": "0.49"}
    assert result.total == D("0.99")
    for login in ("alice", "bob"):
        statement = (await floor.service.statements(floor[login], "2026-11"))[0]
        lines = (await floor.service.get(floor[login], statement.id)).items
        assert sum(line.commission for line in lines) == statement.commission
    lines = [
        line
        for login in ("alice", "bob")
        for statement in await floor.service.statements(floor[login], "2026-11")
        for line in (await floor.service.get(floor[login], statement.id)).items
    ]
    assert sorted((str(line.base), str(line.credited)) for line in lines) == [
        ("-0.02", "-0.01"),
        ("-0.02", "-0.01"),
        ("1.01", "0.50"),
        ("1.01", "0.51"),
    ]
