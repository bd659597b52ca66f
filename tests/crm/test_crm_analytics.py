"""Customer-value segmentation on a hand-computed book, on SQLite and PostgreSQL.

The book (as of T0; margin 1 % on deposits, card fee 1 %, phone 4.00 a call
+ 1.50 a minute, visit 25.00):

============ =========== ====================================== ========== ==========
customer     deposit now transactions (days ago)                  income     cost
============ =========== ====================================== ========== ==========
big          1 000 000   +300 000 salary (10)                   7 082.19   20.00 (2 calls, 5+3 min)
mid            100 000   card −5 000 (5, initiated)             1 050.00   25.00 (visit, complaint)
small            5 000   −15 000 (20, initiated)                  191.78    0
dormant          2 000   −100 (200, initiated)                     20.45    0
costly           1 000   —                                         10.00   57.00 (3 calls × 10 min)
prospect           —     (no account: not segmented)
============ =========== ====================================== ========== ==========

Month averages: big 1 000 000 − 300 000 × 20/30 = 800 000; small 5 000 +
15 000 × 10/30 = 10 000.  Year average of big's deposit: 1 000 000 −
300 000 × 355/365 = 708 219.18 → income 7 082.19.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from analytics_kit import AS_OF, Bank
from protection_world import World
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.priority import DEFAULT_WEIGHTS
from crm_core.analytics.aum import aum_tier
from crm_core.analytics.pareto import abc_classes, pareto_curve
from crm_core.analytics.runner import SegmentationRunner
from crm_core.analytics.value import CustomerValues, vip_treatment
from crm_core.customers.directory import CustomerDirectory
from crm_core.models import Customer, CustomerSegment

D = Decimal


def test_abc_rule_on_the_textbook_example() -> None:
    values = [D(3), D(50), D(10), D(2), D(30), D(5), D(-4), D(0)]
    assert abc_classes(values) == ["C", "A", "B", "C", "A", "B", "C", "C"]
    # One customer holding 90 %: crosses the 80 % line, so A alone.
    assert abc_classes([D(90), D(5), D(5)]) == ["A", "B", "C"]


def test_pareto_curve_and_tiers_and_vip_rule() -> None:
    curve = pareto_curve([D(50), D(30), D(20)], points=3)
    assert [(round(p.customer_share, 3), round(p.value_share, 3)) for p in curve] == [
        (0.0, 0.0),
        (0.333, 0.5),
        (0.667, 0.8),
        (1.0, 1.0),
    ]
    thresholds = [("private", D(5_000_000)), ("vip", D(1_000_000)), ("gold", D(200_000))]
    assert aum_tier(D(1_000_000), thresholds) == "vip"
    assert aum_tier(D("999999.99"), thresholds) == "gold"
    assert aum_tier(D(0), thresholds) == "standard"
    tiers = ("private", "vip")  # the default of analytics.vip_tiers
    assert vip_treatment("standard", "A", tiers) and vip_treatment("VIP", "C", tiers)
    assert vip_treatment("private", None, tiers)
    assert not vip_treatment("gold", "B", tiers) and not vip_treatment("standard", None, tiers)
    assert vip_treatment("gold", "B", ["gold"]) and not vip_treatment("vip", None, ["gold"])


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    """An admin (to set parameters) and the parameter store the runs read."""
    return await World(sessions).setup()


@pytest.fixture
async def book(sessions: async_sessionmaker[AsyncSession], world: World) -> dict[str, int]:
    """The book of the module docstring: customer name → id."""
    await world.set("analytics.margin_rates", {"deposit": "0.01"})
    await world.set("analytics.card_fee_rate", "0.01")
    bank = Bank(sessions)
    ids = {}
    for name in ("big", "mid", "small", "dormant", "costly", "prospect"):
        ids[name] = await bank.customer(name)
    big = await bank.account(ids["big"], "deposit", "1000000")
    await bank.move(big, ids["big"], "300000", 10, initiated=False, channel="transfer")
    await bank.contact(ids["big"], "phone", 30, talk_seconds=300)
    await bank.contact(ids["big"], "phone", 400, talk_seconds=900)  # older than a year: not counted
    await bank.contact(ids["big"], "phone", 60, talk_seconds=180)
    await bank.account(ids["mid"], "deposit", "100000")
    card = await bank.account(ids["mid"], "card", "0")
    await bank.move(card, ids["mid"], "-5000", 5, initiated=True, channel="pos")
    await bank.contact(ids["mid"], "visit", 3, disposition="complaint")
    small = await bank.account(ids["small"], "deposit", "5000")
    await bank.move(small, ids["small"], "-15000", 20, initiated=True)
    dormant = await bank.account(ids["dormant"], "deposit", "2000")
    await bank.move(dormant, ids["dormant"], "-100", 200, initiated=True, channel="atm")
    await bank.account(ids["costly"], "deposit", "1000")
    for days in (1, 2, 3):
        await bank.contact(ids["costly"], "phone", days, talk_seconds=600)
    return ids


async def _segments(sessions: async_sessionmaker[AsyncSession], run_id: int) -> dict[int, CustomerSegment]:
    async with sessions() as session:
        rows = await session.scalars(select(CustomerSegment).where(CustomerSegment.run_id == run_id))
        return {row.customer_id: row for row in rows}


async def test_run_computes_every_definition(
    sessions: async_sessionmaker[AsyncSession], world: World, book: dict[str, int]
) -> None:
    summary = await SegmentationRunner(sessions, world.parameters).run(as_of=AS_OF, trigger="test")
    assert summary.status == "done" and summary.customers == 5 and summary.transactions == 4
    assert summary.abc_contribution == {"A": 1, "B": 1, "C": 3}
    assert summary.a_share_contribution == pytest.approx(0.2)
    assert summary.contribution_total == D("7062.19") + D("1025.00") + D("191.78") + D("20.45") - D("47.00")
    rows = await _segments(sessions, summary.id)
    assert book["prospect"] not in rows
    got = {
        name: (
            r.avg_daily_balance, r.avg_balance_3m, r.income, r.cost_to_serve, r.contribution,
            r.abc_contribution, r.abc_aum, r.aum_tier, r.rfm_score,
            (r.churn_balance_drop, r.churn_dormant, r.churn_complaint),
        )
        for name, r in ((n, rows[book[n]]) for n in ("big", "mid", "small", "dormant", "costly"))
    }  # fmt: skip
    assert got == {
        "big": (D("800000.00"), D("733333.33"), D("7082.19"), D("20.00"), D("7062.19"),
                "A", "A", "gold", "111", (False, True, False)),
        "mid": (D("100000.00"), D("100000.00"), D("1050.00"), D("25.00"), D("1025.00"),
                "B", "B", "standard", "534", (False, False, True)),
        "small": (D("10000.00"), D("16666.67"), D("191.78"), D("0.00"), D("191.78"),
                  "C", "C", "standard", "435", (True, False, False)),
        "dormant": (D("2000.00"), D("2000.00"), D("20.45"), D("0.00"), D("20.45"),
                    "C", "C", "standard", "333", (False, True, False)),
        "costly": (D("1000.00"), D("1000.00"), D("10.00"), D("57.00"), D("-47.00"),
                   "C", "C", "standard", "111", (False, True, False)),
    }  # fmt: skip
    big = rows[book["big"]]
    assert (big.contacts, big.talk_seconds, big.frequency, big.monetary) == (2, 480.0, 0, D("0.00"))
    # Segment A with a gold AUM tier: served as VIP.
    assert (big.service_tier, big.vip) == ("vip", True)
    assert (rows[book["mid"]].service_tier, rows[book["mid"]].vip) == ("standard", False)
    async with sessions() as session:
        stored = await session.get(Customer, book["big"])
        assert stored is not None
        assert (stored.segment_abc, stored.aum_tier, stored.rfm_score, stored.contribution, stored.tier) == (
            "A",
            "gold",
            "111",
            D("7062.19"),
            "vip",
        )
        assert stored.segment_computed_at == AS_OF
        prospect = await session.get(Customer, book["prospect"])
        assert prospect is not None and prospect.segment_abc is None and prospect.tier == "standard"


async def test_customer_crossing_into_a_is_vip_on_the_next_lookup(
    sessions: async_sessionmaker[AsyncSession], world: World, book: dict[str, int]
) -> None:
    runner = SegmentationRunner(sessions, world.parameters)
    directory = CustomerDirectory(sessions)
    values = CustomerValues(sessions)
    await runner.run(as_of=AS_OF)
    before = await directory.card(book["mid"])
    assert before is not None and (before.segment, before.vip, before.tier) == ("B", False, "standard")
    # A loan at 5 % margin: mid's income grows past big's, into segment A (AUM stays standard).
    await world.set("analytics.margin_rates", {"deposit": "0.01", "loan": "0.05"})
    await Bank(sessions).account(book["mid"], "loan", "200000")
    second = await runner.run(as_of=AS_OF)
    after = await directory.card(book["mid"])
    assert after is not None and (after.segment, after.vip, after.tier) == ("A", True, "vip")
    value = await values.value(book["mid"])
    assert value is not None and value.vip and value.segment == "A" and value.contribution == D("11025.00")
    assert DEFAULT_WEIGHTS.value(after.tier, after.segment) > DEFAULT_WEIGHTS.value(
        before.tier, before.segment
    )
    # Both runs stay in the history, each with its own date and values.
    async with sessions() as session:
        history = (
            await session.scalars(
                select(CustomerSegment.abc_contribution)
                .where(CustomerSegment.customer_id == book["mid"])
                .order_by(CustomerSegment.run_id)
            )
        ).all()
    assert history == ["B", "A"] and second.abc_contribution["A"] == 2
