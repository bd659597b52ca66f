"""The routing rules of issue 5 written from the spec, and random worlds to check the ACD against.

Used by ``test_acd_properties.py``; written independently of :mod:`acd.router`
and :mod:`acd.naive` so that a rule all three got wrong the same way is unlikely.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from acd import Acd, AgentRecord, AgentState, QueueConfig, QueuedCall, Strategy
from acd.config import BullseyeStep, OverflowRule
from acd.priority import order_key

QUEUES = ("general", "cards", "loans", "ring")
SKILLS = ("cards", "loans", "zh")
HOLDING = {AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL, AgentState.ON_HOLD}
OFFERED = {AgentState.RESERVED, AgentState.RINGING}


World = tuple[list[QueueConfig], list[tuple[str, list[str], dict[str, int], str]]]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    strategies = [s for s in Strategy if s is not Strategy.RING_ALL]
    grace = draw(st.sampled_from([0.0, 5.0, 15.0]))
    wide = draw(
        st.sampled_from([(BullseyeStep(0, 5), BullseyeStep(4, 1)), (BullseyeStep(0, 4), BullseyeStep(6, 2))])
    )
    queues = [
        QueueConfig(
            "general",
            strategy=draw(st.sampled_from(strategies)),
            rm_grace_seconds=grace,
            wrapup_seconds=draw(st.sampled_from([0.0, 4.0])),
        ),
        QueueConfig(
            "cards",
            skills=frozenset({"cards"}),
            priority=5,
            strategy=draw(st.sampled_from(strategies)),
            bullseye=wide,
            rm_grace_seconds=grace,
            wrapup_seconds=3.0,
            overflow=(OverflowRule(draw(st.sampled_from([8.0, 20.0])), "widen", "general"),),
        ),
        QueueConfig(
            "loans",
            skills=frozenset({"loans"}),
            strategy=draw(st.sampled_from(strategies)),
            bullseye=(BullseyeStep(0, 3), BullseyeStep(10, 1)),
            rm_grace_seconds=grace,
            max_wait_seconds=30.0,
            max_wait_queue=draw(st.sampled_from([None, "general"])),
            auto_pause=draw(st.booleans()),
            wrapup_seconds=0.0,
        ),
        QueueConfig("ring", strategy=Strategy.RING_ALL, rm_grace_seconds=grace, wrapup_seconds=2.0),
    ]
    count = draw(st.integers(2, 6))
    agents = []
    for n in range(count):
        served = draw(st.lists(st.sampled_from(QUEUES), min_size=1, max_size=4, unique=True))
        owned = draw(st.lists(st.sampled_from(SKILLS), min_size=1, max_size=3, unique=True))
        skills = {skill: draw(st.integers(1, 5)) for skill in owned}
        agents.append(
            (
                f"a{n}",
                served,
                skills,
                draw(st.sampled_from(["available", "available", "paused", "logged_out"])),
            )
        )
    return queues, agents


def score(agent: AgentRecord, queue: str, skills: frozenset[str]) -> int | None:
    """Spec: a member serves ``queue`` and has every skill; the score is the lowest proficiency."""
    if queue not in agent.queues:
        return None
    levels = [agent.skills.get(s, 0) for s in skills]
    return (min(levels) if levels else 5) if all(levels) else None


def may_take(acd: Acd, call: QueuedCall, agent: AgentRecord, now: float, skip_until: float = -1.0) -> bool:
    """Spec of eligibility, written from issue 5 (not from the router).

    ``skip_until``: overflow rules due at or before this wait are not counted.
    """
    assert call.enqueued_at is not None
    waited = now - call.enqueued_at
    config = acd.queue_config(call.queue)
    owner = call.owner_login
    if (
        owner is not None
        and waited < config.rm_grace_seconds
        and acd.status(owner).state is not AgentState.LOGGED_OUT
    ):
        return agent.login == owner  # the relationship manager alone, within the grace time
    level = config.min_proficiency(waited)
    due = [r for r in config.overflow if r.action == "widen" and skip_until < r.after_seconds <= waited]
    reach = [call.queue] + [r.queue for r in due]
    for queue in reach:
        found = score(agent, queue, call.skills | acd.queue_config(queue).skills)
        if found is not None and found >= level:
            return True
    return False


def key(acd: Acd, call: QueuedCall, now: float) -> tuple[Fraction, float, str, str]:
    config = acd.queue_config(call.queue)
    assert call.enqueued_at is not None
    base = config.priority + call.priority
    prio, enq = order_key(
        base=base, tier=call.tier, segment=call.segment, enqueued_at=call.enqueued_at, now=now
    )
    return (prio, enq, call.place_id, call.call_id)
