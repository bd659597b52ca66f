"""The waiting order with aging: same answers as sorting every call by its priority now."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.ordering import Entry, WaitingOrder
from acd.priority import DEFAULT_WEIGHTS


def brute(entries: list[Entry], rate: float, cap: float, now: float) -> list[str]:
    # Exact, as the order is: priorities that tie must tie (then arrival, then place, then id).
    def key(e: Entry) -> tuple[Fraction, float, str, str]:
        waited = max(Fraction(0), Fraction(now) - Fraction(e.enqueued_at))
        priority = Fraction(e.value) + min(Fraction(cap), Fraction(rate) * waited)
        return (-priority, e.enqueued_at, e.place or e.call_id, e.call_id)

    return [e.call_id for e in sorted(entries, key=key)]


def test_hand_computed_order_with_aging_and_cap() -> None:
    order = WaitingOrder(rate=1.0, cap=30.0)  # one point a second, at most 30
    order.push(Entry("standard-early", 0.0, 0.0), now=0.0)
    order.push(Entry("vip", 40.0, 10.0), now=10.0)
    order.push(Entry("gold", 15.0, 5.0), now=10.0)
    # at 10 s: standard 10, vip 40, gold 15+5=20
    assert list(order.iter(10.0)) == ["vip", "gold", "standard-early"]
    # at 35 s: standard capped at 30, gold 15+30=45 (capped), vip 40+25=65
    assert list(order.iter(35.0)) == ["vip", "gold", "standard-early"]
    order.remove("vip")
    order.push(Entry("late-standard", 0.0, 35.0), now=35.0)
    # at 80 s: both standards capped at 30: the earlier arrival first
    assert list(order.iter(80.0)) == ["gold", "standard-early", "late-standard"]
    assert order.position("late-standard", 80.0) == 3 and order.position("nope", 80.0) is None


def test_a_call_put_back_returns_to_its_place() -> None:
    order = WaitingOrder(rate=0.5, cap=60.0)
    for i, t in enumerate((0.0, 1.0, 2.0)):
        order.push(Entry(f"c{i}", 0.0, t), now=t)
    order.remove("c0")
    order.push(Entry("c3", 0.0, 3.0), now=20.0)
    order.push(Entry("c0", 0.0, 0.0), now=25.0)  # no answer: back with its own arrival time
    assert list(order.iter(25.0)) == ["c0", "c1", "c2", "c3"]
    with pytest.raises(ValueError, match="already waiting"):
        order.push(Entry("c0", 0.0, 0.0), now=25.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 5, 15, 30, 40]), st.floats(0, 500), st.booleans()),
        min_size=1,
        max_size=25,
    ),
    st.floats(0.01, 3.0),
    st.sampled_from([0.0, 10.0, 60.0]),
    st.floats(0, 2000),
)
def test_order_and_positions_match_a_full_sort(
    calls: list[tuple[int, float, bool]], rate: float, cap: float, later: float
) -> None:
    order = WaitingOrder(rate=rate, cap=cap)
    kept: list[Entry] = []
    now = 0.0
    for i, (value, arrival, keep) in enumerate(sorted(calls, key=lambda c: c[1])):
        now = arrival
        entry = Entry(f"c{i}", float(value), arrival)
        order.push(entry, now=now)
        if keep:
            kept.append(entry)
        else:
            assert order.remove(entry.call_id)
    at = now + later
    expected = brute(kept, rate, cap, at)
    assert list(order.iter(at)) == expected
    assert [order.position(c, at) for c in expected] == list(range(1, len(expected) + 1))
    assert order.head(at) == (expected[0] if expected else None)


def test_equal_priorities_tie_exactly_and_the_earlier_arrival_goes_first() -> None:
    # One point a 30 s (2 a minute): a caller 30 s later with one point more ties with the earlier one.
    # With float keys -(V - rate·enq) the rounding put the later caller first for most arrival times.
    rate = Fraction(DEFAULT_WEIGHTS.aging_per_minute) / 60
    for arrival in (1.0, 2.0, 4.0, 6.0, 8.0, 1_733_331_200.0):
        order = WaitingOrder(rate=rate, cap=DEFAULT_WEIGHTS.aging_cap)
        order.push(Entry("early", 0.0, arrival), arrival + 30)
        order.push(Entry("late", 1.0, arrival + 30), arrival + 30)
        assert order.priority("early", arrival + 31) == order.priority("late", arrival + 31)
        assert list(order.iter(arrival + 31)) == ["early", "late"], arrival
        assert order.position("early", arrival + 31) == 1


def test_a_callback_keeps_its_place_among_equal_calls() -> None:
    # c12 and c5 arrived in the same second with the same value: c12 goes first (by id). c5's callback
    # gets a new id but keeps c5's place, so it stays second instead of jumping by its name.
    order = WaitingOrder(rate=1.0, cap=30.0)
    order.push(Entry("c12", 5.0, 100.0), 100.0)
    order.push(Entry("c5", 5.0, 100.0), 100.0)
    assert list(order.iter(101.0)) == ["c12", "c5"]
    order.remove("c5")
    order.push(Entry("callback-1", 5.0, 100.0, place="c5"), 102.0)
    assert list(order.iter(103.0)) == ["c12", "callback-1"]
    assert order.position("callback-1", 103.0) == 2
