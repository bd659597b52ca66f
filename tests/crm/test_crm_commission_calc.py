"""Commission pricing, hand-computed: tier methods, breakpoints, splits, renewals, refunds, rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm_core.commission.calc import Event, RuleTerms, Tier, cents, price_events, rule_in_force

D = Decimal
TIERS = (Tier(D(0), D(1)), Tier(D(100000), D(2)), Tier(D(200000), D(3)))


def rule(
    method: str = "whole",
    *,
    id_: int = 1,
    key: str = "*",
    start: date = date(2026, 1, 1),
    basis: str = "collected",
    renewal: str | None = None,
    margin: str | None = None,
    tiers: tuple[Tier, ...] = TIERS,
    active: bool = True,
) -> RuleTerms:
    date_basis = "signed" if basis == "contract_amount" else "paid"
    return RuleTerms(
        id=id_,
        product_key=key,
        version=id_,
        effective_from=start,
        active=active,
        basis=basis,
        date_basis=date_basis,
        tier_method=method,
        tiers=tiers,
        renewal_rate=None if renewal is None else D(renewal),
        margin_ratio=None if margin is None else D(margin),
    )


def paid(
    amount: str,
    day: int = 10,
    *,
    contract: int = 1,
    payment: int | None = None,
    shares: tuple[tuple[int, str], ...] = ((7, "100"),),
    renewal: bool = False,
    product: str = "loan",
) -> Event:
    return Event(
        "paid",
        date(2026, 11, day),
        contract,
        f"C-{contract}",
        product,
        D(amount),
        renewal,
        tuple((agent, D(p)) for agent, p in shares),
        payment if payment is not None else contract * 100 + day,
    )


def commissions(events: list[Event], rules: list[RuleTerms]) -> list[Decimal]:
    return [c.commission for c in price_events(events, rules)]


@pytest.mark.parametrize(
    ("volume", "whole", "slice_"),
    [
        ("50000.00", "500.00", "500.00"),
        ("99999.99", "1000.00", "1000.00"),  # 999.9999 rounds up
        ("100000.00", "2000.00", "1000.00"),  # exactly at the breakpoint: the higher tier is reached
        ("100000.01", "2000.00", "1000.00"),  # 2000.0002 / 1000.0002
        ("150000.00", "3000.00", "2000.00"),
        ("200000.00", "6000.00", "3000.00"),
        ("250000.00", "7500.00", "4500.00"),  # slices: 1000 + 2000 + 1500
    ],
)
def test_both_tier_methods_on_one_payment(volume: str, whole: str, slice_: str) -> None:
    assert commissions([paid(volume)], [rule("whole")]) == [D(whole)]
    assert commissions([paid(volume)], [rule("slice")]) == [D(slice_)]


@pytest.mark.parametrize(
    ("method", "amounts", "expected"),
    [
        # whole: the period volume (120000) reaches 2 %, for every payment
        ("whole", ["60000", "60000"], ["1200.00", "1200.00"]),
        # slice: the second payment straddles the breakpoint: 40000 at 1 % + 20000 at 2 %
        ("slice", ["60000", "60000"], ["600.00", "800.00"]),
        # a refund in the same period lowers the volume to 100000: still at 2 %, net 2000
        ("whole", ["150000", "-50000"], ["3000.00", "-1000.00"]),
        # slice: the refund takes back the top slice, at 2 %
        ("slice", ["150000", "-50000"], ["2000.00", "-1000.00"]),
        ("slice", ["150000", "-150000"], ["2000.00", "-2000.00"]),
        ("whole", ["100000", "-0.01"], ["1000.00", "-0.00"]),  # falls below the breakpoint: 1 %
    ],
)
def test_several_events_fill_the_volume_in_date_order(
    method: str, amounts: list[str], expected: list[str]
) -> None:
    events = [paid(a, day=10 + i) for i, a in enumerate(amounts)]
    assert commissions(events, [rule(method)]) == [D(e) for e in expected]


@pytest.mark.parametrize(
    ("amount", "shares", "expected"),
    [
        ("10000.00", ((1, "60"), (2, "40")), {1: "60.00", 2: "40.00"}),
        # 0.3333 + 0.3333 + 0.3334 = 1.00: the cent goes to the largest remainder (0.33 × 3 lost it)
        ("100.00", ((1, "33.33"), (2, "33.33"), (3, "33.34")), {1: "0.33", 2: "0.33", 3: "0.34"}),
        ("150.00", ((1, "50"), (2, "50")), {1: "0.75", 2: "0.75"}),
        # each shared owner's volume is their own: 90000 each stays under the breakpoint (unsplit: 2 %)
        ("180000.00", ((1, "50"), (2, "50")), {1: "900.00", 2: "900.00"}),
    ],
)
def test_split_credits_each_shared_owner(
    amount: str, shares: tuple[tuple[int, str], ...], expected: dict[int, str]
) -> None:
    credits = price_events([paid(amount, shares=shares)], [rule("whole")])
    assert {c.agent_id: c.commission for c in credits} == {k: D(v) for k, v in expected.items()}
    assert sum(c.credited for c in credits) == D(amount)


def test_rounding_is_half_up_per_line() -> None:
    assert cents(D("0.005")) == D("0.01")  # half-even would give 0.00
    assert cents(D("-0.005")) == D("-0.01")
    assert cents(D("2.675")) == D("2.68")
    # 0.50 at 1 % = 0.005 each; two lines round separately: 0.01 + 0.01
    events = [paid("0.50", day=1), paid("0.50", day=2)]
    assert commissions(events, [rule("whole")]) == [D("0.01"), D("0.01")]


@pytest.mark.parametrize(
    ("renewal_rate", "expected"),
    [
        ("0.5", ["500.00", "1000.00"]),  # the renewal at its own rate, outside the tier volume
        (None, ["1000.00", "2000.00"]),  # no renewal rate: it fills the first slice like any payment
    ],
)
def test_renewals_at_their_own_rate(renewal_rate: str | None, expected: list[str]) -> None:
    events = [
        paid("100000", day=5, contract=1, renewal=True),
        paid("100000", day=6, contract=2),
    ]
    result = {
        c.event.contract_id: c.commission for c in price_events(events, [rule("slice", renewal=renewal_rate)])
    }
    assert [result[1], result[2]] == [D(e) for e in expected]


def test_a_rule_change_mid_period_applies_from_its_date() -> None:
    old = rule("whole", id_=1, start=date(2026, 1, 1), tiers=(Tier(D(0), D(1)),))
    new = rule("whole", id_=2, start=date(2026, 11, 16), tiers=(Tier(D(0), D(2)),))
    events = [
        paid("10000", day=15, contract=1),
        paid("10000", day=16, contract=2),
        paid("10000", day=30, contract=3),
    ]
    credits = price_events(events, [old, new])
    assert [(c.rule_id, c.commission) for c in credits] == [
        (1, D("100.00")),
        (2, D("200.00")),
        (2, D("200.00")),
    ]


def test_rule_selection_product_first_inactive_stops() -> None:
    generic = rule(id_=1, key="*")
    loans = rule(id_=2, key="loan", start=date(2026, 6, 1))
    stopped = rule(id_=3, key="loan", start=date(2026, 11, 20), active=False)
    rules = [generic, loans, stopped]
    assert rule_in_force(rules, "loan", date(2026, 5, 31)) == generic
    assert rule_in_force(rules, "loan", date(2026, 6, 1)) == loans
    assert rule_in_force(rules, "loan", date(2026, 11, 20)) is None
    assert rule_in_force(rules, "card", date(2026, 11, 20)) == generic
    assert rule_in_force(rules, "card", date(2025, 12, 31)) is None


def test_margin_basis_prices_the_margin() -> None:
    # margin 20 % of 100000 = 20000 at 1 %
    assert commissions([paid("100000")], [rule("whole", basis="margin", margin="20")]) == [D("200.00")]


def test_events_of_the_other_date_basis_are_ignored() -> None:
    signed = Event("signed", date(2026, 11, 3), 1, "C-1", "loan", D("100000"), False, ((7, D(100)),))
    assert commissions([signed], [rule("whole")]) == []  # the rule pays on payment, not on signing
    assert commissions([signed], [rule("whole", basis="contract_amount")]) == [D("2000.00")]
