"""Call priority: queue base + customer value + aging, so nobody starves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.priority import DEFAULT_WEIGHTS, PriorityWeights, effective_priority, order_key


def _sorted(calls: dict[str, tuple[str | None, str | None, float]], now: float) -> list[str]:
    """Call ids in service order; each call is (tier, segment, enqueued_at) in a base-0 queue."""
    return sorted(
        calls,
        key=lambda call_id: order_key(
            base=0, tier=calls[call_id][0], segment=calls[call_id][1], enqueued_at=calls[call_id][2], now=now
        ),
    )


def test_vip_overtakes_a_standard_caller_who_arrived_slightly_earlier() -> None:
    calls = {"standard": ("standard", "C", 1000.0), "vip": ("vip", "C", 1010.0)}
    assert _sorted(calls, now=1020.0) == ["vip", "standard"]


def test_a_long_waiting_standard_caller_overtakes_a_new_vip() -> None:
    # VIP counts 30 points; a standard caller ages 2 points a minute, so it
    # draws level after 30 / 2 = 15 minutes = 900 s of waiting and then wins
    # on arrival order.
    crossover = 30 / DEFAULT_WEIGHTS.aging_per_minute * 60
    assert crossover == 900.0
    arrived = 1000.0
    before = {"standard": ("standard", None, arrived), "vip": ("vip", None, arrived + crossover - 1)}
    assert _sorted(before, now=arrived + crossover - 1) == ["vip", "standard"]
    level = {"standard": ("standard", None, arrived), "vip": ("vip", None, arrived + crossover)}
    assert _sorted(level, now=arrived + crossover) == ["standard", "vip"]
    assert effective_priority(0, "standard", None, crossover) == effective_priority(0, "vip", None, 0.0) == 30


def test_private_banking_segment_a_is_overtaken_within_the_cap() -> None:
    # private 40 + A 10 = 50 points; the standard caller reaches 50 after 25 minutes.
    assert effective_priority(0, "standard", "C", 25 * 60) == effective_priority(0, "private", "A", 0) == 50
    assert effective_priority(0, "standard", "C", 25 * 60 - 1) < 50


def test_values_and_unknown_tier() -> None:
    assert effective_priority(5, "private", "A", 0) == 55
    assert effective_priority(5, "gold", "B", 0) == 25
    assert effective_priority(5, "platinum", "Z", 0) == 5
    assert effective_priority(5, None, None, 0) == 5
    assert effective_priority(5, "VIP", "a", 0) == 45  # case does not matter
    assert effective_priority(0, None, None, -30) == 0  # clock skew: no negative aging


def test_aging_cap() -> None:
    assert effective_priority(0, None, None, 29 * 60) == 58
    assert effective_priority(0, None, None, 30 * 60) == 60
    assert effective_priority(0, None, None, 10 * 3600) == 60
    weights = PriorityWeights(aging_per_minute=6.0, aging_cap=55)
    assert effective_priority(1, "vip", None, 600, weights) == 1 + 30 + 55


def test_queue_base_priority_dominates_when_far_apart() -> None:
    urgent = order_key(base=100, tier=None, segment=None, enqueued_at=500.0, now=600.0)
    old_vip = order_key(base=0, tier="vip", segment="A", enqueued_at=0.0, now=600.0)
    assert urgent < old_vip


def test_weights_from_settings() -> None:
    weights = PriorityWeights(tier={"Private": 20, "VIP": 10}, segment={}, aging_per_minute=1.0, aging_cap=20)
    assert weights.tier == {"private": 20, "vip": 10}
    assert effective_priority(0, "vip", "A", 0, weights) == 10
    with pytest.raises(TypeError):
        weights.tier["vip"] = 99  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"aging_per_minute": 0.0},
        {"aging_per_minute": float("nan")},
        {"aging_cap": 49},  # private 40 + A 10 could never be caught up
        {"tier": {"vip": 30, "bad": -30}},  # spread 60 + segments 10 > 60
    ],
)
def test_weights_that_could_starve_a_caller_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PriorityWeights(**kwargs)  # type: ignore[arg-type]


def test_nan_wait_is_refused() -> None:
    with pytest.raises(ValueError):
        effective_priority(0, None, None, float("nan"))


tiers = st.sampled_from([None, "private", "vip", "gold", "standard", "unknown"])
segments = st.sampled_from([None, "A", "B", "C", "Z"])


@given(
    base=st.integers(-50, 50),
    tier=tiers,
    segment=segments,
    first=st.floats(0.0, 1e6),
    gap=st.floats(1e-3, 1e5),
    later=st.floats(0.0, 1e5),
)
def test_earlier_call_first_at_equal_static_priority(
    base: int, tier: str | None, segment: str | None, first: float, gap: float, later: float
) -> None:
    now = first + gap + later
    earlier = order_key(base=base, tier=tier, segment=segment, enqueued_at=first, now=now)
    newer = order_key(base=base, tier=tier, segment=segment, enqueued_at=first + gap, now=now)
    assert earlier < newer


@given(tier=tiers, segment=segments, other_tier=tiers, other_segment=segments, arrived=st.floats(0.0, 1e6))
def test_nobody_starves_within_a_queue(
    tier: str | None, segment: str | None, other_tier: str | None, other_segment: str | None, arrived: float
) -> None:
    # After cap / rate minutes a caller beats any later arrival of the same queue.
    horizon = DEFAULT_WEIGHTS.aging_cap / DEFAULT_WEIGHTS.aging_per_minute * 60
    now = arrived + horizon
    waiting = order_key(base=0, tier=tier, segment=segment, enqueued_at=arrived, now=now)
    newcomer = order_key(base=0, tier=other_tier, segment=other_segment, enqueued_at=now, now=now)
    assert waiting < newcomer
