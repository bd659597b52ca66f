"""Each routing strategy on small floors whose expected order is worked out by hand, not by a second router.

The floor of the first scenarios, restored as it stood before a restart
(times in epoch seconds; the test clock reads 1 001, 1 002, … afterwards),
all available and serving queue ``cards`` (which needs skill ``cards``):

======  ===============  ==============  ======================================
agent   available since  calls today     skills (proficiency)
======  ===============  ==============  ======================================
ann     100              4               cards 3, zh 2
ben     50               9               cards 3, loans 2, zh 1
cat     300              4               cards 3
dan     200              0               cards 5
eve     10               0               loans 5 (no ``cards``: never offered)
======  ===============  ==============  ======================================

Four calls queued one after another while nobody answers are offered to
the best agent still available each time, so the offered agents are the
queue's ranking.  Every strategy puts dan first (proficiency 5 beats 3);
among the others:

* longest-idle — earliest available first: ben (50), ann (100), cat (300);
* fewest-calls — fewest calls today, then longest idle: ann (4, 100),
  cat (4, 300), ben (9);
* skills-best-match — fewest skills (the least versatile agent keeps the
  versatile ones free), then longest idle: cat (1), ann (2), ben (3);
* ring-all — the first call rings everyone qualified at once, best
  proficiency then longest idle: dan, ben, ann, cat.

Each scenario runs on the ACD's router and on the full-scan reference
(:mod:`acd.naive`), which must both meet the hand-written expectation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from acd_testkit import Sink

from acd import Acd, AgentState, QueueConfig, QueuedCall, SavedAgentState, Strategy
from acd.config import BullseyeStep
from acd.naive import NaiveRouter
from acd.priority import DEFAULT_WEIGHTS

pytestmark = pytest.mark.parametrize("router", ["indexed", "naive"])

AGING_RATE = Fraction(DEFAULT_WEIGHTS.aging_per_minute) / 60  # exact, as the ACD's own


class Clock:
    """Epoch 1 000, one second more at every reading."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def make(router: str, queue: QueueConfig) -> Acd:
    acd = Acd(Sink(), ring_timeout=15, wrapup_seconds=0.0, clock=Clock())
    if router == "naive":
        acd._router = NaiveRouter(
            AGING_RATE, DEFAULT_WEIGHTS.aging_cap, acd._is_logged_in
        )
    acd.add_queue(queue)
    return acd


#: login → (available since, calls today, skills); see the module's table.
FLOOR: dict[str, tuple[float, int, dict[str, int]]] = {
    "ann": (100.0, 4, {"cards": 3, "zh": 2}),
    "ben": (50.0, 9, {"cards": 3, "loans": 2, "zh": 1}),
    "cat": (300.0, 4, {"cards": 3}),
    "dan": (200.0, 0, {"cards": 5}),
    "eve": (10.0, 0, {"loans": 5}),
}


def staff(acd: Acd, floor: dict[str, tuple[float, int, dict[str, int]]], queue: str) -> None:
    today = datetime.now(UTC).date()
    for login, (_, _, skills) in floor.items():
        acd.register_agent(login, login.title(), f"PJSIP/{login}", [queue], skills=skills)
    saved = [
        SavedAgentState(login, "available", None, since, None, since, calls, today)
        for login, (since, calls, _) in floor.items()
    ]
    assert sorted(acd.restore(saved, today)) == sorted(floor)


async def offered(acd: Acd, call_id: str, queue: str) -> tuple[str, ...]:
    """Queue ``call_id``; the logins it is offered to (several in a ring-all queue), none while it waits."""
    ticket = await acd.enqueue(QueuedCall(call_id, queue))
    if not ticket.offer.done():
        return ()
    return tuple(login for login, _ in ticket.offer.result().group)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.LONGEST_IDLE, ["dan", "ben", "ann", "cat"]),
        (Strategy.FEWEST_CALLS, ["dan", "ann", "cat", "ben"]),
        (Strategy.SKILLS_BEST_MATCH, ["dan", "cat", "ann", "ben"]),
    ],
)
async def test_one_agent_strategies_rank_the_floor(
    router: str, strategy: Strategy, expected: list[str]
) -> None:
    acd = make(router, QueueConfig("cards", skills=frozenset({"cards"}), strategy=strategy))
    staff(acd, FLOOR, "cards")
    chosen = [await offered(acd, f"c{n}", "cards") for n in range(1, 6)]
    assert chosen == [(login,) for login in expected] + [()]  # eve cannot take the fifth call
    assert acd.status("eve").state is AgentState.AVAILABLE


async def test_ring_all_rings_every_qualified_agent_best_first(router: str) -> None:
    acd = make(router, QueueConfig("cards", skills=frozenset({"cards"}), strategy=Strategy.RING_ALL))
    staff(acd, FLOOR, "cards")
    assert await offered(acd, "c1", "cards") == ("dan", "ben", "ann", "cat")
    assert await offered(acd, "c2", "cards") == ()  # all four ring for c1; eve never qualifies
    assert acd.status("eve").state is AgentState.AVAILABLE


async def test_ring_all_leaves_out_agents_below_the_bullseye_level(router: str) -> None:
    queue = QueueConfig(
        "cards", skills=frozenset({"cards"}), strategy=Strategy.RING_ALL, bullseye=(BullseyeStep(0.0, 4),)
    )
    acd = make(router, queue)
    staff(acd, FLOOR, "cards")
    assert await offered(acd, "c1", "cards") == ("dan",)  # only dan has proficiency 4 or more


# -- round-robin: the order of offers, not of availability ------------------------------------------

#: x, y and z serve queue ``line`` (no skill needed), available since 100, 200 and 300, no calls yet.
LINE: dict[str, tuple[float, int, dict[str, int]]] = {
    "x": (100.0, 0, {}),
    "y": (200.0, 0, {}),
    "z": (300.0, 0, {}),
}


async def _answer_and_end(acd: Acd, call_id: str) -> None:
    await acd.call_connected(call_id)
    await acd.call_ended(call_id)  # no wrap-up: available again at once


async def script(acd: Acd) -> list[str]:
    """Four calls, each answered and ended; y takes a short pause after the first."""
    chosen = []
    for n in range(1, 5):
        (login,) = await offered(acd, f"c{n}", "line")
        chosen.append(login)
        await _answer_and_end(acd, f"c{n}")
        if n == 1:
            await acd.set_agent_state("y", "paused", "break")
            await acd.set_agent_state("y", "available")
    return chosen


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        # c1: nobody offered yet → longest idle, x.  y's pause makes her available latest of all.
        # c2: never offered: y and z → longest idle of the two, z (300).
        # c3: never offered: y alone → y (longest-idle would pick x, free since the end of c1).
        # c4: offered longest ago: x (c1).
        (Strategy.ROUND_ROBIN, ["x", "z", "y", "x"]),
        # The same script by availability: c1 x; c2 z (300); c3 x (free since c1 ended, before y's
        # return); c4 y (back from her pause before z and x ended their calls).
        (Strategy.LONGEST_IDLE, ["x", "z", "x", "y"]),
    ],
)
async def test_round_robin_follows_the_last_offer_not_the_last_pause(
    router: str, strategy: Strategy, expected: list[str]
) -> None:
    acd = make(router, QueueConfig("line", strategy=strategy, wrapup_seconds=0.0))
    staff(acd, LINE, "line")
    assert await script(acd) == expected


@pytest.mark.parametrize(
    "strategy", [Strategy.LONGEST_IDLE, Strategy.FEWEST_CALLS, Strategy.SKILLS_BEST_MATCH]
)
async def test_a_tie_on_the_strategy_goes_to_the_longest_idle_then_the_login(
    router: str, strategy: Strategy
) -> None:
    # Same calls and skills: lea (available since 90) first, then joe and kim (both 100) by login.
    tied = {"kim": (100.0, 2, {"cards": 3}), "joe": (100.0, 2, {"cards": 3}), "lea": (90.0, 2, {"cards": 3})}
    acd = make(router, QueueConfig("cards", skills=frozenset({"cards"}), strategy=strategy))
    staff(acd, tied, "cards")
    assert [await offered(acd, f"c{n}", "cards") for n in range(1, 4)] == [("lea",), ("joe",), ("kim",)]
