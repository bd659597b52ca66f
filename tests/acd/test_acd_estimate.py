"""Erlang C figures, observed handling times and the wait announced to a caller."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.estimate import (
    MIN_OBSERVED_SAMPLES,
    HandlingTimes,
    WaitEstimate,
    agents_for_service_level,
    announce_minutes,
    average_speed_of_answer,
    erlang_c,
    estimate_wait,
    occupancy,
    service_level,
)

# Reference check of domain.md: 100 calls / 30 min, AHT 180 s, 14 agents.
RATE = 100 / 1800
AHT = 180.0
TRAFFIC = RATE * AHT


def _naive_erlang_c(traffic: float, agents: int) -> float:
    """The factorial formula of domain.md, fine for small N."""
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    return top / (sum(traffic**k / math.factorial(k) for k in range(agents)) + top)


def test_reference_example() -> None:
    assert TRAFFIC == pytest.approx(10.0)
    assert round(erlang_c(TRAFFIC, 14), 4) == 0.1741
    assert round(service_level(TRAFFIC, 14, AHT, 20), 3) == 0.888
    assert round(average_speed_of_answer(TRAFFIC, 14, AHT), 2) == 7.84
    assert round(occupancy(TRAFFIC, 14) * 100, 1) == 71.4
    # 80/20 needs the same 14 agents; 13 fall short.
    assert agents_for_service_level(RATE, AHT, 20, 0.80) == 14
    assert service_level(TRAFFIC, 13, AHT, 20) < 0.80


@pytest.mark.parametrize(("traffic", "agents"), [(0.5, 1), (2.0, 3), (10.0, 14), (7.3, 12), (25.0, 40)])
def test_recursion_matches_factorial_formula(traffic: float, agents: int) -> None:
    assert erlang_c(traffic, agents) == pytest.approx(_naive_erlang_c(traffic, agents), rel=1e-12)


def test_large_centre_is_finite() -> None:
    # 400 agents would overflow 400! / A^400 in floats; the recursion does not.
    p_wait = erlang_c(380.0, 400)
    assert 0.0 < p_wait < 1.0
    assert erlang_c(380.0, 400) > erlang_c(380.0, 410)
    assert agents_for_service_level(380.0 / 180, 180, 20, 0.8) > 380


def test_edge_cases() -> None:
    assert erlang_c(0.0, 0) == 1.0
    assert erlang_c(5.0, 0) == 1.0
    assert erlang_c(5.0, 5) == 1.0  # traffic == agents: unstable
    assert erlang_c(6.0, 5) == 1.0
    assert erlang_c(0.0, 3) == 0.0
    assert service_level(5.0, 5, AHT, 20) == 0.0
    assert service_level(0.0, 1, AHT, 20) == 1.0
    assert service_level(TRAFFIC, 14, AHT, 0) == pytest.approx(1 - erlang_c(TRAFFIC, 14))
    assert average_speed_of_answer(5.0, 4, AHT) == math.inf
    assert average_speed_of_answer(0.0, 2, AHT) == 0.0
    assert occupancy(0.0, 0) == 0.0
    assert occupancy(3.0, 0) == 1.0
    assert occupancy(8.0, 4) == 1.0
    assert agents_for_service_level(0.0, AHT, 20, 0.8) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_c(-1.0, 3),
        lambda: erlang_c(math.nan, 3),
        lambda: erlang_c(2.0, -1),
        lambda: service_level(2.0, 3, 0.0, 20),
        lambda: service_level(2.0, 3, AHT, -1),
        lambda: average_speed_of_answer(2.0, 3, math.inf),
        lambda: occupancy(-0.1, 2),
        lambda: agents_for_service_level(RATE, AHT, 20, 0.0),
        lambda: agents_for_service_level(RATE, AHT, 20, 1.5),
        lambda: agents_for_service_level(RATE, AHT, 20, 0.8, max_agents=13),
    ],
)
def test_bad_input_is_a_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


@given(traffic=st.floats(0.0, 300.0), agents=st.integers(0, 400))
def test_more_agents_never_raise_p_wait(traffic: float, agents: int) -> None:
    assert 0.0 <= erlang_c(traffic, agents) <= 1.0
    assert erlang_c(traffic, agents + 1) <= erlang_c(traffic, agents)


@given(
    traffic=st.floats(0.0, 300.0),
    agents=st.integers(0, 400),
    aht=st.floats(1.0, 3600.0),
    target=st.floats(0.0, 600.0),
)
def test_service_level_is_a_share_growing_with_agents(
    traffic: float, agents: int, aht: float, target: float
) -> None:
    level = service_level(traffic, agents, aht, target)
    assert 0.0 <= level <= 1.0
    assert service_level(traffic, agents + 1, aht, target) >= level
    assert service_level(traffic, agents, aht, target + 10) >= level


@given(
    rate=st.floats(0.0, 2.0),
    aht=st.floats(10.0, 900.0),
    target=st.floats(0.0, 120.0),
    level=st.floats(0.05, 0.99),
)
def test_agents_for_service_level_is_the_smallest(
    rate: float, aht: float, target: float, level: float
) -> None:
    agents = agents_for_service_level(rate, aht, target, level, max_agents=5000)
    traffic = rate * aht
    assert service_level(traffic, agents, aht, target) >= level
    if agents > 1:
        assert service_level(traffic, agents - 1, aht, target) < level


def test_handling_times_window() -> None:
    handling = HandlingTimes(window=3)
    assert handling.mean("cards") is None and handling.count("cards") == 0
    for seconds in (100, 200, 300, 400):
        handling.observe("cards", seconds)
    assert handling.count("cards") == 3
    assert handling.mean("cards") == 300.0  # 100 fell out
    handling.observe("loans", 60)
    assert (handling.mean("loans"), handling.count("loans"), handling.count("cards")) == (60.0, 1, 3)
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            handling.observe("cards", bad)
    assert handling.count("cards") == 3
    with pytest.raises(ValueError):
        HandlingTimes(window=0)


def _handled(queue: str, seconds: float, count: int) -> HandlingTimes:
    handling = HandlingTimes()
    for _ in range(count):
        handling.observe(queue, seconds)
    return handling


def _wait(
    handling: HandlingTimes,
    queue: str,
    position: int,
    serving: int,
    available: int,
    rate: float,
    aht: float = 180.0,
) -> WaitEstimate:
    return estimate_wait(
        position=position,
        agents_serving=serving,
        agents_available=available,
        arrivals_per_second=rate,
        handling=handling,
        queue=queue,
        default_aht=aht,
    )


def test_erlang_c_until_enough_observations() -> None:
    few = _handled("cards", 240.0, MIN_OBSERVED_SAMPLES - 1)
    estimate = _wait(few, "cards", 3, 14, 0, RATE)
    assert estimate == WaitEstimate(3 * 180.0 / 14, "erlang-c", 180.0, 0)

    few.observe("cards", 240.0)
    estimate = _wait(few, "cards", 3, 14, 0, RATE)
    assert estimate == WaitEstimate(3 * 240.0 / 14, "observed", 240.0, MIN_OBSERVED_SAMPLES)
    assert announce_minutes(estimate.seconds) == 1  # 51.4 s: "about 1 minute"


def test_observations_of_another_queue_do_not_count() -> None:
    handling = _handled("loans", 600.0, 50)
    estimate = _wait(handling, "cards", 1, 2, 0, 0.0, aht=120.0)
    assert (estimate.method, estimate.seconds) == ("erlang-c", 60.0)


def test_erlang_c_estimate_averages_to_the_conditional_wait() -> None:
    """Over the positions of a waiting arrival the estimate is Erlang C's ASA / P_wait."""
    agents = 14
    rho = TRAFFIC / agents
    handling = HandlingTimes()
    expected = 0.0
    for position in range(1, 400):
        estimate = estimate_wait(
            position=position,
            agents_serving=agents,
            agents_available=0,
            arrivals_per_second=RATE,
            handling=handling,
            queue="general",
        )
        assert estimate.method == "erlang-c"
        expected += (1 - rho) * rho ** (position - 1) * estimate.seconds
    conditional = average_speed_of_answer(TRAFFIC, agents, AHT) / erlang_c(TRAFFIC, agents)
    assert conditional == pytest.approx(45.0)
    assert expected == pytest.approx(conditional)


def test_no_estimate_without_a_steady_state() -> None:
    handling = HandlingTimes()
    overloaded = _wait(handling, "q", 2, 10, 0, RATE)
    nobody = _wait(handling, "q", 2, 0, 0, 0.0)
    assert overloaded == nobody == WaitEstimate(0.0, "none")
    assert announce_minutes(overloaded.seconds) == 0


def test_observed_wins_even_when_overloaded_or_unstaffed() -> None:
    handling = _handled("q", 90.0, 30)
    overloaded = _wait(handling, "q", 4, 10, 0, RATE)
    assert (overloaded.method, overloaded.seconds) == ("observed", 36.0)
    unstaffed = _wait(handling, "q", 4, 0, 0, RATE)
    assert (unstaffed.method, unstaffed.seconds) == ("observed", 360.0)


def test_position_zero_and_idle_agents_mean_no_wait() -> None:
    handling = _handled("q", 90.0, 30)
    for position, available in ((0, 0), (1, 1), (2, 3)):
        estimate = estimate_wait(
            position=position,
            agents_serving=3,
            agents_available=available,
            arrivals_per_second=RATE,
            handling=handling,
            queue="q",
        )
        assert estimate.seconds == 0.0
        assert announce_minutes(estimate.seconds) == 0
    behind_idle = _wait(handling, "q", 3, 3, 1, RATE)
    assert behind_idle.seconds == 60.0  # two completions over three agents


@pytest.mark.parametrize(
    "changes",
    [
        {"position": -1},
        {"agents_serving": -1},
        {"agents_available": 4},
        {"arrivals_per_second": -0.1},
        {"arrivals_per_second": math.nan},
        {"default_aht": 0.0},
    ],
)
def test_estimate_rejects_bad_figures(changes: dict[str, float]) -> None:
    figures: dict[str, float] = {
        "position": 1,
        "agents_serving": 3,
        "agents_available": 0,
        "arrivals_per_second": RATE,
    }
    figures.update(changes)
    with pytest.raises(ValueError):
        estimate_wait(handling=HandlingTimes(), queue="q", **figures)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0.0, 0), (-5.0, 0), (0.1, 1), (29.0, 1), (89.9, 1), (90.0, 2), (149.0, 2), (150.0, 3), (3600.0, 60)],
)
def test_announce_minutes(seconds: float, minutes: int) -> None:
    assert announce_minutes(seconds) == minutes


def test_announce_rejects_infinite_wait() -> None:
    with pytest.raises(ValueError):
        announce_minutes(math.inf)
