"""Routing invariants of the real ACD under generated operation sequences (hypothesis, stateful).

Each example builds a random world — queues with skills, bullseye steps,
relationship-manager grace, an overflow rule, a maximum wait and a ring-all
queue; agents with random queues and proficiencies — and runs the same random
operations on two ACDs: one with the indexed :class:`~acd.router.Router`, one
with the full-scan :class:`~acd.naive.NaiveRouter`.  After every step the
invariants of issue 5 are checked against rules written here from the spec
(:mod:`acd.priority` for the order), and the two ACDs must agree.

Time is a hand-moved virtual clock shared with the event loop: the ACD's
review and wrap-up timers (``loop.call_later``) fire exactly at their
simulated moments when the ``tick`` rule moves time, one second at a time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from routing_spec import HOLDING, OFFERED, QUEUES, World, key, may_take, worlds
from virtual_time import (
    Sink,
    VirtualTimeLoop,
    settle,
)

from acd import (
    Acd,
    AgentRecord,
    AgentState,
    InvalidTransition,
    Offer,
    QueuedCall,
    Strategy,
    Ticket,
    as_callback,
)
from acd.events import AgentStateChanged
from acd.naive import NaiveRouter, NaiveSelector, mirror
from acd.priority import DEFAULT_WEIGHTS
from bankcti.callbacks.requests import HeldCallback, routing_of

AGING_RATE = Fraction(DEFAULT_WEIGHTS.aging_per_minute) / 60  # exact, as the ACD's own


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # One loop per ACD: timers due at the same instant fire in the same order in both.
        self.runners = [asyncio.Runner(loop_factory=VirtualTimeLoop) for _ in range(2)]
        self.loops = []
        for runner in self.runners:
            loop = runner.get_loop()
            assert isinstance(loop, VirtualTimeLoop)
            self.loops.append(loop)
        self.loop = self.loops[0]
        self.acds: list[Acd] = []
        self.sinks: list[Sink] = []
        self.tickets: list[dict[str, Ticket]] = [{}, {}]
        self.offers: list[list[tuple[float, str, tuple[str, ...]]]] = [[], []]
        self.failing: str | None = None  # the call whose offer is failing in this step
        self.requeued: set[int] = set()  # indexes of offers made by offer_failed for the failed call
        self.seen = 0  # offers checked so far (of the indexed ACD)
        self.history: list[dict[str, str]] = [{}, {}]  # last published state per agent
        self.replayed = [0, 0]
        self.calls = 0
        self.callbacks = 0
        self.offered_calls: list[tuple[QueuedCall, list[QueuedCall]]] = []  # (call, waiting) at each offer
        self.late: dict[str, float] = {}  # call id -> its wait when it entered its current queue late

    def run(self, work: Callable[[Acd], Awaitable[Any]]) -> list[str]:
        """Apply ``work`` to both ACDs; returns what each raised (must be the same)."""

        async def one(acd: Acd) -> str:
            try:
                await work(acd)
                outcome = "ok"
            except (InvalidTransition, LookupError, ValueError) as exc:
                outcome = type(exc).__name__
            await settle()
            return outcome

        outcomes = [runner.run(one(acd)) for runner, acd in zip(self.runners, self.acds, strict=True)]
        assert outcomes[0] == outcomes[1], f"the ACDs disagree: {outcomes}"
        return outcomes

    @initialize(world=worlds())
    def build(self, world: World) -> None:
        queues, agents = world
        for naive, loop in zip((False, True), self.loops, strict=True):
            sink = Sink()
            acd = Acd(sink, clock=loop.time)
            if naive:
                acd._router = NaiveRouter(
                    AGING_RATE, DEFAULT_WEIGHTS.aging_cap, acd._is_logged_in
                )
            for config in queues:
                acd.add_queue(config)
            for login, served, skills, _ in agents:
                acd.register_agent(login, login.upper(), f"PJSIP/{login}", served, skills=skills)
            self.acds.append(acd)
            self.sinks.append(sink)
        self.logins = [login for login, _, _, _ in agents]
        for login, _, _, state in agents:
            self.run(self.ask(login, state))

    @staticmethod
    def ask(login: str, state: str) -> Callable[[Acd], Awaitable[Any]]:
        return lambda acd: acd.set_agent_state(login, state, "break" if state == "paused" else None)

    def teardown(self) -> None:
        for runner, acd in zip(self.runners, self.acds, strict=False):
            runner.run(acd.close())
        for runner in self.runners:
            runner.close()

    # -- what the operations pick from ---------------------------------------------------

    @property
    def main(self) -> Acd:
        return self.acds[0]

    def holding(self, states: set[AgentState]) -> list[AgentRecord]:
        return sorted((a for a in self.main.agents() if a.state in states), key=lambda a: a.login)

    def waiting(self) -> list[str]:
        return sorted(c for c, t in self.tickets[0].items() if t.position() is not None)

    # -- rules ------------------------------------------------------------------------------

    @rule(
        queue=st.sampled_from(QUEUES),
        tier=st.sampled_from([None, "standard", "gold", "vip", "private"]),
        segment=st.sampled_from([None, "A", "C"]),
        priority=st.sampled_from([0, 0, 3]),
        owner=st.none() | st.integers(0, 5),
        extra=st.sampled_from([frozenset(), frozenset({"zh"})]),
    )
    def enqueue(
        self,
        queue: str,
        tier: str | None,
        segment: str | None,
        priority: int,
        owner: int | None,
        extra: frozenset[str],
    ) -> None:
        self.calls += 1
        owner_login = None if owner is None else self.logins[owner % len(self.logins)]
        call = QueuedCall(
            f"c{self.calls}",
            queue,
            tier=tier,
            segment=segment,
            priority=priority,
            owner_login=owner_login,
            skills=extra,
        )
        self._enqueue(call)

    def lenient(self, call: QueuedCall) -> float:
        return -1.0

    def _enqueue(self, call: QueuedCall) -> None:
        def work(index: int) -> Callable[[Acd], Awaitable[Any]]:
            async def go(acd: Acd) -> None:
                def note(offer: Offer) -> None:
                    if index == 0 and offer.call.call_id == self.failing:
                        self.requeued.add(len(self.offers[0]))
                    if index == 0:
                        # The calls as they are at the offer: a later step (a maximum wait moving a
                        # call, within the same tick) must not be judged against this choice.
                        waiting = [t.call for t in self.tickets[0].values() if t.position() is not None]
                        self.offered_calls.append((offer.call, waiting))
                    self.offers[index].append(
                        (self.loops[index].now, offer.call.call_id, tuple(g for g, _ in offer.group))
                    )

                self.tickets[index][call.call_id] = await acd.enqueue(call, on_offer=note)

            return go

        async def one(index: int) -> None:
            await work(index)(self.acds[index])
            await settle()

        for index, runner in enumerate(self.runners):
            runner.run(one(index))

    @rule(
        agent=st.integers(0, 5),
        wanted=st.sampled_from(["available", "available", "paused", "logged_out"]),
        forced=st.booleans(),
    )
    def agent_state(self, agent: int, wanted: str, forced: bool) -> None:
        login = self.logins[agent % len(self.logins)]
        if forced:
            self.run(lambda acd: acd.force_state(login, wanted, "supervisor"))
        else:
            self.run(lambda acd: acd.set_agent_state(login, wanted, "break" if wanted == "paused" else None))

    @precondition(lambda self: bool(self.holding(OFFERED)))
    @rule(pick=st.integers(0, 9), outcome=st.sampled_from(["answered", "answered", "no-answer"]))
    def ring_ends(self, pick: int, outcome: str) -> None:
        ringing = self.holding(OFFERED)
        agent = ringing[pick % len(ringing)]
        call_id = agent.call_id
        assert call_id is not None
        if outcome == "answered":
            self.run(lambda acd: acd.call_connected(call_id, agent.login))
        else:
            self.failing = call_id
            self.run(lambda acd: acd.offer_failed(call_id))
            self.failing = None

    @precondition(lambda self: bool(self.holding({AgentState.ON_CALL})))
    @rule(pick=st.integers(0, 9))
    def hang_up(self, pick: int) -> None:
        talking = self.holding({AgentState.ON_CALL})
        call_id = talking[pick % len(talking)].call_id
        assert call_id is not None
        self.run(lambda acd: acd.call_ended(call_id))

    @precondition(lambda self: bool(self.waiting()))
    @rule(
        pick=st.integers(0, 9),
        action=st.sampled_from(["cancel", "move", "callback"]),
        to=st.sampled_from(QUEUES),
    )
    def waiting_call(self, pick: int, action: str, to: str) -> None:
        calls = self.waiting()
        call_id = calls[pick % len(calls)]
        if action == "cancel":
            self.run(lambda acd: acd.cancel(call_id))
        elif action == "move":
            call = self.tickets[0][call_id].call
            self.run(lambda acd: acd.move_call(call_id, to, by="supervisor"))
            self.late[call_id] = self.loop.now - (call.enqueued_at or 0.0)
        else:
            self.callback(call_id)

    def callback(self, call_id: str) -> None:
        """The caller asks to be called back: the request re-enters in the call's place.

        The request is built exactly as the callback engine builds it
        (:func:`acd.as_callback`, from :meth:`bankcti.callbacks.engine.CallbackEngine.keep_place`),
        and as it comes back after a restart (its stored routing facts,
        :func:`bankcti.callbacks.requests.routing_of`): the same request both ways.
        """
        ticket = self.tickets[0][call_id]
        call = ticket.call
        before = self.main.waiting_calls(call.queue)
        position = ticket.position()
        self.run(lambda acd: acd.cancel(call_id, reason="callback"))
        self.callbacks += 1
        request = as_callback(call, callback_id=self.callbacks, number="+8613800000000")
        assert call.enqueued_at is not None
        restored = HeldCallback.create(
            self.callbacks,
            "+8613800000000",
            queue=call.queue,
            customer_id=call.customer_id,
            priority=call.priority,
            queued_at=call.enqueued_at,
            routing=json.loads(json.dumps(routing_of(request))),
        ).request
        assert restored == request, "a restart would queue a different request"
        self.late[request.call_id] = self.loop.now - (call.enqueued_at or 0.0)
        self._enqueue(request)
        after = self.main.waiting_calls(call.queue)
        assert self.tickets[0][request.call_id].position() == position, "the callback lost its position"
        assert [c.call_id for c in after] == [
            request.call_id if c.call_id == call_id else c.call_id for c in before
        ]

    @rule(seconds=st.integers(1, 25))
    def tick(self, seconds: int) -> None:
        async def advance(loop: VirtualTimeLoop) -> None:
            for _ in range(seconds):
                loop.now += 1.0
                await settle()

        for runner, loop in zip(self.runners, self.loops, strict=True):
            runner.run(advance(loop))

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def one_call_one_agent(self) -> None:
        for acd, tickets in zip(self.acds, self.tickets, strict=False):
            by_call: dict[str, list[AgentRecord]] = {}
            for agent in acd.agents():
                if agent.state in HOLDING:
                    assert agent.call_id is not None
                    by_call.setdefault(agent.call_id, []).append(agent)
            for call_id, agents in by_call.items():
                if len(agents) > 1:  # ring-all, by definition: a group rings, nobody has answered yet
                    queue = tickets[call_id].call.queue
                    assert acd.queue_config(queue).strategy is Strategy.RING_ALL, f"{call_id}: {agents}"
                    assert all(a.state in OFFERED for a in agents), (
                        f"{call_id} answered but still ringing others"
                    )

    @invariant()
    def offered_only_when_available(self) -> None:
        for index, sink in enumerate(self.sinks):
            last = self.history[index]
            for event in sink.events[self.replayed[index] :]:
                if isinstance(event, AgentStateChanged):
                    before = last.get(event.agent_login, "logged_out")
                    if event.state in ("ringing", "reserved"):
                        assert before == "available", (
                            f"{event.agent_login} offered {event.call_id} while {before}"
                        )
                    if event.state == "on_call" and before not in ("on_hold", "on_call"):
                        assert before in ("ringing", "reserved"), (
                            f"{event.agent_login} on a call from {before}"
                        )
                    last[event.agent_login] = event.state
            self.replayed[index] = len(sink.events)

    @invariant()
    def no_waiting_call_beside_an_eligible_available_agent(self) -> None:
        if not self.acds:
            return
        now = self.loop.now
        available = [a for a in self.main.agents() if a.state is AgentState.AVAILABLE]
        for call_id in self.waiting():
            call = self.tickets[0][call_id].call
            idle = [a.login for a in available if may_take(self.main, call, a, now, self.lenient(call))]
            assert not idle, f"{call_id} ({call.queue}) waits while {idle} may take it"

    @invariant()
    def waiting_order_is_priority_order(self) -> None:
        now = self.loop.now
        for queue in QUEUES if self.acds else ():
            order = [c.call_id for c in self.main.waiting_calls(queue)]
            expected = sorted(order, key=lambda c: key(self.main, self.tickets[0][c].call, now))
            assert order == expected

    @invariant()
    def an_agent_takes_the_best_call_they_may_take(self) -> None:
        """A call given to an agent ranks above every call still waiting that the agent could take then."""
        if not self.acds:
            return
        offered = zip(self.offers[0][self.seen :], self.offered_calls[self.seen :], strict=True)
        for (at, call_id, group), (taken, waiting) in offered:
            for login in group:  # skills, bullseye level and the relationship-manager rule at the offer
                assert may_take(self.main, taken, self.main.status(login), at), (
                    f"{call_id} offered to {login}"
                )
            if len(group) > 1:
                continue
            if (
                taken.owner_login == group[0]
                and at - (taken.enqueued_at or at) < self.main.queue_config(taken.queue).rm_grace_seconds
            ):
                continue  # calls for their relationship manager come first
            agent = self.main.status(group[0])
            for other in waiting:
                if may_take(self.main, other, agent, at, self.lenient(other)):
                    assert key(self.main, other, at) > key(self.main, taken, at), (
                        f"{group[0]} took {call_id} at {at} while {other.call_id} ranked first"
                    )
        self.seen = len(self.offers[0])

    @invariant()
    def indexed_and_naive_agree(self) -> None:
        if not self.acds:
            return
        now = self.loop.now
        main, twin = self.acds
        assert [(a.login, a.state, a.call_id, a.reason) for a in main.agents()] == [
            (a.login, a.state, a.call_id, a.reason) for a in twin.agents()
        ]
        assert self.offers[0] == self.offers[1]
        for queue in QUEUES:
            assert main.waiting_calls(queue) == twin.waiting_calls(queue)
        naive: NaiveSelector = mirror(main._router, main._is_logged_in, {a.login: a for a in main.agents()})
        for login in self.logins:  # whatever their state: which call would each agent take now?
            assert main._router.call_for(login, now) == naive.call_for(login, now), login
        for call_id in self.waiting():
            assert main._router.agents_for(call_id, now) == naive.agents_for(call_id, now), call_id


AcdMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestAcdProperties = AcdMachine.TestCase
