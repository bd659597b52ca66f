"""``bankcti bench route``: how fast the ACD chooses, indexed router against a full scan.

One seeded world — agents with 3–8 skills at proficiency 1–5, queues that
each require 1–2 of those skills, served by every agent who has them — and
one seeded stream of arrivals, answers, no-answers, hang-ups and abandons run
through the real :class:`~acd.core.Acd` twice: once with its indexed
:class:`~acd.router.Router`, once with :class:`~acd.naive.NaiveRouter` (every
decision a full scan).  What is timed is each routing *decision*: one call of
``Router.agents_for`` (an agent for a call) or ``Router.call_for`` (a call for
an agent), with ``time.perf_counter_ns``; the whole ACD operation around it
(state changes, index upkeep, events) is reported separately.

Time inside the run is virtual: the event loop's clock is the simulation's,
so the ACD's timers (grace time, bullseye steps, overflow, maximum wait)
fire at their simulated moments and two runs of a seed make the same
decisions — the command checks that they do.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acd import Acd, AgentState, Offer, QueueConfig, QueuedCall, Strategy, Ticket
from acd.config import BullseyeStep, OverflowRule
from acd.events import BusEvent
from acd.naive import NaiveRouter
from acd.priority import DEFAULT_WEIGHTS
from acd.router import Router
from bankcti.bench.pop import percentile
from bankcti.bench.report import host_facts

__all__ = ["RouteBenchError", "RouteWorld", "build_world", "run_route_benchmark"]

TALK_MEAN = 120.0  # seconds of simulated talk
RING_RANGE = (2.0, 8.0)  # seconds until an agent answers
NO_ANSWER_SHARE = 0.05
PAUSE_AFTER_NO_ANSWER = 30.0
PATIENCE_MEAN = 90.0  # seconds a caller waits before abandoning
OWNER_SHARE = 0.10  # calls of customers with a relationship manager
LOAD = 1.1  # offered load / agent capacity: queues build up somewhere
STRATEGIES = (Strategy.LONGEST_IDLE, Strategy.FEWEST_CALLS, Strategy.ROUND_ROBIN, Strategy.SKILLS_BEST_MATCH)
TIERS = (None, "standard", "gold", "vip", "private")
SEGMENTS = (None, "A", "B", "C")


class RouteBenchError(ValueError):
    """A size option the benchmark cannot use; the message names the option."""


class _VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when the simulation moves it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def time(self) -> float:
        return self.now


class _TimedRouter(Router):
    def __init__(self, rate: float, cap: float, logged_in: Callable[[str], bool]) -> None:
        super().__init__(rate, cap, logged_in)
        self.samples: list[int] = []

    def agents_for(self, call_id: str, now: float) -> list[str]:
        started = time.perf_counter_ns()
        chosen = super().agents_for(call_id, now)
        self.samples.append(time.perf_counter_ns() - started)
        return chosen

    def call_for(self, login: str, now: float) -> str | None:
        started = time.perf_counter_ns()
        chosen = super().call_for(login, now)
        self.samples.append(time.perf_counter_ns() - started)
        return chosen


class _TimedNaiveRouter(NaiveRouter):
    def __init__(self, rate: float, cap: float, logged_in: Callable[[str], bool]) -> None:
        super().__init__(rate, cap, logged_in)
        self.samples: list[int] = []

    def agents_for(self, call_id: str, now: float) -> list[str]:
        started = time.perf_counter_ns()
        chosen = super().agents_for(call_id, now)
        self.samples.append(time.perf_counter_ns() - started)
        return chosen

    def call_for(self, login: str, now: float) -> str | None:
        started = time.perf_counter_ns()
        chosen = super().call_for(login, now)
        self.samples.append(time.perf_counter_ns() - started)
        return chosen


class _NoSink:
    async def publish(self, event: BusEvent) -> None:
        return None


@dataclass(frozen=True)
class RouteWorld:
    """Queues and agents (login, served queues, skills) of one benchmark run."""

    queues: list[QueueConfig]
    agents: list[tuple[str, frozenset[str], dict[str, int]]]
    weights: list[float]  # relative arrival rate per queue


def build_world(seed: int, *, agents: int, skills: int, queues: int) -> RouteWorld:
    """A reproducible world; every queue has at least one agent who can serve it."""
    rng = random.Random(seed)
    names = [f"s{n:02d}" for n in range(skills)]
    profiles = []
    for _ in range(agents):
        owned = rng.sample(names, min(len(names), rng.randint(3, 8)))
        profiles.append({skill: rng.randint(1, 5) for skill in owned})
    configs = []
    for n in range(queues):
        # Required skills drawn from one agent's profile: nobody is left with an unservable queue.
        pool = sorted(rng.choice(profiles))
        required = frozenset(rng.sample(pool, min(len(pool), rng.randint(1, 2))))
        widen = rng.random() < 0.3 and queues > 1
        target = f"q{(n + 1) % queues:03d}"
        configs.append(
            QueueConfig(
                name=f"q{n:03d}",
                skills=required,
                priority=rng.choice((0, 0, 5, 10)),
                strategy=rng.choice(STRATEGIES),
                wrapup_seconds=0.0,
                bullseye=(BullseyeStep(0, 4), BullseyeStep(20, 2), BullseyeStep(40, 1))
                if rng.random() < 0.5
                else (BullseyeStep(0, 1),),
                overflow=(OverflowRule(60.0, "widen", target),) if widen else (),
                rm_grace_seconds=15.0,
            )
        )
    served = []
    for n, profile in enumerate(profiles):
        mine = frozenset(c.name for c in configs if c.skills <= profile.keys())
        served.append((f"agent{n:04d}", mine, profile))
    weights = [rng.paretovariate(1.5) for _ in configs]
    return RouteWorld(configs, served, weights)


@dataclass
class _Run:
    """One pass of the workload; ``offers`` is the decision log compared between passes."""

    router: _TimedRouter | _TimedNaiveRouter
    operations: list[int] = field(default_factory=list)
    offers: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    events: int = 0


async def _drive(world: RouteWorld, seed: int, events: int, naive: bool) -> _Run:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, _VirtualTimeLoop)
    acd = Acd(_NoSink(), clock=loop.time, wrapup_seconds=0.0)
    rate, cap = DEFAULT_WEIGHTS.aging_per_minute / 60.0, float(DEFAULT_WEIGHTS.aging_cap)
    router_class = _TimedNaiveRouter if naive else _TimedRouter
    # Swapped in before any queue exists: the ACD keeps no other reference to its router.
    router = router_class(rate, cap, acd._is_logged_in)
    acd._router = router
    run = _Run(router)
    rng = random.Random(seed + 1)
    for config in world.queues:
        acd.add_queue(config)
    logins = [login for login, _, _ in world.agents]
    for login, served, profile in world.agents:
        acd.register_agent(login, login, f"PJSIP/{login}", served, skills=profile)
    for login in logins:
        await acd.set_agent_state(login, "available")
    router.samples.clear()  # routing while agents log in finds no calls: not part of the measure

    capacity = len(logins) / (TALK_MEAN + sum(RING_RANGE) / 2)
    arrival_mean = 1.0 / (LOAD * capacity)
    agenda: list[tuple[float, int, str, str, str]] = []  # (time, seq, kind, call id, login)
    tickets: dict[str, Ticket] = {}
    seq = 0

    def plan(at: float, kind: str, call_id: str = "", login: str = "") -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(agenda, (at, seq, kind, call_id, login))

    def offered(offer: Offer) -> None:
        run.offers.append((offer.call.call_id, tuple(login for login, _ in offer.group)))
        plan(loop.now + rng.uniform(*RING_RANGE), "answer", offer.call.call_id, offer.agent_login)

    async def timed(operation: Awaitable[object]) -> None:
        started = time.perf_counter_ns()
        await operation
        run.operations.append(time.perf_counter_ns() - started)

    plan(0.0, "arrive")
    numbers = 0
    while agenda and run.events < events:
        at, _, kind, call_id, login = heapq.heappop(agenda)
        loop.now = max(loop.now, at)
        for _ in range(2):  # timers due by now (grace, bullseye, overflow, max wait) fire first
            await asyncio.sleep(0)
        run.events += 1
        if kind == "arrive":
            numbers += 1
            queue = rng.choices(world.queues, weights=world.weights)[0]
            owner = rng.choice(logins) if rng.random() < OWNER_SHARE else None
            call = QueuedCall(
                f"c{numbers}",
                queue.name,
                tier=rng.choice(TIERS),
                segment=rng.choice(SEGMENTS),
                owner_login=owner,
            )
            started = time.perf_counter_ns()
            tickets[call.call_id] = await acd.enqueue(call, on_offer=offered)
            run.operations.append(time.perf_counter_ns() - started)
            plan(loop.now + rng.expovariate(1 / PATIENCE_MEAN), "abandon", call.call_id)
            plan(loop.now + rng.expovariate(1 / arrival_mean), "arrive")
        elif kind == "answer":
            record = acd.status(login)
            if record.state is not AgentState.RINGING or record.call_id != call_id:
                continue  # the caller left while it rang
            if rng.random() < NO_ANSWER_SHARE:
                await timed(acd.offer_failed(call_id))
                plan(loop.now + PAUSE_AFTER_NO_ANSWER, "unpause", login=login)
            else:
                await timed(acd.call_connected(call_id, login))
                plan(loop.now + rng.expovariate(1 / TALK_MEAN), "end", call_id)
        elif kind == "end":
            await timed(acd.call_ended(call_id))
        elif kind == "abandon":
            ticket = tickets.pop(call_id)
            if ticket.position() is not None:
                await timed(acd.cancel(call_id))
        elif kind == "unpause" and acd.status(login).state is AgentState.PAUSED:
            await timed(acd.set_agent_state(login, "available"))
    await acd.close()
    return run


def _figures(samples_ns: list[int]) -> dict[str, float]:
    if not samples_ns:
        return {"decisions": 0, "decisions_per_s": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    millis = [s / 1e6 for s in samples_ns]
    return {
        "decisions": len(millis),
        "decisions_per_s": round(len(millis) / (sum(millis) / 1000), 1),
        "p50_ms": round(percentile(millis, 50), 4),
        "p99_ms": round(percentile(millis, 99), 4),
        "max_ms": round(max(millis), 4),
        "mean_ms": round(statistics.fmean(millis), 4),
    }


def _operation_figures(samples_ns: list[int]) -> dict[str, float]:
    millis = [s / 1e6 for s in samples_ns] or [0.0]
    return {"operations": len(samples_ns), "p50_ms": round(percentile(millis, 50), 4),
            "p99_ms": round(percentile(millis, 99), 4)}  # fmt: skip


def _pass(world: RouteWorld, seed: int, events: int, naive: bool) -> tuple[_Run, float]:
    started = time.perf_counter()
    with asyncio.Runner(loop_factory=_VirtualTimeLoop) as runner:
        run = runner.run(_drive(world, seed, events, naive))
    return run, time.perf_counter() - started


def run_route_benchmark(
    *,
    agents: int = 2000,
    skills: int = 50,
    queues: int = 100,
    events: int = 20_000,
    seed: int = 5,
    json_path: Path | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run both passes, print the table (and write JSON); 1 if the two selectors disagreed, else 0."""
    for name, value in (("agents", agents), ("skills", skills), ("queues", queues), ("events", events)):
        if value < 1:
            raise RouteBenchError(f"--{name} must be at least 1, got {value}")
    world = build_world(seed, agents=agents, skills=skills, queues=queues)
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)  # an INFO line per ACD operation would time the log handler, not routing
    try:
        indexed, indexed_wall = _pass(world, seed, events, naive=False)
        naive, naive_wall = _pass(world, seed, events, naive=True)
    finally:
        logging.disable(previous)
    fast, slow = _figures(indexed.router.samples), _figures(naive.router.samples)
    same = indexed.offers == naive.offers
    result: dict[str, Any] = {
        "benchmark": "route",
        "measured": "each Router.agents_for / Router.call_for call (one routing decision), perf_counter_ns",
        "agents": agents,
        "skills": skills,
        "queues": queues,
        "events": indexed.events,
        "seed": seed,
        "offers": len(indexed.offers),
        "indexed": {**fast, "wall_seconds": round(indexed_wall, 2),
                    "operation": _operation_figures(indexed.operations)},
        "naive": {**slow, "wall_seconds": round(naive_wall, 2),
                  "operation": _operation_figures(naive.operations)},
        "ratio": {
            "p50_naive_over_indexed": _ratio(slow["p50_ms"], fast["p50_ms"]),
            "p99_naive_over_indexed": _ratio(slow["p99_ms"], fast["p99_ms"]),
            "decisions_per_s_indexed_over_naive": _ratio(fast["decisions_per_s"], slow["decisions_per_s"]),
        },
        "same_decisions": same,
        "goal_p99_under_1ms": fast["p99_ms"] < 1.0,
        "host": host_facts(),
    }  # fmt: skip
    out(_table(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        out(f"written: {json_path}")
    if not same:
        out("the indexed router and the full scan made different decisions (see acd/naive.py)")
    return 0 if same else 1


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 1) if b else None


def _table(result: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for key, value in result.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, dict):
                    rows += [(f"{key}.{sub}.{k}", str(v)) for k, v in inner.items()]
                else:
                    rows.append((f"{key}.{sub}", str(inner)))
        else:
            rows.append((key, str(value)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
